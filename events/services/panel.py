"""The panel: the one place that fills PanelMember rows, from the team's source rows.

A person is in a team's panel when they confirmed a submission to one of its open calls or
registered for one of its events; invitations and survey answers add to their history but do
not make someone a member. One row per person: their lower-cased address, where an account
counts as one person with its account email and every verified address (allauth's
EmailAddress), so an account and an earlier anonymous submission from one of its verified
addresses are one row (keyed by the account's email). An unverified address is someone else.

`refresh` is set-based: one aggregate query per source (submissions, mapped answers,
registrations, invitations, survey answers, the pool's tags and reviews), each ordered by the
person's key, read as streams and merged in key order with the panel's current rows; a row
that comes out as it was is left alone, the others are written back by bulk upserts in
chunks, and the rows in scope that no source produced any more are deleted. Its number of
queries does not depend on the number of people (only the account look-ups and upserts come
in chunks of CHUNK), and memory holds one chunk.

The panel stays fresh without hooks in the services that change the sources:
`refresh_changed` (beat, every minute) finds the addresses whose source rows changed since
the team's `panel_refreshed_at` (a little before it, so a transaction that committed late is
not missed) and refreshes those (a tag change leaves no time of its own: `open_calls` stamps
the submissions' `tags_changed_at`; a re-score stamps their `screened_at`), or rebuilds the
panel whole when more than REBUILD_ABOVE people changed; `rebuild_all` (beat, hourly) rebuilds
each panel whole, which also catches what leaves no timestamp (a withdrawn submission, a
deleted account, an address verified, a profile edited)."""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.db import connection, transaction
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, Collate, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from ..models import (
    Answer,
    Invitation,
    PanelAttribute,
    PanelMember,
    Question,
    Registration,
    RegistrationChange,
    Review,
    Submission,
    SurveyRecipient,
    Team,
)
from . import ServiceError, attendance, audit, tombstones
from . import questionnaire as engine

CHUNK = 2000
# How far before the last refresh the minute's refresh looks for changes: a transaction that
# stamped its rows before the last refresh but committed after it is still seen.
OVERLAP = timedelta(minutes=5)
# A change of the mapped attributes refreshes a panel this small at once; a larger one is
# left to the next minute's refresh (a whole rebuild), not to the organizer's request.
REFRESH_AT_ONCE = 5000
# More changed addresses than this in one minute (a call of 100,000 re-scored) and the
# minute's refresh rebuilds the panel whole: its reads are then plain scans, where a partial
# refresh would send every address in each of its queries (bench/panel.py measures both).
REBUILD_ABOVE = 20_000
DEFAULT_TIMEZONE = "UTC"
PROFILE = ("name", "role", "affiliation", "location", "github_handle")
WRITTEN = [
    "user",
    *PROFILE,
    "attributes",
    "consent",
    "tags",
    "review_score",
    "calls",
    "qualified_calls",
    "unscored_calls",
    "calls_answered",
    "invitations",
    "invitations_accepted",
    "invitations_declined",
    "registrations",
    "attended",
    "no_shows",
    "late_cancellations",
    "surveys_answered",
    "first_seen_at",
    "last_contacted_at",
    "last_attended_at",
    "refreshed_at",
]


# Who is who -----------------------------------------------------------------------------


def _key(prefix: str = "", *, with_user: bool = False) -> Coalesce:
    """The person's key of a row that names an address (`<prefix>email`): the account's email
    when the address is that account's verified one (or the row's own user, for a submission
    made while logged in), else the address itself, lower-cased. An account's own email needs
    no look-up: it is the key already."""
    verified = EmailAddress.objects.filter(
        verified=True, email=Lower(OuterRef(f"{prefix}email"))
    ).values(key=Lower("user__email"))[:1]
    parts: list[Any] = [Subquery(verified), Lower(f"{prefix}email")]
    if with_user:
        parts.insert(0, Lower(f"{prefix}user__email"))
    return _as_key(Coalesce(*parts, output_field=CharField()))


def keys_of(submissions: QuerySet[Submission]) -> QuerySet:
    """The panel's key (PanelMember.email) of each submission's person, as a subquery: a draw
    from a call finds the call's people in the panel by it."""
    return submissions.annotate(key=_key(with_user=True)).values("key")


