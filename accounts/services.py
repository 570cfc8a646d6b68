"""State changes of accounts. Views, admin actions and commands call these."""

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import User

log = logging.getLogger(__name__)

PROFILE_FIELDS = (
    "display_name",
    "github_handle",
    "affiliation",
    "role",
    "timezone",
    "language",
    "what_i_build",
)


def update_profile(*, user: User, **changes: Any) -> User:
    """Change profile fields; only the fields a person may edit themselves."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not profile fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password", "email"])
    user.save(update_fields=list(changes))
    return user


def reset_calendar_token(*, user: User) -> User:
    """A new secret for the private calendar feed; old subscriptions stop working."""
    from .models import new_calendar_token

    user.calendar_token = new_calendar_token()
    user.save(update_fields=["calendar_token"])
    return user


def own_addresses(user: User) -> list[str]:
    """The addresses that are provably this person's: the login and every verified one.
    An unverified address may be someone else's: nothing of theirs is read or removed."""
    verified = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    return sorted({user.email.lower(), *(e.lower() for e in verified)})


def _when(value) -> str | None:
    return value.isoformat() if value else None


def export_user_data(*, user: User) -> dict[str, Any]:
    """Everything we hold about one person, as JSON-ready data (GDPR access request)."""
    from events.models import (
        CalendarReply,
        ContactBlock,
        Invitation,
        Notification,
        PanelMember,
        PanelRenewal,
        Registration,
        SurveyRecipient,
        TeamHistory,
        TeamInvitation,
    )
    from events.services import contact, invitations, open_calls, screening
    from events.services import questionnaire as engine

    addresses = own_addresses(user)
    registrations = list(
        user.registrations.select_related("session__event").prefetch_related("changes")
    )
    questions: dict[int, list] = {}

    def asked(event) -> list:
        if event.pk not in questions:
            questions[event.pk] = screening.asked(event=event)
        return questions[event.pk]

    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "email": user.email,
            **{name: getattr(user, name) for name in PROFILE_FIELDS},
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("email")
        ],
        "connected_accounts": [
            {"provider": a.provider, "uid": a.uid, "date_joined": a.date_joined.isoformat()}
            for a in SocialAccount.objects.filter(user=user).order_by("provider")
        ],
        "registrations": [
            {
                "event": r.session.event.title,
                "session_starts_at": r.session.starts_at.isoformat(),
                "status": r.status,
                "answers": screening.as_written(
                    answers=r.answers, questions=asked(r.session.event)
                ),
                "created_at": r.created_at.isoformat(),
                "calendar_file_downloaded_at": _when(r.calendar_downloaded_at),
                "history": [
                    {"from": c.from_status, "to": c.to_status, "at": c.created_at.isoformat()}
                    for c in r.changes.all()
                ],
            }
            for r in registrations
        ],
        "attendance": [
            {
                "event": r.session.event.title,
                "session_starts_at": r.session.starts_at.isoformat(),
                "checked_in_at": _when(r.checked_in_at),
                "no_show": r.no_show,
                "walk_in": r.walk_in,
            }
            for r in registrations
            if r.status == Registration.Status.CONFIRMED
            and (r.checked_in_at or r.no_show or r.walk_in)
        ],
        "survey_answers": [
            {
                "event": r.survey.event.title,
                "anonymous_survey": r.survey.anonymous,
                "sent_at": _when(r.sent_at),
                "answered_at": _when(r.answered_at),
                # An anonymous survey's answers are not given back beside the person: the
                # export would be the one place that links them (the answers stay theirs
                # to erase, with the account).
                "answers": {}
                if r.survey.anonymous
                else dict(engine.labelled_answers(r.survey.questionnaire, r.response)),
            }
            for r in SurveyRecipient.objects.filter(user=user)
            .select_related("survey__event", "survey__questionnaire", "response")
            .order_by("pk")
        ],
        "open_call_submissions": [
            {
                "call": s.call.title,
                "email": s.email,
                "submitted_at": _when(s.submitted_at),
                "confirmed_at": _when(s.confirmed_at),
                "consent_to_contact": s.consent,
                "would_join_feedback_session": s.join_feedback,
                "would_join_prototype_demo": s.join_demo,
                "answers": dict(open_calls.summary(s)),
                "waiting_for_confirmation": s.pending,
                # Scores and notes are the reviewers' working notes: how many, not what.
                "reviews": s.review_count,  # the annotation above
            }
            for s in open_calls.submissions_of(user=user, emails=addresses)
            .select_related("call__questionnaire", "response")
            .annotate(review_count=Count("reviews"))
            .order_by("pk")
        ],
        "invitations": [
            {
                "event": i.event.title,
                "session_starts_at": _when(i.session.starts_at if i.session else None),
                "email": i.email,
                "name": i.name,
                "note": i.note,
                "message": i.message,
                "status": i.status,
                "sent_at": _when(i.sent_at),
                "responded_at": _when(i.responded_at),
                "expires_at": _when(i.expires_at),
            }
            for i in Invitation.objects.filter(invitations.addressed_to(addresses))
            .select_related("event", "session")
            .order_by("pk")
        ],
        # What was mailed, not the mails: their text is rebuilt from the rows above.
        "emails": [
            {
                "to": n.email,
                "about": n.get_kind_display(),
                "subject": _subject_of(n),
                "event": n.session.event.title if n.session else None,
                "status": n.status,
                "owed_at": n.created_at.isoformat(),
                "sent_at": _when(n.sent_at),
            }
            for n in Notification.objects.filter(Q(recipient=user) | _addressed_to(addresses))
            .select_related("session__event")
            .order_by("created_at", "pk")
        ],
        "terms_accepted": [
            {
                "event": t.event.title,
                "version": t.version,
                "at": t.accepted_at.isoformat(),
                "via": t.via,
            }
            for t in user.terms_acceptances.select_related("event")
        ],
        "teams": [
            {"team": m.team.name, "role": m.role, "since": m.created_at.isoformat()}
            for m in user.memberships.select_related("team").order_by("pk")
        ],
        # The teams that send them no invitations or surveys: those they unsubscribed from and
        # those that blocked them, with the team's note, which is written about them (as an
        # invitation's note above); who on the team wrote it is that person's, not theirs.
        "do_not_contact": [
            {
                "team": b.team.name,
                "email": b.email,
                "why": b.get_reason_display(),
                "since": b.created_at.isoformat(),
                "note": b.note,
            }
            for b in ContactBlock.objects.filter(email__in=addresses)
            .select_related("team")
            .order_by("created_at", "pk")
        ],
        # Teams that forgot them but keep their wish not to be contacted, as a keyed hash of
        # one of their addresses (found by hashing each address for each such team).
        "do_not_contact_after_erasure": [
            {"team": s.team.name, "why": s.get_reason_display(), "since": s.created_at.isoformat()}
            for s in contact.suppressions_of(addresses)
        ],
        # A team's panel row about them: what the team chooses people by, their consent and
        # their history with it (review scores only as a count: see open_call_submissions).
        "panels": [
            {
                "team": p.team.name,
                "email": p.email,
                "name": p.name,
                "role": p.role,
                "affiliation": p.affiliation,
                "location": p.location,
                "github_handle": p.github_handle,
                "attributes": p.attributes,
                "tags": p.tags,
                "consent_to_contact": p.consent,
                "calls_answered": p.calls_answered,
                "invitations": p.invitations,
                "invitations_accepted": p.invitations_accepted,
                "invitations_declined": p.invitations_declined,
                "registrations": p.registrations,
                "attended": p.attended,
                "no_shows": p.no_shows,
                "late_cancellations": p.late_cancellations,
                "surveys_answered": p.surveys_answered,
                "first_seen_at": _when(p.first_seen_at),
                "last_contacted_at": _when(p.last_contacted_at),
                "last_attended_at": _when(p.last_attended_at),
            }
            for p in PanelMember.objects.filter(Q(user=user) | Q(email__in=addresses))
            .select_related("team")
            .order_by("team__name", "pk")
        ],
        "team_invitations": [
            {
                "team": i.team.name,
                "email": i.email,
                "role": i.role,
                "sent_at": i.created_at.isoformat(),
                "accepted_at": _when(i.accepted_at),
                "revoked_at": _when(i.revoked_at),
            }
            for i in TeamInvitation.objects.filter(_addressed_to(addresses))
            .select_related("team")
            .order_by("pk")
        ],
        # The teams' records of changes about them (invited, added, role changed, removed).
        "team_history": [
            {"team": h.team.name, "what": h.get_action_display(), "at": h.at.isoformat()}
            for h in TeamHistory.objects.filter(_subject_is(addresses))
            .select_related("team")
            .order_by("at", "pk")
        ],
        # The answers their calendar sent to our invites (Yes, Maybe, No), and what they did.
        "calendar_answers": [
            {
                "received_at": r.received_at.isoformat(),
                "answer": r.partstat,
                "event": r.registration.session.event.title if r.registration else None,
                "outcome": r.get_outcome_display(),
            }
            for r in CalendarReply.objects.filter(_addressed_to(addresses, "sender"))
            .select_related("registration__session__event")
            .order_by("received_at", "pk")
        ],
        # The teams' requests to renew their consent to the panel, and their answers.
        "panel_renewals": [
            {
                "team": r.team.name,
                "asked_at": _when(r.asked_at),
                "renewed_at": _when(r.renewed_at),
            }
            for r in PanelRenewal.objects.filter(_addressed_to(addresses))
            .select_related("team")
            .order_by("pk")
        ],
        # Its existence only: the secret itself is a password, shown on the calendar page.
        "calendar_feed": {"private_feed_token": bool(user.calendar_token)},
    }
    return data


