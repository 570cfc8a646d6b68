"""Erasing a person: everywhere (their account is deleted: accounts.services.delete_account)
or from one team ("forget this person", `forget`, on the person's request to that team).

One walk over every table that holds a person's data, in either scope, so that both are as
complete as each other: the calendar entries they hold are cancelled first (the CANCEL is
kept, detached from them, until it is sent: `keep_cancels`), their seats go to the waitlist
through the cancel service, then every row about them is removed or anonymised. The test
`tests/accounts/test_completeness.py` lists every model linked to a user or holding an email
address, and fails for one this module (or its allow-list) does not know.

A person is their account (if any) and their addresses: the login and every verified one
(accounts.services.own_addresses). An unverified address may be someone else's: it is never
read or erased on their behalf."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import ics
from ..models import (
    ContactBlock,
    IdempotentRequest,
    Notification,
    PanelErasure,
    PanelMember,
    PanelRenewal,
    Registration,
    Team,
    TermsAcceptance,
    WebhookMessage,
)
from ..outbox import delivery, owe
from ..permissions import may
from . import (
    ServiceError,
    audit,
    calendar_replies,
    contact,
    invitations,
    open_calls,
    panel,
    surveys,
    tombstones,
)
from . import registration as registration_service

# The payload flags of a CANCEL kept for someone erased: `FAREWELL` for every such row (the
# hourly purge deletes them once sent), `ACCOUNT_DELETED` when their account went (the mail
# then says so).
FAREWELL = "farewell"
ACCOUNT_DELETED = "account_deleted"
ERASED = "[erased]"
# The payload key of a kept CANCEL's ORGANIZER and From (rendering reads it from the context,
# which the payload completes).
CALENDAR_FROM = "calendar_from"


def _addressed(field: str, addresses: list[str]) -> Q:
    query = Q(pk__in=[])
    for email in addresses:
        query |= Q(**{f"{field}__iexact": email})
    return query


def _team_of_notification(team: Team) -> Q:
    return (
        Q(session__event__team=team)
        | Q(registration__session__event__team=team)
        | Q(invitation__event__team=team)
        | Q(submission__call__team=team)
        | Q(survey_recipient__survey__event__team=team)
    )


def keep_cancels(owed: QuerySet[Notification], *, account_deleted: bool) -> list[int]:
    """The CANCELs still owed to the person (just owed by their cancellations, or owed a
    moment before and not sent yet), detached from them so that they outlive their rows.

    Privacy: such a row keeps what is needed to send it, the address and the entry's
    ORGANIZER, and nothing that leads back to the person: no user, no registration, and a key
    without their ids. The ORGANIZER (the registration's `calendar_organizer`, with its
    secret) is copied into the payload as `calendar_from`, which rendering reads as it reads
    the registration's: a CANCEL from any other organizer or From is dropped by the calendar
    (DESIGN, invariant 4), and the entry would stay. The sweep
    `accounts.services.purge_farewells` deletes the row once it is done (sent, or failed for
    good), so the address and the secret do not outlive the message by more than an hour."""
    Status = Notification.Status
    rows = list(
        owed.filter(status__in=[Status.PENDING, Status.SENDING], payload__calendar=ics.CANCEL)
    )
    # Decided now, while the registration is known: only a calendar that an invite reached
    # has an entry to remove; the others get the news without a calendar part.
    registrations = {n.registration_id for n in rows if n.registration_id}
    invited = delivery.invited(registrations)
    # An invite a worker is handing to the relay at this moment may still land (its row goes
    # with the person, but the send is under way): it counts as reaching them, and the
    # CANCEL waits for its lease to end, or it could arrive first, find no entry, and leave
    # the invite in their calendar for good. (A lapsed lease is a dead worker's: that invite
    # never left.)
    on_its_way: dict[int, datetime] = {}
    for registration_id, expires in Notification.objects.filter(
        registration_id__in=registrations,
        status=Status.SENDING,
        payload__calendar=ics.REQUEST,
        lease_expires_at__gt=timezone.now(),
    ).values_list("registration_id", "lease_expires_at"):
        if registration_id is None or expires is None:
            continue  # excluded by the filter; for the type checker
        on_its_way[registration_id] = max(expires, on_its_way.get(registration_id, expires))
    reached = invited | set(on_its_way)
    organizers = dict(
        Registration.objects.filter(pk__in=reached).values_list("pk", "calendar_organizer")
    )
    for notification in rows:
        payload = {**notification.payload, FAREWELL: True}
        if account_deleted:
            payload[ACCOUNT_DELETED] = True
        if notification.registration_id not in reached:
            payload = {k: v for k, v in payload.items() if k not in {"calendar", "sequence"}}
        elif organizers.get(notification.registration_id):
            # The organizer of their entry, as messages/registrations.context names it while
            # the registration exists ('' is the site's From, the default without it).
            payload[CALENDAR_FROM] = organizers[notification.registration_id]
        not_before = (
            on_its_way.get(notification.registration_id) if notification.registration_id else None
        )
        if notification.next_attempt_at and not_before:
            not_before = max(not_before, notification.next_attempt_at)
        notification.recipient = None
        notification.registration = None
        notification.key = owe.key(
            notification.kind,
            f"session{notification.session_id}",
            "farewell",
            secrets.token_urlsafe(12),
        )
        notification.payload = payload
        notification.next_attempt_at = not_before or notification.next_attempt_at
    # One statement for all of them, not one per row.
    Notification.objects.bulk_update(
        rows, ["recipient", "registration", "key", "payload", "next_attempt_at"]
    )
    return [n.pk for n in rows]


def _redacted(value: Any, addresses: set[str]) -> tuple[Any, bool]:
    """A webhook body with the person's address (and the name beside it) replaced: ids and
    the shape stay, so a receiver that stored the event keeps a consistent record."""
    if isinstance(value, dict):
        named = any(isinstance(v, str) and v.lower() in addresses for v in value.values())
        out, changed = {}, named
        for k, v in value.items():
            if named and k in {"email", "name", "display_name"}:
                out[k] = ERASED
                continue
            out[k], inner = _redacted(v, addresses)
            changed = changed or inner
        return out, changed
    if isinstance(value, list):
        items = [_redacted(v, addresses) for v in value]
        return [v for v, _changed in items], any(c for _v, c in items)
    if isinstance(value, str) and value.lower() in addresses:
        return ERASED, True
    return value, False


def _mentions(rows: QuerySet, field: str, addresses: list[str]) -> QuerySet:
    """Rows whose `field` (JSON or text) mentions one of the addresses (compared as
    lower-cased text: a scan, but only of the scope's rows, and erasure is rare)."""
    text = Lower(Cast(field, TextField()))
    query = Q(pk__in=[])
    for email in addresses:
        query |= Q(mentions__contains=email.lower())
    return rows.annotate(mentions=text).filter(query)


@tombstones.reason(tombstones.Reason.ERASED)
def erase(
    *, addresses: list[str], user: User | None, actor: User | None, team: Team | None = None
) -> int:
    """Remove or anonymise every row about the person: everywhere (team None: their account
    is going), or only in `team`'s data. Returns how many rows were removed or anonymised.
    In the caller's transaction; the caller has cancelled their upcoming places (and kept
    the CANCELs) first."""
    count = 0
    users = [user.pk] if user else []
    # Mail owed or sent to them, but the CANCELs kept above (they leave once sent).
    mail = Notification.objects.filter(Q(recipient_id__in=users) | _addressed("email", addresses))
    if team is not None:
        mail = mail.filter(_team_of_notification(team))
    mail = mail.exclude(payload__has_key=FAREWELL)
    count += mail.delete()[0]
    # Their answers, submissions and invitations (seats an invitation held go back first).
    count += surveys.forget_respondent(user=user, team=team) if user else 0
    count += open_calls.forget_submitter(user=user, emails=addresses, team=team)
    count += invitations.forget_invitee(emails=addresses, team=team)
    # The calendar answers they sent (the rows keep the sender's address).
    count += calendar_replies.forget_sender(emails=addresses, team=team)
    # The teams' panel rows, and do-not-contact entries about them: each entry leaves a
    # suppression (a keyed hash, no address), so the wish not to be contacted outlives the
    # address and the team does not contact them again if it is typed or imported anew.
    panel = PanelMember.objects.filter(Q(user_id__in=users) | Q(email__in=addresses))
    blocks = ContactBlock.objects.filter(email__in=addresses)
    renewals = PanelRenewal.objects.filter(email__in=addresses)  # "keep me" requests
    if team is not None:
        panel, blocks = panel.filter(team=team), blocks.filter(team=team)
        renewals = renewals.filter(team=team)
    count += tombstones.remove(panel)[0]
    contact.suppress(blocks.only("team_id", "email", "reason"))
    count += blocks.delete()[0] + renewals.delete()[0]
    # Webhook bodies that carried their address: redacted in place (sent or still owed).
    hooks = WebhookMessage.objects.all()
    if team is not None:
        hooks = hooks.filter(endpoint__team=team)
    lowered = {a.lower() for a in addresses}
    changed = []
    for message in _mentions(hooks, "payload", addresses).only("pk", "payload"):
        message.payload, was = _redacted(message.payload, lowered)
        if was:
            changed.append(message)
    WebhookMessage.objects.bulk_update(changed, ["payload"])
    count += len(changed)
    # A receiver's error text may quote the body back.
    count += _mentions(hooks, "last_error", addresses).update(last_error=ERASED)
    # API answers kept for retries (a day at most) that showed their address.
    kept = IdempotentRequest.objects.all()
    if team is not None:
        kept = kept.filter(token__team=team)
    count += _mentions(kept, "data", addresses).delete()[0]
    return count


# Forget this person (one team) ----------------------------------------------------------


@transaction.atomic
@tombstones.reason(tombstones.Reason.ERASED)
def forget(*, team: Team, member: PanelMember, actor: User) -> PanelErasure:
    """A team forgets one person of its panel, at their request: their upcoming places in
    the team's events are cancelled (seats to the waitlist, the CANCEL still sent to their
    calendar), then every row of the team's about them goes (registrations, submissions and
    their reviews and tags, invitations, survey answers (an anonymous survey keeps ratings
    and choices, without words), accepted terms, mail, the panel row, do-not-contact
    entries) and webhook
    bodies lose their address. What is recorded names nobody: how many rows, when, who
    acted. The person's own account, and other teams' data, are untouched."""
    from accounts.services import own_addresses

    if not may(actor, "panel.forget", team):
        raise ServiceError(_("Only the team's owners can forget someone."))
    panel.lock(team)
    locked = PanelMember.objects.select_for_update().filter(pk=member.pk, team=team).first()
    if locked is None:
        raise ServiceError(_("This person is not in the team's panel any more."))
    person = locked.user or User.objects.filter(email__iexact=locked.email).first()
    addresses = own_addresses(person) if person else [locked.email.lower()]
    count = 0
    if person is not None:
        theirs = Registration.objects.filter(user=person, session__event__team=team)
        upcoming = theirs.filter(
            status__in=Registration.ACTIVE, session__ends_at__gt=timezone.now()
        ).order_by("session_id", "pk")
        for registration in upcoming:
            registration_service.cancel(registration=registration, actor=actor, by_organizer=True)
        keep_cancels(
            Notification.objects.filter(recipient=person).filter(_team_of_notification(team)),
            account_deleted=False,
        )
    count += erase(addresses=addresses, user=person, actor=actor, team=team)
    if person is not None:
        # Their places last: the mail about them went above, the CANCELs are kept. Their
        # acceptances of the team's confidentiality terms go too: the team forgets them whole.
        theirs = Registration.objects.filter(user=person, session__event__team=team)
        count += tombstones.remove(theirs)[0]
        count += TermsAcceptance.objects.filter(user=person, event__team=team).delete()[0]
    record = PanelErasure.objects.create(team=team, forgotten_by=actor, rows=count)
    # Who forgot someone, and how many rows went: never who was forgotten.
    audit.record(
        actor=actor,
        action="panel.person_forgotten",
        team=team,
        target=record,
        summary={"rows": count},
    )
    return record
