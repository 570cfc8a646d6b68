"""What the invitation tests share: building batches through the service, reading a page's
messages, and a snapshot of everything an invitation link could change."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.messages import get_messages
from django.urls import reverse

from events.invite_parsing import Row
from events.models import Invitation, Notification, Registration, Session, TermsAcceptance
from events.services import invitations as service
from tests.factories import organizer_of


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def rows(*emails: str) -> list[Row]:
    return [Row(line=n, email=email) for n, email in enumerate(emails, start=1)]


def invite(target: Session | None = None, *emails: str, event=None, **options) -> list[Invitation]:
    """Invite `emails` to a session (or, with `event` and no session, to the whole event)."""
    event = event or target.event
    return service.create_batch(
        event=event,
        session=target,
        rows=rows(*emails),
        actor=organizer_of(event),
        **options,
    )


def invite_one(target: Session | None = None, email: str = "ann@example.com", **options):
    [invitation] = invite(target, email, **options)
    return invitation


def token(invitation: Invitation) -> str:
    invitation.refresh_from_db()
    return service.token_for(invitation)


def invitation_at(url: str) -> Invitation | None:
    """The invitation a link opens. Tokens carry the time they were signed, so two links to
    one invitation may differ: compare what they open, not their text."""
    prefix = reverse("events:invitation", args=["TOKEN"]).split("TOKEN")[0]
    path = urlsplit(url).path
    assert path.startswith(prefix), url
    assert path.endswith("/"), url
    return service.from_token(path[len(prefix) : -1])


def fresh(instance):
    instance.refresh_from_db()
    return instance


@dataclass(frozen=True)
class State:
    """Everything an invitation link could change."""

    invitations: tuple
    seats_taken: tuple
    registrations: tuple
    notifications: int
    terms: int


def state() -> State:
    return State(
        invitations=tuple(
            Invitation.objects.order_by("pk").values_list(
                "pk",
                "status",
                "seat_held",
                "nonce",
                "expires_at",
                "responded_at",
                "remind_at",
                "registration",
            )
        ),
        seats_taken=tuple(Session.objects.order_by("pk").values_list("pk", "seats_taken")),
        registrations=tuple(Registration.objects.order_by("pk").values_list("pk", "status")),
        notifications=Notification.objects.count(),
        terms=TermsAcceptance.objects.count(),
    )