def _as_key(expression: Any) -> Any:
    """A person's key compares as Python compares strings (code points), which the merge of
    the streams needs: PostgreSQL's collation would put "a.b" and "ab" the other way. (The
    collation is on the selected value itself, so the database computes it once per row.)"""
    if connection.vendor == "postgresql":
        return Collate(expression, "C")
    return expression


def _ordered(rows: QuerySet, *then: str) -> QuerySet:
    return rows.order_by("key", *then)


@dataclass(frozen=True)
class Scope:
    """The people a partial refresh covers: the addresses asked for, their keys, every
    address of those keys' accounts, and the accounts."""

    asked: set[str]
    keys: set[str]
    addresses: set[str]
    users: set[int]


def _scope(emails: Iterable[str]) -> Scope:
    asked = {e.strip().lower() for e in emails if e and e.strip()}
    owners = dict(
        EmailAddress.objects.filter(verified=True, email__in=asked).values_list(
            "email", Lower("user__email")
        )
    )
    keys = {owners.get(e, e) for e in asked}
    users = set(
        User.objects.annotate(key=Lower("email")).filter(key__in=keys).values_list("pk", flat=True)
    )
    addresses = keys | asked
    addresses |= set(
        EmailAddress.objects.filter(user_id__in=users, verified=True).values_list(
            Lower("email"), flat=True
        )
    )
    return Scope(asked, keys, addresses, users)


# The sources, each a stream of rows ordered by key ----------------------------------------


def _stream(rows: QuerySet) -> Iterator[tuple]:
    # A server-side cursor on PostgreSQL (memory holds a chunk); SQLite reads the rows at
    # once, as it would not let the upserts write while its cursors are open.
    if connection.vendor == "sqlite":
        return iter(list(rows))
    return rows.iterator(chunk_size=CHUNK)


def _submissions(team: Team, scope: Scope | None) -> QuerySet:
    rows = Submission.objects.filter(call__team=team, confirmed_at__isnull=False)
    if scope is not None:
        rows = rows.filter(Q(email__in=scope.addresses) | Q(user_id__in=scope.users))
    return _ordered(rows.annotate(key=_key(with_user=True)), "submitted_at", "pk").values_list(
        "key", "call_id", "screening", "consent", *PROFILE, "confirmed_at"
    )


def _answers(team: Team, questions: list[int], scope: Scope | None) -> QuerySet:
    prefix = "response__submission__"
    rows = Answer.objects.filter(
        question_id__in=questions,
        response__submission__call__team=team,
        response__submission__confirmed_at__isnull=False,
    )
    if scope is not None:
        rows = rows.filter(
            Q(response__submission__email__in=scope.addresses)
            | Q(response__submission__user_id__in=scope.users)
        )
    keyed = rows.annotate(key=_key(prefix, with_user=True))
    return _ordered(keyed, f"{prefix}submitted_at", "response_id", "pk").values_list(
        "key", "question_id", "response_id", "number", "text"
    )


def _registrations(team: Team, scope: Scope | None, now: datetime) -> QuerySet:
    rows = Registration.objects.filter(session__event__team=team)
    if scope is not None:
        rows = rows.filter(user_id__in=scope.users)
    return _ordered(
        rows.values(key=_as_key(Lower("user__email"))).annotate(
            count=Count("pk"),
            **attendance.history_counts(now),
            last_attended_at=Max("session__starts_at", filter=attendance.attended(now)),
            first=Min("created_at"),
        )
    ).values_list(
        "key", "count", "attended", "no_shows", "late_cancellations", "last_attended_at", "first"
    )


def _invitations(team: Team, scope: Scope | None) -> QuerySet:
    rows = Invitation.objects.filter(event__team=team)
    if scope is not None:
        rows = rows.filter(email__in=scope.addresses)
    Status = Invitation.Status
    return _ordered(
        rows.annotate(key=_key())
        .values("key")
        .annotate(
            count=Count("pk"),
            accepted=Count("pk", filter=Q(status=Status.ACCEPTED)),
            declined=Count("pk", filter=Q(status=Status.DECLINED)),
            # Not sent yet (or being sent again): contacted when it was made, for cool-downs.
            last=Max(Coalesce("sent_at", "created_at")),
        )
    ).values_list("key", "count", "accepted", "declined", "last")


