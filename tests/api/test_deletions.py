"""Deletions (tombstones): an integration that copied rows through the API learns, by
polling `GET /api/v1/deletions/`, that they were removed: an account deleted, a person
forgotten by the team, an event anonymised by the retention sweep, an ordinary deletion.
Only its team's, only what its scopes read, nothing about the people, bad input refused."""

import threading
import time
from datetime import datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as accounts
from events.api import http
from events.models import Invitation, PanelMember, Segment, Submission, Tombstone
from events.models.api import SCOPES
from events.services import erasure, panel, retention, tombstones
from events.services import invitations as invitation_service
from events.services import open_calls as call_service
from events.services import segments as segment_service
from tests.factories import TeamFactory
from tests.retention.conftest import make_past_event
from tests.retention.test_calls_and_panel import a_call, panel_of, submitted

from .conftest import client_with, token_for

pytestmark = pytest.mark.django_db


def pages(client, url: str) -> list[dict]:
    seen, count = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen.extend(body["results"])
        url, count = body["next"], count + 1
        assert count < 50
    return seen


def ids(client, url: str) -> set[int]:
    return {row["id"] for row in pages(client, url)}


def deletions(client, since=None, **params) -> set[tuple[str, int, str]]:
    query = {"page_size": 2, **params}
    if since is not None:
        query["since"] = since.isoformat()
    url = "/api/v1/deletions/?" + "&".join(f"{k}={v}" for k, v in query.items())
    url = url.replace("+", "%2B")
    return {(row["type"], row["id"], row["reason"]) for row in pages(client, url)}


def a_moment_ago():
    # Nothing is being committed meanwhile: as the `next_since` of a poll made now.
    return timezone.now() - timedelta(seconds=5)


def test_a_deleted_account_tells_the_integration_which_registrations_went(world, full):
    synced = ids(full, "/api/v1/registrations/")
    assert world.registration.pk in synced
    since = a_moment_ago()

    accounts.delete_account(user=world.attendee)

    assert world.registration.pk not in ids(full, "/api/v1/registrations/")
    assert deletions(full, since) == {("registration", world.registration.pk, "erased")}


def test_a_person_the_team_forgets_leaves_as_registration_submission_and_panel_member(world, full):
    panel.refresh(team=world.team)
    attendee = PanelMember.objects.get(team=world.team, user=world.attendee)
    pooled = PanelMember.objects.get(team=world.team, email="pool@example.com")
    since = a_moment_ago()

    erasure.forget(team=world.team, member=attendee, actor=world.owner)
    erasure.forget(team=world.team, member=pooled, actor=world.owner)

    gone = deletions(full, since)
    assert {
        ("registration", world.registration.pk, "erased"),
        ("panel_member", attendee.pk, "erased"),
        ("panel_member", pooled.pk, "erased"),
        ("submission", world.submission.pk, "erased"),
    } <= gone
    assert world.submission.pk not in ids(full, f"/api/v1/calls/{world.call.pk}/submissions/")
    # The other team's registration is untouched, and not named.
    assert all(pk != world.other_registration.pk for _kind, pk, _why in gone)


def test_the_retention_sweep_anonymising_an_event_names_what_the_integration_held():
    past = make_past_event(ended_days_ago=400)
    client = client_with(token_for(past.team, past.owner))
    registrations = ids(client, "/api/v1/registrations/")
    invitations = ids(client, f"/api/v1/events/{past.event.pk}/invitations/")
    responses = ids(client, f"/api/v1/events/{past.event.pk}/survey/responses/")
    assert len(registrations) == 2 and len(invitations) == 1 and len(responses) == 2
    since = a_moment_ago()

    assert retention.sweep().events == 1

    assert ids(client, "/api/v1/registrations/") == set()
    assert ids(client, f"/api/v1/events/{past.event.pk}/survey/responses/") == set()
    assert deletions(client, since) == (
        {("registration", pk, "anonymised") for pk in registrations}
        | {("invitation", pk, "anonymised") for pk in invitations}
        | {("survey_response", pk, "anonymised") for pk in responses}
    )
    # A second sweep finds nothing left, and buries nothing twice.
    retention.sweep()
    assert Tombstone.objects.count() == 5


