from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Give a user (by email) the organizer role, or take it away with --remove."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")
        parser.add_argument("--remove", action="store_true", help="Take the organizer role away.")

    def handle(self, *args, email: str, remove: bool, **options) -> None:
        try:
            user = User.objects.get(email__iexact=email.strip())
        except User.DoesNotExist:
            raise CommandError(f"No user with the email {email!r}.") from None
        services.set_organizer(user=user, is_organizer=not remove)
        state = "no longer an organizer" if remove else "an organizer"
        self.stdout.write(self.style.SUCCESS(f"{user.email} is now {state}."))
