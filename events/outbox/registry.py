"""The kinds of message the outbox knows, each registered by the domain that owes it.

A domain hands the outbox what only it knows about its messages (how to fill the template,
whether the news is still true, what to record once it is sent) by registering the kind when
the app starts (`EventsConfig.ready`), as Django's admin and system checks are registered. The
outbox then calls the domain through these callables, never by importing it.

Programme mail (what a team sends to people it wants to hear from: invitations, surveys, their
reminders) differs from transactional mail (news of a seat someone holds, of their own
submission) in one rule, kept here and in delivery.py for every kind alike: it carries an
unsubscribe link and its List-Unsubscribe headers, and it never goes to an address on the
sending team's do-not-contact list, checked just before it leaves. A kind says it is programme
mail by naming, for a row, the team it is sent for (`programme`); the domain that keeps the
do-not-contact list hands the registry its check and its link (`set_do_not_contact`).

Every message is written in its recipient's language, whoever caused it (`language_of`): an
account holder's own choice first, then what the kind knows (the language an invitee used on
our pages, the one a submission was written in, the team's default), else the site's.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_noop

from ..models.notification import Notification

# (file name, content, MIME type)
Attachment = tuple[str, bytes, str]


@dataclass(frozen=True)
class MessageKind:
    """What the outbox needs to know about one kind of message."""

    name: str
    # Adds what the kind's templates use to the common context (recipient, session, event,
    # links). Runs at sending time, so links and deadlines are the current ones.
    context: Callable[[Notification, dict], None] | None = None
    # Why the message is no longer worth sending ('' when it is): it is then skipped, with
    # that reason shown to organizers. Stored in English, marked with gettext_noop, so a page
    # can show it in its reader's language (`{% translate row.last_error %}`).
    still_relevant: Callable[[Notification], str] | None = None
    # The iTIP method (ics.REQUEST or ics.CANCEL) of the calendar part its messages may carry.
    calendar: str | None = None
    # select_related paths the kind's context reads (one join, not a query per message).
    related: tuple[str, ...] = ()
    # Loads, for a batch of rows of this kind, the related rows they need in a query or two,
    # and attaches them. Kinds sharing one function are loaded together.
    prefetch: Callable[[list[Notification]], None] | None = None
    # Files to attach (after the calendar part); may add flags to the context for the
    # templates to mention them.
    attachments: Callable[[Notification, dict], list[Attachment]] | None = None
    # Called once the message has left, with the time it left.
    on_sent: Callable[[Notification, datetime], None] | None = None
    # Programme mail only (None: transactional): the id of the team a row is sent for, whose
    # do-not-contact list it obeys and whose unsubscribe link it carries.
    programme: Callable[[Notification], int] | None = None
    # The language a row's recipient reads when they have no account with a language of its
    # own ('' when the kind knows none): what they used on our pages, else their team's default.
    language: Callable[[Notification], str] | None = None
    template: str = field(default="")

    @property
    def template_base(self) -> str:
        return f"emails/{self.template or self.name}"


@dataclass(frozen=True)
class WebhookEvent:
    """What the outbox needs to know about one type of webhook event."""

    name: str  # "registration.confirmed"
    description: Any  # one line on the endpoint form (a lazy translation)
    # The lookup (WebhookEndpoint.objects.filter(**lookup)) of the team whose endpoints hear
    # about `about`, the object the event is about: {"team_id": 3}, or a path to the team
    # through what `about` names ({"team__events__sessions": 12}), so that finding the
    # endpoints is one query whatever is loaded.
    team: Callable[[Any], dict]
    # The event's `data`: ids and the fields an integrator needs, decided when it happens.
    data: Callable[[Any], dict]


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, MessageKind] = {}
        self._webhook_events: dict[str, WebhookEvent] = {}
        self._endpoint_disabled: Callable[[Any], object] | None = None
        self._calendar_sources: list[Callable[[set[int]], Iterable[int]]] = []
        self._blocked: Callable[[int, str], bool] | None = None
        self._unsubscribe_url: Callable[[int, str], str] | None = None

    def set_do_not_contact(
        self, *, blocked: Callable[[int, str], bool], unsubscribe_url: Callable[[int, str], str]
    ) -> None:
        """How programme mail asks whether a team may mail an address (`blocked(team id,
        email)`), and the link that takes the address off the team's mail."""
        self._blocked, self._unsubscribe_url = blocked, unsubscribe_url

    def _contact_rules(self) -> tuple[Callable[[int, str], bool], Callable[[int, str], str]]:
        if self._blocked is None or self._unsubscribe_url is None:
            # Programme mail is never sent unchecked: better no mail than mail to someone who
            # asked for none.
            raise ImproperlyConfigured("Programme mail needs set_do_not_contact() first.")
        return self._blocked, self._unsubscribe_url

    def do_not_contact(self, kind: MessageKind, notification: Notification) -> str:
        """Why this row may not be sent to its address ('' when it may): programme mail to
        someone who unsubscribed from the team, or whom the team blocked. Nothing overrides
        it, not even an organizer's "send again"."""
        if kind.programme is None:
            return ""
        blocked, _link = self._contact_rules()
        if blocked(kind.programme(notification), notification.email):
            return gettext_noop("They unsubscribed from the team's mail, or the team blocked them.")
        return ""

    def unsubscribe_url(self, kind: MessageKind, notification: Notification) -> str:
        """The unsubscribe link of a programme message ('' for transactional mail)."""
        if kind.programme is None:
            return ""
        _blocked, link = self._contact_rules()
        return link(kind.programme(notification), notification.email)

    def language_of(self, kind: MessageKind, notification: Notification) -> str:
        """The language a row is written in: the account holder's own choice, else what the
        kind knows of the recipient (or their team), else the site's default. Never the
        language of whoever caused the message (an organizer moving a session writes to each
        attendee in theirs)."""
        recipient = notification.recipient
        candidates = [recipient.language if recipient is not None else ""]
        if kind.language is not None:
            candidates.append(kind.language(notification))
        for code in candidates:
            if code and (found := _known_language(code)):
                return found
        return settings.LANGUAGE_CODE

    def add_calendar_source(self, source: Callable[[set[int]], Iterable[int]]) -> None:
        """A domain's other way into someone's calendar than an emailed invite (the .ics they
        downloaded): `source(registration ids)` gives those it put an entry in, which a CANCEL
        must then remove."""
        self._calendar_sources.append(source)

    def in_calendar_otherwise(self, registrations: set[int]) -> set[int]:
        return {pk for source in self._calendar_sources for pk in source(registrations)}

    def register(self, name: str, **options) -> MessageKind:
        if name in self._kinds:
            raise ImproperlyConfigured(f"The message kind {name!r} is registered twice.")
        kind = self._kinds[name] = MessageKind(name=str(name), **options)
        return kind

    def register_many(self, names: Iterable[str], **options) -> None:
        for name in names:
            self.register(name, **options)

    def get(self, name: str) -> MessageKind:
        try:
            return self._kinds[name]
        except KeyError:
            raise LookupError(f"No message kind {name!r} is registered.") from None

    def __contains__(self, name: str) -> bool:
        return name in self._kinds

    def related(self) -> list[str]:
        """Every select_related path some kind reads, for loading rows of any kind at once."""
        return sorted({path for kind in self._kinds.values() for path in kind.related})

    def prefetch(self, rows: list[Notification]) -> None:
        """Attach what each row's kind needs, a query (or two) per kind of related row."""
        groups: dict[Callable, list[Notification]] = {}
        for row in rows:
            kind = self._kinds.get(row.kind)
            if kind is not None and kind.prefetch is not None:
                groups.setdefault(kind.prefetch, []).append(row)
        for load, group in groups.items():
            load(group)

    def register_webhook(
        self,
        name: str,
        *,
        description: Any,
        team: Callable[[Any], dict],
        data: Callable[[Any], dict],
    ) -> None:
        if name in self._webhook_events:
            raise ImproperlyConfigured(f"The webhook event {name!r} is registered twice.")
        self._webhook_events[name] = WebhookEvent(name, description, team, data)

    def webhook_event(self, name: str) -> WebhookEvent:
        try:
            return self._webhook_events[name]
        except KeyError:
            raise LookupError(f"No webhook event {name!r} is registered.") from None

    def webhook_events(self) -> list[WebhookEvent]:
        return list(self._webhook_events.values())

    def on_endpoint_disabled(self, callback: Callable[[Any], object]) -> None:
        """What a domain does when the outbox disables a failing endpoint (tell its owners),
        called inside the transaction that disables it."""
        self._endpoint_disabled = callback

    def endpoint_disabled(self, endpoint: Any) -> None:
        if self._endpoint_disabled is not None:
            self._endpoint_disabled(endpoint)


def _known_language(code: str) -> str:
    """`code` as one of settings.LANGUAGES ('fr-ca' reads French), or '' for a language we
    have no catalogue for."""
    known = {name for name, _label in settings.LANGUAGES}
    code = code.lower()
    if code in known:
        return code
    base = code.split("-")[0]
    return base if base in known else ""


# The registry every domain registers with at app start.
kinds = Registry()
