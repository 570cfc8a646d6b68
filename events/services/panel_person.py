"""One panel person, as the team sees them (read only): their row, their standing under the
team's contact rules, and the source rows their row counts (per call of the team they
answered: the submission, its verdict, tags and the team's reviews; their invitations and
registrations in the team's events). A fixed number of queries, whatever their history."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from ..models import Invitation, PanelMember, Registration, Review, Submission, Team
from . import contact, panel, segments


def visible_member(team: Team, pk: int) -> PanelMember | None:
    """The team's panel person `pk` if the panel shows them (segments.visible: they agreed to
    be contacted, or signed up for one of its events); None otherwise, so that someone who
    only answered a call without consent stays visible within that call's pool only."""
    return segments.visible(team).filter(pk=pk).first()


def _words(value: object) -> str:
    # A multiple choice is a list; a score a number; a text, text.
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Person:
    member: PanelMember
    attributes: list[tuple[str, str]]  # mapped answers in words, by name
    blocked: str  # why they are never invited by this team (do-not-contact), or ""
    held_back: str  # why the cool-down or the limit holds them back now, or ""
    submissions: list[Submission]  # with .call, .tags and .reviews (reviewer) read
    invitations: list[Invitation]  # with .event and .session
    registrations: list[Registration]  # with .session.event


def person(team: Team, member: PanelMember, *, now: datetime | None = None) -> Person:
    """Everything the person page shows: 3 queries for the contact verdicts, 3 for the
    person's addresses, then submissions, their tags, their reviews, invitations and
    registrations, one query each."""
    now = now or timezone.now()
    verdicts = contact.verdicts(team, [member.email], now=now)
    sources = panel.sources_of(team, member.email)
    reviews: QuerySet[Review] = Review.objects.select_related("reviewer").order_by("-updated_at")
    submissions = list(
        sources.submissions.select_related("call")
        .prefetch_related("tags", Prefetch("reviews", queryset=reviews))
        .order_by("-submitted_at", "pk")
    )
    invitations = list(
        sources.invitations.select_related("event", "session").order_by("-created_at", "-pk")
    )
    registrations = list(
        sources.registrations.select_related("session__event").order_by(
            "-session__starts_at", "-pk"
        )
    )
    return Person(
        member=member,
        attributes=[(name, _words(value)) for name, value in sorted(member.attributes.items())],
        blocked=verdicts.blocked.get(member.email, ""),
        held_back=verdicts.held_back.get(member.email, ""),
        submissions=submissions,
        invitations=invitations,
        registrations=registrations,
    )
