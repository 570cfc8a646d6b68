from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from events.services import ServiceError, teams


class Command(BaseCommand):
    help = "Create a team with its first owner (by email): how staff create teams in production."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("owner_email", help="The first owner; they need an account.")
        parser.add_argument("--slug", default="", help="Short name (default: from the name).")
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--language", default="en", choices=["en", "fr"])

    def handle(self, *args, name: str, owner_email: str, **options) -> None:
        owner = User.objects.filter(email__iexact=owner_email.strip()).first()
        if owner is None:
            raise CommandError(f"No user with the email {owner_email!r}.")
        try:
            team = teams.create_team(
                actor=owner,
                name=name,
                slug=options["slug"],
                timezone=options["timezone"],
                language=options["language"],
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            self.style.SUCCESS(f"Team {team.name} ({team.slug}) created; {owner.email} owns it.")
        )