def _surveys(team: Team, scope: Scope | None) -> QuerySet:
    # Named surveys only: who answered an anonymous one is not shown or used (with a single
    # respondent, "answered: 1" beside the results would name them).
    rows = SurveyRecipient.objects.filter(
        survey__event__team=team, survey__anonymous=False, answered_at__isnull=False
    )
    if scope is not None:
        rows = rows.filter(user_id__in=scope.users)
    return _ordered(
        rows.values(key=_as_key(Lower("user__email"))).annotate(count=Count("pk"))
    ).values_list("key", "count")


def _of_submissions(rows: QuerySet, team: Team, scope: Scope | None) -> QuerySet:
    """Rows hanging on the team's confirmed submissions (tags, reviews), keyed by person."""
    prefix = "submission__"
    rows = rows.filter(submission__call__team=team, submission__confirmed_at__isnull=False)
    if scope is not None:
        rows = rows.filter(
            Q(submission__email__in=scope.addresses) | Q(submission__user_id__in=scope.users)
        )
    return rows.annotate(key=_key(prefix, with_user=True))


def _tags(team: Team, scope: Scope | None) -> QuerySet:
    rows = _of_submissions(Submission.tags.through.objects.all(), team, scope)
    return _ordered(rows, "pooltag__name").values_list("key", "pooltag__name")


def _reviews(team: Team, scope: Scope | None) -> QuerySet:
    # The mean of every review of the person across the team's calls (not of each call's mean).
    return _ordered(
        _of_submissions(Review.objects.all(), team, scope)
        .values("key")
        .annotate(total=Sum("score"), count=Count("pk"))
    ).values_list("key", "total", "count")


# One person, as the streams tell them ------------------------------------------------------


@dataclass
class _Person:
    key: str
    calls: set[int] = field(default_factory=set)
    qualified_calls: set[int] = field(default_factory=set)
    unscored_calls: set[int] = field(default_factory=set)
    consent: bool = False
    profile: dict[str, str] = field(default_factory=dict)
    first_seen_at: datetime | None = None
    registered: tuple | None = None
    invited: tuple | None = None
    surveys: int = 0
    tags: set[str] = field(default_factory=set)
    review_score: float | None = None
    current: tuple | None = None  # the panel's row as it is
    # question id -> (response id, numbers, text) of the latest answer
    answers: dict[int, tuple[int, list[int], str]] = field(default_factory=dict)

    @property
    def is_member(self) -> bool:
        return bool(self.calls or self.registered)

    def seen(self, moment: datetime | None) -> None:
        if moment and (self.first_seen_at is None or moment < self.first_seen_at):
            self.first_seen_at = moment

    def take(self, source: str, row: tuple) -> None:
        if source == "submission":
            # In order of sending: a later submission's non-blank fields win.
            _key, call_id, screening, consent, *profile, confirmed_at = row
            self.calls.add(call_id)
            if screening == Submission.Screening.QUALIFIED:
                self.qualified_calls.add(call_id)
            elif not screening:
                self.unscored_calls.add(call_id)
            self.consent = self.consent or consent
            for name, value in zip(PROFILE, profile, strict=True):
                if value:
                    self.profile[name] = value
            self.seen(confirmed_at)
        elif source == "answer":
            # In order of sending, a response's rows together: another response's rows
            # are a later submission's, which wins.
            _key, question_id, response_id, number, text = row
            held = self.answers.get(question_id)
            if held is None or held[0] != response_id:
                held = (response_id, [], "")
            if number is not None:
                held[1].append(number)
            self.answers[question_id] = (response_id, held[1], text or held[2])
        elif source == "registration":
            self.registered = row
            self.seen(row[6])
        elif source == "invitation":
            self.invited = row
        elif source == "survey":
            self.surveys = row[1]
        elif source == "tag":
            self.tags.add(row[1])
        elif source == "review":
            self.review_score = row[1] / row[2]
        elif source == "current":
            self.current = row


