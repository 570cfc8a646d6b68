import time

from django.core.management.base import BaseCommand, CommandError

from events.models import Team
from events.services import panel


class Command(BaseCommand):
    help = (
        "Rebuild the panel of every team (or of one, --team slug) from its source rows: what "
        "the hourly beat task does, at once (after a restore, or an import made with SQL)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", default="", help="The team's short name (default: all).")

    def handle(self, *args, team: str, **options) -> None:
        teams = Team.objects.all()
        if team:
            teams = teams.filter(slug=team)
            if not teams.exists():
                raise CommandError(f"No team with the short name {team!r}.")
        began = time.perf_counter()
        written = panel.rebuild_all(teams=teams)
        self.stdout.write(
            self.style.SUCCESS(
                f"{written:,} panel rows written in {time.perf_counter() - began:.1f} s."
            )
        )
