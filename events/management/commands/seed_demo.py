from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed on purpose: local demo only
DEMO_USERS = [
    ("organizer@example.com", "Olga Organizer", User.Role.OTHER, True),
    ("ada@example.com", "Ada Lovelace", User.Role.DEVELOPER, False),
    ("grace@example.com", "Grace Hopper", User.Role.RESEARCHER, False),
    ("linus@example.com", "Linus Community", User.Role.COMMUNITY, False),
]


class Command(BaseCommand):
    help = "Seed a small demo (an organizer, a few developers); safe to run again."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for email, name, role, organizer in DEMO_USERS:
            user, created = User.objects.get_or_create(
                email=email,
                defaults={"display_name": name, "role": role, "is_organizer": organizer},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, name, _role, organizer in DEMO_USERS:
            self.stdout.write(f"  {email:<26} {name}{' (organizer)' if organizer else ''}")