def _tagged(source: str, rows: Iterator[tuple]) -> Iterator[tuple[str, str, tuple]]:
    for row in rows:
        yield row[0], source, row


def _merged(streams: dict[str, Iterator[tuple]]) -> Iterator[_Person]:
    """The people, in key order, each with every source's rows."""
    merged = heapq.merge(
        *(_tagged(source, rows) for source, rows in streams.items()), key=lambda item: item[0]
    )
    for key, items in itertools.groupby(merged, key=lambda item: item[0]):
        person = _Person(key)
        for _key, source, row in items:
            person.take(source, row)
        yield person


# Writing the rows -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attribute:
    name: str
    question: Question
    labels: dict[int, str]


def _attributes(team: Team) -> list[_Attribute]:
    mapped = PanelAttribute.objects.filter(team=team).select_related("question")
    questions = {
        q.pk: q for q in Question.objects.filter(pk__in=[m.question_id for m in mapped])
    }  # with their choices, in one more query
    return [
        _Attribute(
            m.name,
            questions[m.question_id],
            {c.number: c.label for c in questions[m.question_id].choices.all()},
        )
        for m in mapped
    ]


def attribute_value(question: Question, labels: dict[int, str], numbers: list[int], text: str):
    """An answer as a panel attribute: a choice's words (a list of them, in the question's
    order, for a multiple choice), a text as it is, a rating or score as a number."""
    if question.kind in engine.MAX_TEXT:
        return text
    if question.kind == Question.Kind.SINGLE:
        return labels.get(numbers[0], f"#{numbers[0]}") if numbers else None
    if question.kind == Question.Kind.MULTIPLE:
        order = {number: rank for rank, number in enumerate(labels)}
        picked = sorted(numbers, key=lambda n: order.get(n, len(order) + n))
        return [labels.get(n, f"#{n}") for n in picked]
    return numbers[0] if numbers else None


ACCOUNT = ("pk", "display_name", "role", "affiliation", "github_handle", "timezone")


def _row(team: Team, person: _Person, user: tuple | None, mapped: list[_Attribute]) -> PanelMember:
    """`user`: the account's ACCOUNT fields, if the person has one."""
    profile = dict(person.profile)
    user_id = None
    if user is not None:
        user_id, display_name, role, affiliation, github_handle, time_zone = user
        # The account's own profile wins over what a submission said; a blank field, or the
        # default time zone nobody chose, does not.
        account = {
            "name": display_name,
            "role": role,
            "affiliation": affiliation,
            "github_handle": github_handle,
            "location": "" if time_zone == DEFAULT_TIMEZONE else time_zone,
        }
        profile.update({name: value for name, value in account.items() if value})
    attributes = {}
    for attribute in mapped:
        answer = person.answers.get(attribute.question.pk)
        if answer is not None:
            value = attribute_value(attribute.question, attribute.labels, answer[1], answer[2])
            if value not in (None, "", []):
                attributes[attribute.name] = value
    registered = person.registered or (None, 0, 0, 0, 0, None, None)
    invited = person.invited or (None, 0, 0, 0, None)
    return PanelMember(
        team=team,
        email=person.key,
        user_id=user_id,
        name=profile.get("name", "")[:150],
        role=profile.get("role", ""),
        affiliation=profile.get("affiliation", "")[:200],
        location=profile.get("location", "")[:64],
        github_handle=profile.get("github_handle", "")[:39],
        attributes=attributes,
        consent=person.consent,
        tags=sorted(person.tags),
        review_score=person.review_score,
        calls=sorted(person.calls),
        qualified_calls=sorted(person.qualified_calls),
        unscored_calls=sorted(person.unscored_calls),
        calls_answered=len(person.calls),
        invitations=invited[1],
        invitations_accepted=invited[2],
        invitations_declined=invited[3],
        registrations=registered[1],
        attended=registered[2],
        no_shows=registered[3],
        late_cancellations=registered[4],
        surveys_answered=person.surveys,
        first_seen_at=person.first_seen_at,
        last_contacted_at=invited[4],
        last_attended_at=registered[5],
    )


