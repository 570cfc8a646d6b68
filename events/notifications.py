"""The outbox: what the system owes to whom. Rows are written inside the caller's transaction;
the notifications issue's delivery task turns them into mail."""

from django.db import transaction

from .models import Notification, Registration, Session


def queue(
    *,
    kind: str,
    user,
    version: str | int,
    registration: Registration | None = None,
    session: Session | None = None,
    payload: dict | None = None,
) -> Notification:
    """Owe one email. The key makes it owed once: queueing the same thing again is a no-op."""
    assert transaction.get_connection().in_atomic_block, "queue inside the change's transaction"
    session = session or (registration.session if registration else None)
    subject = f"reg{registration.pk}" if registration else f"session{session.pk}"
    key = f"{kind}:{subject}:user{user.pk}:{version}"
    notification, _ = Notification.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "recipient": user,
            "email": user.email,
            "registration": registration,
            "session": session,
            "payload": payload or {},
        },
    )
    return notification