def test_a_tombstone_carries_the_time_it_was_written_not_the_time_the_sweep_began():
    past = make_past_event(ended_days_ago=400)
    client = client_with(token_for(past.team, past.owner))
    polled = timezone.now()
    began = polled - timedelta(minutes=10)  # a long sweep, still running at the last poll

    retention.sweep(now=began)

    assert Tombstone.objects.filter(removed_at__lt=polled).count() == 0
    assert len(deletions(client, polled - timedelta(seconds=5))) == 5


def test_an_anonymous_surveys_responses_leave_no_tombstone(db):
    past = make_past_event(ended_days_ago=400)
    past.event.survey.anonymous = True
    past.event.survey.save(update_fields=["anonymous"])

    retention.anonymise_event_now(event=past.event, actor=past.owner)

    assert not Tombstone.objects.filter(kind="survey_response").exists()
    assert Tombstone.objects.filter(kind="registration").count() == 2


def test_ordinary_deletions_are_named_as_deleted(world, full):
    since = a_moment_ago()

    call_service.withdraw(submission=world.submission)  # the person's own withdrawal
    segment_service.delete_segment(segment=world.segment, actor=world.owner)

    assert deletions(full, since) == {
        ("submission", world.submission.pk, "deleted"),
        ("segment", world.segment.pk, "deleted"),
    }
    assert deletions(full, since, type="segment") == {("segment", world.segment.pk, "deleted")}


def test_another_teams_token_sees_none_of_our_deletions(world):
    accounts.delete_account(user=world.attendee)
    segment_service.delete_segment(segment=world.segment, actor=world.owner)
    assert Tombstone.objects.filter(team=world.team).count() == 2

    theirs = client_with(token_for(world.other_team, world.other_owner))

    assert deletions(theirs) == set()


def test_a_token_sees_only_the_types_its_scopes_read(world):
    accounts.delete_account(user=world.attendee)
    segment_service.delete_segment(segment=world.segment, actor=world.owner)
    calls_only = client_with(token_for(world.team, world.owner, ["calls:read"]))

    assert deletions(calls_only) == {("segment", world.segment.pk, "deleted")}
    response = calls_only.get("/api/v1/deletions/?type=registration")
    assert response.status_code == 403
    assert "registrations:read" in response.json()["detail"]