COMPARED = [name for name in WRITTEN if name not in ("user", "refreshed_at")]


def _current(team: Team, scope: Scope | None) -> QuerySet:
    """The panel's rows as they are, in key order: a row whose values come out the same is
    not written again (an hourly rebuild of 200,000 people rewrites only what changed)."""
    rows = PanelMember.objects.filter(team=team)
    if scope is not None:
        # Every address of the people in scope: a row left under an address that has since
        # been verified on an account is that account's, and goes.
        rows = rows.filter(email__in=scope.addresses)
    return _ordered(rows.annotate(key=_as_key(F("email")))).values_list(
        "key", "pk", "user_id", *COMPARED
    )


def _unchanged(row: PanelMember, current: tuple | None) -> bool:
    if current is None:
        return False
    return current[2:] == (row.user_id, *(getattr(row, name) for name in COMPARED))


def _write(team: Team, people: list[_Person], mapped: list[_Attribute]) -> int:
    users = {
        key: account
        for key, *account in User.objects.annotate(key=Lower("email"))
        .filter(key__in=[p.key for p in people])
        .values_list("key", *ACCOUNT)
    }
    rows = [
        row
        for row, person in ((_row(team, p, users.get(p.key), mapped), p) for p in people)
        if not _unchanged(row, person.current)
    ]
    if rows:
        PanelMember.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["team", "email"], update_fields=WRITTEN
        )
    return len(rows)


