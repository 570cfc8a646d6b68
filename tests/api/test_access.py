"""The API's access table: every endpoint × every kind of token.

    no token                  -> 401 not-authenticated
    expired / revoked token   -> 401 token-expired / token-revoked
    maker no longer an owner  -> 401 token-orphaned
    another team's token      -> 404 for one of our objects; a list shows none of ours; a
                                 create lands in the other team
    read-only token           -> a read answers; a write is a 403 insufficient-scope
    no scope for the area     -> 403 insufficient-scope, read or write
    the right token           -> the endpoint's own answer

and a request refused in any of these ways changes nothing in the database."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events.models import (
    ApiToken,
    Event,
    Invitation,
    Membership,
    Notification,
    Registration,
    RegistrationChange,
    Review,
    Segment,
    Session,
)
from events.models.api import AREAS, SCOPES
from events.services import api_tokens
from events.services import segments as segment_service
from tests.factories import UserFactory, add_to_team

from .conftest import client_with, expire, token_for


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # formatted with the ids of the world's objects (KEYS)
    area: str
    ok: int  # what the right token gets (the world as built)
    body: dict | None = None
    kind: str = "object"  # "object" (one of ours), "list", "create"

    def url(self, w) -> str:
        ids = {key: getattr(w, name).pk for key, name in KEYS.items()}
        return "/api/v1/" + self.path.format(**ids)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


KEYS = {
    "e": "event",
    "s": "session",
    "r": "registration",
    "i": "invitation",
    "c": "call",
    "sub": "submission",
    "seg": "segment",
}


def later(days: int) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


ROWS = [
    Row("GET", "events/", "events", 200, kind="list"),
    Row("POST", "events/", "events", 201, {"title": "Made by API"}, kind="create"),
    Row("GET", "events/{e}/", "events", 200),
    Row("PATCH", "events/{e}/", "events", 200, {"title": "Renamed"}),
    Row("POST", "events/{e}/publish/", "events", 200),
    Row("POST", "events/{e}/cancel/", "events", 200),
    Row("GET", "events/{e}/sessions/", "events", 200),
    Row(
        "POST",
        "events/{e}/sessions/",
        "events",
        201,
        {"starts_at": later(20), "ends_at": later(21), "capacity": 5},
    ),
    Row("GET", "sessions/{s}/", "events", 200),
    Row("PATCH", "sessions/{s}/", "events", 200, {"capacity": 20}),
    Row("POST", "sessions/{s}/cancel/", "events", 200),
    Row("GET", "sessions/{s}/waitlist/", "registrations", 200),
    Row("GET", "registrations/", "registrations", 200, kind="list"),
    Row("GET", "registrations/{r}/", "registrations", 200),
    # Confirmed already: approving, rejecting, moving in are refused by the services.
    Row("POST", "registrations/{r}/approve/", "registrations", 422, {}),
    Row("POST", "registrations/{r}/reject/", "registrations", 422),
    Row("POST", "registrations/{r}/move-in/", "registrations", 422),
    Row("POST", "registrations/{r}/cancel/", "registrations", 200),
    Row("GET", "sessions/{s}/attendance/", "attendance", 200),
    Row("POST", "registrations/{r}/check-in/", "attendance", 200),
    Row("POST", "registrations/{r}/check-in/undo/", "attendance", 200),
    Row("GET", "events/{e}/invitations/", "invitations", 200),
    Row(
        "POST",
        "events/{e}/invitations/",
        "invitations",
        201,
        {"people": [{"email": "new@example.com"}]},
    ),
    Row("GET", "invitations/{i}/", "invitations", 200),
    Row("POST", "invitations/{i}/revoke/", "invitations", 200),
    Row("POST", "invitations/{i}/resend/", "invitations", 200),
    Row("POST", "invitations/{i}/extend/", "invitations", 200, {"days": 3}),
    Row("GET", "events/{e}/survey/", "surveys", 200),
    Row("GET", "events/{e}/survey/responses/", "surveys", 200),
    Row("GET", "events/{e}/survey/results/", "surveys", 200),
    Row("GET", "calls/", "calls", 200, kind="list"),
    Row("GET", "calls/{c}/submissions/", "calls", 200),
    Row("GET", "submissions/{sub}/", "calls", 200),
    Row("POST", "submissions/{sub}/review/", "calls", 200, {"score": 4}),
    Row("GET", "segments/", "calls", 200, kind="list"),
    Row("GET", "segments/{seg}/members/", "calls", 200),
    # About every area: shows the types the token may read, so no area's absence refuses it.
    Row("GET", "deletions/", "", 200, kind="list"),
]


def snapshot() -> dict:
    def rows(model):
        return list(model.objects.order_by("pk").values())

    return {
        "events": rows(Event),
        "sessions": rows(Session),
        "registrations": rows(Registration),
        "changes": rows(RegistrationChange),
        "invitations": rows(Invitation),
        "notifications": rows(Notification),
        "reviews": rows(Review),
    }


def tokens(w) -> dict[str, str | None]:
    revoked = token_for(w.team, w.owner, name="revoked")
    api_tokens.revoke_token(
        token=ApiToken.objects.get(hashed=api_tokens.digest(revoked)), actor=w.owner
    )
    expired = token_for(w.team, w.owner, name="expired")
    expire(expired)
    # A second owner makes a token, then is made an organizer: the token stops working.
    former = UserFactory()
    add_to_team(w.team, former, role="owner")
    orphaned = token_for(w.team, former, name="orphaned")
    Membership.objects.filter(team=w.team, user=former).update(role="organizer")
    return {
        "none": None,
        "expired": expired,
        "revoked": revoked,
        "orphaned": orphaned,
        "other_team": token_for(w.other_team, w.other_owner),
        "read_only": token_for(w.team, w.owner, [s for s in SCOPES if s.endswith(":read")]),
        **{
            f"without_{area}": token_for(
                w.team, w.owner, [s for s in SCOPES if not s.startswith(f"{area}:")]
            )
            for area in AREAS
        },
        "right": token_for(w.team, w.owner),
    }


def expected(row: Row, who: str) -> tuple[int, str | None]:
    """(status, problem type slug) for `who` on `row`."""
    if who == "none":
        return 401, "not-authenticated"
    if who in ("expired", "revoked", "orphaned"):
        slug = {"expired": "token-expired", "revoked": "token-revoked"}.get(who, "token-orphaned")
        return 401, slug
    if who == "other_team":
        if row.kind == "list":
            return 200, None
        if row.kind == "create":
            return 201, None
        return 404, "not-found"
    if who == "read_only" and row.method != "GET":
        return 403, "insufficient-scope"
    if who == f"without_{row.area}":
        return 403, "insufficient-scope"
    return row.ok, ("refused" if row.ok == 422 else None)


def call(client, row: Row, w):
    url = row.url(w)
    if row.method == "GET":
        return client.get(url)
    send = client.post if row.method == "POST" else client.patch
    return send(url, row.body or {}, content_type="application/json")


@pytest.mark.django_db(transaction=False)
def test_every_endpoint_answers_every_kind_of_token_as_the_table_says(world, settings):
    settings.API_REQUESTS_PER_MINUTE = 100_000
    w = world
    gone = Segment.objects.create(team=w.team, name="Gone", definition=[])
    segment_service.delete_segment(segment=gone, actor=w.owner)  # leaves a tombstone
    ours = {
        "events": {w.event.pk},
        "registrations": {w.registration.pk},
        "calls": {w.call.pk},
        "segments": {w.segment.pk},
        "deletions": {gone.pk},
    }
    problems = []
    for who, secret in tokens(w).items():
        client = client_with(secret)
        for row in ROWS:
            before = snapshot()
            with transaction.atomic():
                response = call(client, row, w)
                after = snapshot()
                transaction.set_rollback(True)
            status, slug = expected(row, who)
            if response.status_code != status:
                problems.append(f"{row} as {who}: expected {status}, got {response.status_code}")
                continue
            if slug is not None:
                body = response.json()
                if response["Content-Type"] != "application/problem+json" or not body[
                    "type"
                ].endswith(f"/api/problems/{slug}"):
                    problems.append(f"{row} as {who}: expected a {slug} problem, got {body}")
            if status >= 400 and after != before:
                problems.append(f"{row} as {who}: a refused request changed the database")
            if who == "other_team" and row.kind == "list":
                seen = {item["id"] for item in response.json()["results"]}
                if seen & ours[row.path.rstrip("/")]:
                    problems.append(f"{row} as {who}: listed the other team's objects")
            created = response.json().get("id") if row.kind == "create" else None
            if who == "other_team" and Event.objects.filter(pk=created, team=w.team).exists():
                problems.append(f"{row} as {who}: created in the wrong team")
    assert problems == []


def test_the_table_covers_every_api_endpoint():
    from events.api import urls

    covered = {row.path.format(**dict.fromkeys(KEYS, "<int:pk>")) for row in ROWS}
    declared = {str(p.pattern) for p in urls.v1}
    assert declared == covered