def test_a_deletion_holds_no_personal_data(world, full):
    email, name = world.attendee.email, world.attendee.name
    accounts.delete_account(user=world.attendee)

    response = full.get("/api/v1/deletions/")

    [row] = response.json()["results"]
    assert set(row) == {"type", "id", "reason", "removed_at"}
    text = response.content.decode().lower()
    assert email.lower() not in text and name.lower() not in text
    assert {f.name for f in Tombstone._meta.concrete_fields} == {
        "id",
        "team",
        "kind",
        "object_id",
        "reason",
        "removed_at",
    }


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("since=yesterday", "since", "Datetime has wrong format"),
        ("since=2026-13-01T00:00:00Z", "since", "Datetime has wrong format"),
        ("type=person", "type", "not a valid choice"),
        ("page_size=0", "page_size", "greater than or equal to 1"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(full, query, field, words):
    response = full.get(f"/api/v1/deletions/?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert words in " ".join(response.json()["errors"][field])


def test_a_since_older_than_what_is_kept_asks_for_a_full_resync(full):
    old = timezone.now() - timedelta(days=tombstones.KEEP_DAYS + 1)

    response = full.get("/api/v1/deletions/", {"since": old.isoformat()})

    assert response.status_code == 400
    [message] = response.json()["errors"]["since"]
    assert f"kept for {tombstones.KEEP_DAYS} days" in message
    assert "Sync everything again in full" in message
    recent = timezone.now() - timedelta(days=tombstones.KEEP_DAYS - 1)
    assert full.get("/api/v1/deletions/", {"since": recent.isoformat()}).status_code == 200


def test_reading_deletions_takes_as_many_queries_for_many_rows_as_for_a_few(world, full):
    def bury(count: int) -> None:
        made = [
            Segment.objects.create(team=world.team, name=f"S{i}", definition=[])
            for i in range(count)
        ]
        tombstones.bury(Segment.objects.filter(pk__in=[s.pk for s in made]))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = full.get("/api/v1/deletions/?page_size=200")
        assert response.status_code == 200
        return len(captured.captured_queries)

    bury(3)
    queries()  # the token's first use is recorded once: not part of the comparison
    few = queries()
    bury(150)
    assert len(full.get("/api/v1/deletions/?page_size=200").json()["results"]) == 153
    assert queries() == few


def test_tombstones_go_with_the_retention_sweep_after_the_days_they_are_kept(world):
    now = timezone.now()
    _stale, fresh = [
        Tombstone.objects.create(
            team=world.team,
            kind="segment",
            object_id=n,
            reason="deleted",
            removed_at=now - timedelta(days=days),
        )
        for n, days in ((1, tombstones.KEEP_DAYS + 1), (2, tombstones.KEEP_DAYS - 1))
    ]

    assert retention.sweep(now=now).tombstones == 1

    assert list(Tombstone.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert retention.sweep(now=now).tombstones == 0


def test_every_scope_set_reads_the_list(world):
    """A token with any one read scope may poll: it sees its types, and no error."""
    for scope in SCOPES:
        client = client_with(token_for(world.team, world.owner, [scope], name=scope))
        assert client.get("/api/v1/deletions/").status_code == 200


def test_the_retention_sweep_of_calls_and_panel_names_the_submissions_and_members():
    owner, call = a_call()
    client = client_with(token_for(call.team, owner))
    disqualified = submitted(call, "dq@example.com", days_ago=100)
    Submission.objects.filter(pk=disqualified.pk).update(screening="disqualified")
    quiet = panel_of(call, "noconsent@example.com", consent=False, days_ago=800)
    quiet_submission = Submission.objects.get(call=call, email="noconsent@example.com")
    synced = ids(client, f"/api/v1/calls/{call.pk}/submissions/")
    assert {disqualified.pk, quiet_submission.pk} <= synced
    since = a_moment_ago()

    swept = retention.sweep()

    assert swept.submissions == 1 and swept.panel_members == 1
    assert {
        ("submission", disqualified.pk, "anonymised"),
        ("submission", quiet_submission.pk, "anonymised"),
        ("panel_member", quiet.pk, "anonymised"),
    } <= deletions(client, since)


def poll(client, since=None, **params) -> dict:
    query = {"page_size": 50, **params}
    if since is not None:
        query["since"] = since.isoformat()
    url = "/api/v1/deletions/?" + "&".join(f"{k}={v}" for k, v in query.items())
    response = client.get(url.replace("+", "%2B"))
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_removal_still_committing_during_a_poll_is_seen_by_the_next_poll_from_next_since(
    world,
):
    """A removal is stamped when written, not when its transaction commits: a poll while
    the transaction is still open cannot see it, and its `next_since` must come before the
    stamp, however long the transaction lasts, so that the next poll does."""
    client = client_with(token_for(world.team, world.owner))
    segment = Segment.objects.create(team=world.team, name="Soon gone")
    buried, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def remove() -> None:
        try:
            with transaction.atomic():
                segment_service.delete_segment(segment=segment, actor=world.owner)
                buried.set()
                release.wait(timeout=30)  # idle in transaction while the client polls
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    first = poll(client)
    remover = threading.Thread(target=remove)
    remover.start()
    try:
        assert buried.wait(timeout=30)
        time.sleep(http.NEXT_SINCE_MARGIN.total_seconds() + 0.5)
        polled_at = timezone.now()
        during = poll(client, datetime.fromisoformat(first["next_since"]))
    finally:
        release.set()
        remover.join(timeout=30)
    assert not failures

    assert during["results"] == []  # not committed yet
    stone = Tombstone.objects.get(kind="segment", object_id=segment.pk)
    next_since = datetime.fromisoformat(during["next_since"])
    # The open transaction held it back: the clock alone (less its margin) would be past
    # the stamp, and this removal would never be seen.
    assert stone.removed_at < polled_at - http.NEXT_SINCE_MARGIN
    assert next_since <= stone.removed_at
    after = poll(client, next_since)
    assert [(row["type"], row["id"]) for row in after["results"]] == [("segment", segment.pk)]


def test_every_page_of_one_walk_gives_the_first_page_s_next_since(world, full):
    for name in ("a", "b", "c"):
        segment_service.delete_segment(
            segment=Segment.objects.create(team=world.team, name=name), actor=world.owner
        )
    first = poll(full, page_size=1)
    marks, url = [first["next_since"]], first["next"]
    while url:
        time.sleep(0.01)
        body = full.get(url).json()
        marks.append(body["next_since"])
        url = body["next"]
    assert len(marks) == 3 and set(marks) == {first["next_since"]}
    assert datetime.fromisoformat(first["next_since"]) <= timezone.now()


def test_a_panel_row_that_appears_while_a_person_is_erased_never_goes_without_a_tombstone(
    world, monkeypatch
):
    """The erasure reads the rows it removes once: a row that matches only afterwards (a
    panel refresh or an import committing between its statements) is not deleted
    unannounced."""
    panel.refresh(team=world.team)
    pooled = PanelMember.objects.get(team=world.team, email="pool@example.com")
    elsewhere = TeamFactory()
    real_bury, late = tombstones.bury, []

    def bury_then_a_row_appears(rows, **kwargs):
        ids = real_bury(rows, **kwargs)
        if rows.model is PanelMember and not late:
            late.append(PanelMember.objects.create(team=elsewhere, email="pool@example.com"))
        return ids

    monkeypatch.setattr(tombstones, "bury", bury_then_a_row_appears)
    erasure.erase(addresses=["pool@example.com"], user=None, actor=world.owner)

    assert not PanelMember.objects.filter(pk=pooled.pk).exists()
    assert Tombstone.objects.filter(kind="panel_member", object_id=pooled.pk).exists()
    [newcomer] = late
    assert (
        PanelMember.objects.filter(pk=newcomer.pk).exists()
        or Tombstone.objects.filter(kind="panel_member", object_id=newcomer.pk).exists()
    )


def test_dropped_invitations_are_the_ones_buried_and_no_other(world, monkeypatch):
    real_bury, late = tombstones.bury, []

    def bury_then_an_invitation_appears(rows, **kwargs):
        ids = real_bury(rows, **kwargs)
        if rows.model is Invitation and not late:
            late.append(
                Invitation.objects.create(
                    event=world.event,
                    session=world.session,
                    email="late@example.com",
                    expires_at=timezone.now() + timedelta(days=7),
                )
            )
        return ids

    monkeypatch.setattr(tombstones, "bury", bury_then_an_invitation_appears)
    dropped = invitation_service.drop(Invitation.objects.filter(event=world.event))

    assert dropped == 1
    assert not Invitation.objects.filter(pk=world.invitation.pk).exists()
    assert Invitation.objects.filter(pk=late[0].pk).exists()  # not there when read: it stays


def test_an_unconfirmed_submission_the_api_never_showed_leaves_no_tombstone():
    owner, call = a_call()
    client = client_with(token_for(call.team, owner))
    unconfirmed = submitted(call, "unsure@example.com", confirm=False, days_ago=100)
    disqualified = submitted(call, "dq@example.com", days_ago=100)
    Submission.objects.filter(pk=disqualified.pk).update(screening="disqualified")
    assert ids(client, f"/api/v1/calls/{call.pk}/submissions/") == {disqualified.pk}
    since = a_moment_ago()

    assert retention.sweep().submissions == 2

    assert not Submission.objects.filter(pk__in=[unconfirmed.pk, disqualified.pk]).exists()
    assert deletions(client, since, type="submission") == {
        ("submission", disqualified.pk, "anonymised")
    }