def _lock_panel(team: Team | int) -> None:
    """Changes to one team's panel run one after the other, until the transaction ends: a
    rebuild, the minute's refresh and a new attribute never interleave. An advisory lock on
    PostgreSQL, not the team's row, which the teams service locks for membership changes
    that must not wait for a rebuild. (SQLite runs one writing transaction at a time.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            team_id = team if isinstance(team, int) else team.pk
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"panel:{team_id}"])


def lock(team: Team | int) -> None:
    """The panel's lock (`_lock_panel`), for a service that removes panel rows and their
    sources (erasure.forget, the retention sweep): a refresh running meanwhile would write
    the row back. Taken before any row lock of the transaction (docs/ARCHITECTURE.md, "Lock
    order of the panel"): taken after one, it deadlocked with forget."""
    _lock_panel(team)


def lock_for_person(*, user: User | None, addresses: Iterable[str]) -> list[int]:
    """The panel locks of every team where this person has a panel row or a source of one
    (a registration, a submission), in team-id order: for a service that removes their rows
    in several teams at once (deleting their account). Taken before any row lock, as `lock`;
    one order for all, so two such removals never wait for each other in a circle. Returns
    the teams' ids."""
    lowered = sorted({a.lower() for a in addresses})
    users = [user.pk] if user is not None else []
    members = PanelMember.objects.filter(Q(user_id__in=users) | Q(email__in=lowered))
    submitted = Submission.objects.annotate(address=Lower("email")).filter(
        Q(user_id__in=users) | Q(address__in=lowered)
    )
    teams = {
        *members.values_list("team_id", flat=True),
        *submitted.values_list("call__team_id", flat=True),
        *Registration.objects.filter(user_id__in=users).values_list(
            "session__event__team_id", flat=True
        ),
    }
    ordered = sorted(teams)
    for team_id in ordered:
        _lock_panel(team_id)
    return ordered


@transaction.atomic
def refresh(*, team: Team, emails: Iterable[str] | None = None, now: datetime | None = None) -> int:
    """Recompute the panel rows of `team` from its source rows: all of them, or only those of
    the people these addresses belong to (any of an account's addresses brings in the whole
    person). People with no submission or registration left leave the panel. Returns how
    many rows were written or removed (a row that comes out as it was is left alone). Two
    refreshes of one team run one after the other (`_lock_panel`)."""
    _lock_panel(team)
    if connection.vendor == "postgresql":
        # Its reads are many small index look-ups: compiling them (JIT) took longer than
        # running them (bench/panel.py --explain).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
    now = now or timezone.now()
    scope = None if emails is None else _scope(emails)
    if scope is not None and not scope.asked:
        return 0
    mapped = _attributes(team)
    streams = {
        "current": _stream(_current(team, scope)),
        "submission": _stream(_submissions(team, scope)),
        "answer": _stream(_answers(team, [m.question.pk for m in mapped], scope))
        if mapped
        else iter(()),
        "registration": _stream(_registrations(team, scope, now)),
        "invitation": _stream(_invitations(team, scope)),
        "survey": _stream(_surveys(team, scope)),
        "tag": _stream(_tags(team, scope)),
        "review": _stream(_reviews(team, scope)),
    }
    written, gone = 0, []
    batch: list[_Person] = []
    for person in _merged(streams):
        if person.is_member:
            batch.append(person)
        elif person.current is not None:
            gone.append(person.current[1])
        if len(batch) == CHUNK:
            written += _write(team, batch, mapped)
            batch = []
    if batch:
        written += _write(team, batch, mapped)
    for start in range(0, len(gone), CHUNK):
        leaving = PanelMember.objects.filter(pk__in=gone[start : start + CHUNK])
        tombstones.bury(leaving)
        leaving.delete()
    return written + len(gone)


# Keeping it fresh ------------------------------------------------------------------------


def changed_emails(*, team: Team, since: datetime, until: datetime) -> set[str]:
    """The addresses whose source rows in `team` changed from `since` on (a handful of
    indexed queries): submissions confirmed or answered again, registrations changed or
    whose session ended meanwhile (attendance without check-in counts at the end),
    invitations made, sent or answered, surveys answered, tags changed, reviews given,
    verdicts re-scored."""
    reviewed = Review.objects.filter(submission=OuterRef("pk"), updated_at__gte=since)
    submitted = Submission.objects.filter(call__team=team, confirmed_at__isnull=False).filter(
        Q(confirmed_at__gte=since)
        | Q(response__updated_at__gte=since)
        | Q(tags_changed_at__gte=since)
        | Q(screened_at__gte=since)
        | Q(Exists(reviewed))
    )
    changes = RegistrationChange.objects.filter(registration=OuterRef("pk"), created_at__gte=since)
    registered = Registration.objects.filter(session__event__team=team).filter(
        Q(updated_at__gte=since)
        | Q(Exists(changes))
        | Q(session__ends_at__gte=since, session__ends_at__lte=until)
    )
    invited = Invitation.objects.filter(event__team=team).filter(
        Q(created_at__gte=since) | Q(sent_at__gte=since) | Q(responded_at__gte=since)
    )
    answered = SurveyRecipient.objects.filter(survey__event__team=team, answered_at__gte=since)
    found: set[str] = set()
    for rows in (
        submitted.values_list(Lower("email"), flat=True),
        registered.values_list(Lower("user__email"), flat=True),
        invited.values_list(Lower("email"), flat=True),
        answered.values_list(Lower("user__email"), flat=True),
    ):
        found.update(rows.order_by().distinct())
    return found


def refresh_team(*, team: Team, now: datetime | None = None) -> int:
    """The minute's work for one team: refresh the people whose source rows changed since
    its last refresh (a whole rebuild when it has none, or when more than REBUILD_ABOVE
    addresses changed), and move the mark. Safe to run twice: a refresh is a
    recomputation."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_panel(team)
        locked = Team.objects.get(pk=team.pk)
        since = locked.panel_refreshed_at
        emails = (
            None if since is None else changed_emails(team=locked, since=since - OVERLAP, until=now)
        )
        if emails is None or len(emails) > REBUILD_ABOVE:
            written = refresh(team=locked, now=now)
        else:
            written = refresh(team=locked, emails=emails, now=now) if emails else 0
        Team.objects.filter(pk=team.pk).update(panel_refreshed_at=now)
    return written


def refresh_changed(*, now: datetime | None = None) -> int:
    """Beat, every minute: every team's panel takes in the changes of its source rows."""
    return sum(refresh_team(team=team, now=now) for team in Team.objects.order_by("pk"))


def rebuild_all(*, teams: QuerySet[Team] | None = None) -> int:
    """Beat, hourly (and `manage.py rebuild_panel`): every panel rebuilt whole, which also
    takes in what leaves no timestamp (a withdrawn submission, a deleted account, a newly
    verified address, a profile edited)."""
    written = 0
    for team in (teams if teams is not None else Team.objects.all()).order_by("pk"):
        now = timezone.now()
        with transaction.atomic():
            written += refresh(team=team, now=now)
            Team.objects.filter(pk=team.pk).update(panel_refreshed_at=now)
    return written


# Panel attributes -------------------------------------------------------------------------

ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _after_mapping(team: Team) -> None:
    if PanelMember.objects.filter(team=team).count() <= REFRESH_AT_ONCE:
        refresh(team=team)
    else:
        # The next minute's refresh rebuilds the panel whole.
        Team.objects.filter(pk=team.pk).update(panel_refreshed_at=None)


@transaction.atomic
def add_attribute(
    *, team: Team, question: Question, name: str, actor: User | None = None
) -> PanelAttribute:
    """Use the answers to one of the team's open-call questions as a panel attribute named
    `name` (lower-case letters, digits and underscores: `models_used`), one name and one
    attribute per question per team. Each person's latest confirmed answer fills it."""
    name = (name or "").strip()
    if not ATTRIBUTE_NAME.match(name):
        raise ServiceError(
            _(
                "Name the attribute with lower-case letters, digits and underscores, starting "
                "with a letter, at most 40 characters (for example models_used)."
            )
        )
    if not Question.objects.filter(pk=question.pk, questionnaire__open_call__team=team).exists():
        raise ServiceError(_("That question is not in one of this team's open calls."))
    _lock_panel(team)
    taken = PanelAttribute.objects.filter(team=team)
    if taken.filter(name=name).exists():
        raise ServiceError(_("The panel already has an attribute named %(name)s.") % {"name": name})
    other = taken.filter(question_id=question.pk).first()
    if other is not None:
        raise ServiceError(
            _("This question is already the attribute %(name)s.") % {"name": other.name}
        )
    attribute = PanelAttribute.objects.create(team=team, question_id=question.pk, name=name)
    audit.record(
        actor=actor,
        action="panel.attribute_added",
        team=team,
        target=attribute,
        summary={"title": name, "question": question.pk},
    )
    _after_mapping(team)
    return attribute


@transaction.atomic
def remove_attribute(*, attribute: PanelAttribute, actor: User | None = None) -> None:
    """Stop using a question as a panel attribute: it leaves every person's attributes."""
    team = attribute.team
    _lock_panel(team)
    audit.record(
        actor=actor,
        action="panel.attribute_removed",
        team=team,
        target=attribute,
        summary={"title": attribute.name, "question": attribute.question_id},
    )
    PanelAttribute.objects.filter(pk=attribute.pk).delete()
    _after_mapping(team)


# One person's source rows ---------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """The team's rows a panel person's row was built from, as querysets (not yet read)."""

    submissions: QuerySet[Submission]
    invitations: QuerySet[Invitation]
    registrations: QuerySet[Registration]


def sources_of(team: Team, key: str) -> Sources:
    """The confirmed submissions, invitations and registrations of the team that the refresh
    counts for the person `key` (a PanelMember's email): found by the refresh's own scope and
    key, so the person page lists exactly what the row counts. Reads the person's addresses
    and account now (three queries); the querysets are read by the caller."""
    scope = _scope([key])
    submissions = (
        Submission.objects.filter(call__team=team, confirmed_at__isnull=False)
        .filter(Q(email__in=scope.addresses) | Q(user_id__in=scope.users))
        .annotate(key=_key(with_user=True))
        .filter(key=key)
    )
    invitations = (
        # Invitations keep the address as typed: compared lower-cased (the
        # invitation_event_email_lower index), as the whole refresh keys them.
        Invitation.objects.annotate(address=Lower("email"))
        .filter(event__team=team, address__in=scope.addresses)
        .annotate(key=_key())
        .filter(key=key)
    )
    registrations = (
        Registration.objects.filter(session__event__team=team, user_id__in=scope.users)
        .annotate(key=_as_key(Lower("user__email")))
        .filter(key=key)
    )
    return Sources(submissions, invitations, registrations)
