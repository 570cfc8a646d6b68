"""State changes of accounts. Views, admin actions and commands call these."""

from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from .models import User

PROFILE_FIELDS = (
    "display_name",
    "github_handle",
    "affiliation",
    "role",
    "timezone",
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


def set_organizer(*, user: User, is_organizer: bool = True) -> User:
    user.is_organizer = is_organizer
    user.save(update_fields=["is_organizer"])
    return user


def reset_calendar_token(*, user: User) -> User:
    """A new secret for the private calendar feed; old subscriptions stop working."""
    from .models import new_calendar_token

    user.calendar_token = new_calendar_token()
    user.save(update_fields=["calendar_token"])
    return user


def export_user_data(*, user: User) -> dict[str, Any]:
    """Everything we hold about one person, as JSON-ready data (GDPR access request)."""
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "email": user.email,
            **{name: getattr(user, name) for name in PROFILE_FIELDS},
            "is_organizer": user.is_organizer,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("email")
        ],
        "connected_accounts": [
            {"provider": a.provider, "uid": a.uid, "date_joined": a.date_joined.isoformat()}
            for a in user.socialaccount_set.order_by("provider")
        ],
        "registrations": [
            {
                "event": r.session.event.title,
                "session_starts_at": r.session.starts_at.isoformat(),
                "status": r.status,
                "answers": r.answers,
                "created_at": r.created_at.isoformat(),
                "history": [
                    {"from": c.from_status, "to": c.to_status, "at": c.created_at.isoformat()}
                    for c in r.changes.all()
                ],
            }
            for r in user.registrations.select_related("session__event").prefetch_related("changes")
        ],
        "terms_accepted": [
            {"event": t.event.title, "version": t.version, "at": t.accepted_at.isoformat()}
            for t in user.terms_acceptances.select_related("event")
        ],
        "organized_events": list(user.organized_events.values_list("title", flat=True)),
    }
    return data


def events_only_they_organize(user: User) -> list[str]:
    from events.models import Event

    # Count all organizers first, then keep the user's events (filtering first would count
    # only the user's own row of the join).
    return list(
        Event.objects.annotate(n=Count("organizers"))
        .filter(organizers=user, n=1)
        .exclude(status=Event.Status.CANCELLED)
        .values_list("title", flat=True)
    )


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Remove a person and their personal data.

    Their places are cancelled first through the registration service, so every seat they
    held goes to the next person on the waitlist instead of being lost. An organizer who is
    the only organizer of a live event must hand it over (or cancel it) first. Email
    addresses, social logins and registrations go with the user row; history entries that
    name them as actor keep working with the person detached.
    """
    from events.models import Registration
    from events.services import registration as registration_service

    sole = events_only_they_organize(user)
    if sole:
        raise AccountError(
            "You are the only organizer of: "
            + ", ".join(sole)
            + ". Add another organizer or cancel these events first."
        )
    upcoming = user.registrations.filter(
        status__in=Registration.ACTIVE, session__ends_at__gt=timezone.now()
    )
    for registration in upcoming:
        registration_service.cancel(registration=registration, actor=user)
    user.delete()


class AccountError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
