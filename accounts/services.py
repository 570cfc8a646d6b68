"""State changes of accounts. Views, admin actions and commands call these."""

from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
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
    }
    return data


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Remove a person and their personal data.

    Their email addresses, sessions and social logins go with the user row (cascade); rows
    that others rely on (history entries, events they co-organize) keep working with the
    person detached from them.
    """
    user.delete()