def _subject_of(notification) -> str | None:
    """The subject the mail had (or will have), rebuilt in its recipient's language; None
    when its news can no longer be rebuilt (what it was about is gone)."""
    from events.outbox import rendering

    try:
        return str(rendering.build(notification).subject)
    except Exception:  # noqa: BLE001 - an export never fails for one old mail
        log.warning("Export: the subject of notification %s cannot be rebuilt", notification.pk)
        return None


def _subject_is(addresses: list[str]) -> Q:
    query = Q(pk__in=[])
    for email in addresses:
        query |= Q(subject_email__iexact=email)
    return query


def _addressed_to(addresses: list[str], field: str = "email") -> Q:
    query = Q(pk__in=[])
    for email in addresses:
        query |= Q(**{f"{field}__iexact": email})
    return query


def teams_only_they_own(user: User) -> list[str]:
    """The teams that would be left without an owner, while they still run live events or
    have other members, if this person went."""
    from events.models import Event, Role, Team

    owners = Count("memberships", filter=Q(memberships__role=Role.OWNER))
    people = Count("memberships")
    live = Event.objects.filter(team=OuterRef("pk")).exclude(status=Event.Status.CANCELLED)
    # Count every member first, then keep the user's teams (filtering first would count only
    # the user's own row of the join).
    sole = Team.objects.annotate(owners=owners, people=people).filter(owners=1)
    return list(
        sole.filter(pk__in=user.memberships.filter(role=Role.OWNER).values("team_id"))
        .filter(Q(people__gt=1) | Exists(live))
        .values_list("name", flat=True)
    )


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Remove a person and their personal data.

    Their places are cancelled first through the registration service, so every seat they
    held goes to the next person on the waitlist instead of being lost, and each calendar
    entry they hold is owed a CANCEL. Those CANCELs are kept (`erasure.keep_cancels`):
    without them the entry, with its place and online link, would stay in their calendar for
    good. Someone who is the only owner of a team that still runs live events or has other
    members must hand it over first. Then every row about them goes or is anonymised
    (`erasure.erase`, the walk a team's "forget this person" shares): survey answers, open-
    call submissions in any pool (those made from their address before they had an account
    too), invitations, mail owed or sent, panel rows, do-not-contact entries, webhook bodies
    and kept API answers that carried their address; here also team invitations to them,
    the teams' history naming them and the admin's log of their account. Email addresses,
    social logins, registrations, survey recipients and team memberships go with the user
    row; history entries that name them as actor keep working with the person detached.
    """
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from events.models import Notification, Registration, TeamHistory, TeamInvitation
    from events.services import erasure, panel, tombstones
    from events.services import registration as registration_service

    sole = teams_only_they_own(user)
    if sole:
        raise AccountError(
            _(
                "You are the only owner of the team %(teams)s. Make another member an owner, "
                "or cancel its events, first."
            )
            % {"teams": ", ".join(sole)}
        )
    addresses = own_addresses(user)
    # Their panel rows go in every team: each team's panel lock first, before any row (as
    # forget and the retention sweep: docs/ARCHITECTURE.md, "Lock order of the panel"), or
    # a refresh running meanwhile writes their row back from what it read before.
    panel.lock_for_person(user=user, addresses=addresses)
    upcoming = user.registrations.filter(
        status__in=Registration.ACTIVE, session__ends_at__gt=timezone.now()
    )
    for registration in upcoming:
        registration_service.cancel(registration=registration, actor=user)
    erasure.keep_cancels(Notification.objects.filter(recipient=user), account_deleted=True)
    erasure.erase(addresses=addresses, user=user, actor=user)
    TeamInvitation.objects.filter(_addressed_to(addresses)).delete()
    TeamHistory.objects.filter(_subject_is(addresses)).update(subject_email="")
    # The admin's log of changes to their account holds their name (its object's words).
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
    ).delete()
    # Their registrations go with the user row: integrations that synced them are told.
    tombstones.bury(user.registrations.all(), why=tombstones.Reason.ERASED)
    user.delete()


FAREWELL = "account_deleted"  # the payload flag of a CANCEL kept for a deleted account
# A farewell CANCEL still not delivered after this long never will be: it goes anyway.
FAREWELL_MAX_AGE = timedelta(days=30)


def purge_farewells(*, now: datetime | None = None) -> int:
    """The hourly sweep: CANCELs kept for erased people (a deleted account, or forgotten by
    a team) are deleted once sent (or
    failed, or skipped), and after FAREWELL_MAX_AGE whatever their state, so no address of
    a deleted person stays in the outbox. Returns how many went."""
    from events.models import Notification

    Status = Notification.Status
    now = now or timezone.now()
    from events.services import erasure

    kept = Q(**{f"payload__{erasure.FAREWELL}": True}) | Q(**{f"payload__{FAREWELL}": True})
    farewells = Notification.objects.filter(kept, recipient__isnull=True, registration__isnull=True)
    deleted, _ = farewells.filter(
        Q(status__in=[Status.SENT, Status.FAILED, Status.SKIPPED])
        | Q(created_at__lt=now - FAREWELL_MAX_AGE)
    ).delete()
    return deleted


# What allauth puts in a mail's context that is not a value to keep: the request, the site
# (named again when the mail is rendered), the person (the row's recipient), the address,
# and the bare key of a reset or confirmation link (its templates use the link, whose key
# config/logs.py redacts wherever it is quoted; the key alone it could not tell from text).
_NOT_KEPT = {"request", "current_site", "user", "email", "key"}


def owe_account_mail(*, template: str, email: str, context: dict[str, Any]) -> Any:
    """Owe one of allauth's messages (`template`: its prefix, "account/email/..."), to
    `email`, through the outbox: a row written in the caller's transaction (or its own), sent
    by a mail worker. The sign-up's two branches (a new address, one with an account) each
    owe exactly one, so they do the same work. The row's recipient is the account the
    address belongs to, if any (its language, and its deletion takes the row along); its
    values are allauth's, kept as JSON until the message has left."""
    from events.messages import accounts as account_messages
    from events.models import Notification
    from events.outbox import owe

    values: dict[str, Any] = {}
    times: list[str] = []
    for name, value in context.items():
        if name in _NOT_KEPT:
            continue
        if isinstance(value, datetime):
            values[name] = value.isoformat()
            times.append(name)
        elif value is None or isinstance(value, str | int | float | bool):
            values[name] = value
        else:  # an object a template names (a provider): by its name
            values[name] = {"name": str(getattr(value, "name", value))}
    # The account is looked up whatever allauth's context says: the messages that name no
    # account are those of the branches that must answer as fast as their twins ("an account
    # already exists" beside a sign-up's confirmation, "no account with this address" beside
    # a reset link), so every branch does this same indexed lookup.
    owner = _account_of(email)
    user = context.get("user")
    recipient = user if isinstance(user, User) and user.pk else owner
    payload = {
        account_messages.TEMPLATE: template,
        account_messages.VALUES: values,
        account_messages.TIMES: times,
        account_messages.LANGUAGE: translation.get_language() or "",
    }
    with transaction.atomic():
        return owe.owe(
            kind=Notification.Kind.ACCOUNT,
            # A fresh nonce: allauth decides when a message is due (a second reset link is
            # a second message); the key carries no secret, since it is the Message-ID.
            about=(template.rpartition("/")[2], secrets.token_hex(8)),
            email=email,
            recipient=recipient,
            payload=payload,
            fresh=True,
        )


def _account_of(email: str) -> User | None:
    """The account an address belongs to (its login or one of its addresses), if any. One
    query, each half on an index (never a scan of every account, whose time would grow with
    their number): the login by LOWER(email), the user's unique constraint; the addresses by
    the address itself, which allauth keeps in lower case (its lookups and index are on it;
    `__iexact`, UPPER(email), would be on no index)."""
    # Unordered: ordered by user, PostgreSQL would walk the user index of every address.
    address_owner = EmailAddress.objects.filter(email=email.lower()).order_by().values("user_id")
    return (
        User.objects.alias(login=Lower("email"))
        .filter(Q(login=email.lower()) | Q(pk=Subquery(address_owner[:1])))
        .order_by("pk")
        .first()
    )


def purge_account_mail(*, now: datetime | None = None) -> int:
    """The hourly sweep: allauth's messages leave the outbox once sent or skipped, and the
    rest (failed, or still owed) once their links have expired, so no address, reset link
    or confirmation key stays in the table longer than it is of use. How many went."""
    from events.messages import accounts as account_messages
    from events.models import Notification

    Status = Notification.Status
    now = now or timezone.now()
    deleted, _ = (
        Notification.objects.filter(kind=Notification.Kind.ACCOUNT)
        .filter(Q(status__in=[Status.SENT, Status.SKIPPED]) | account_messages.expired(now))
        .delete()
    )
    return deleted


class AccountError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
