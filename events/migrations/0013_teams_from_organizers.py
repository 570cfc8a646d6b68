"""Every existing event and open call moves into a team made of its current organizers: one
team per distinct set of organizers, named after its first event (or call), with those
organizers as owners. A person who had the organizer flag but organized nothing gets a team of
their own, so they can still create events. Nothing else changes: no event, call, registration
or review is touched beyond its new team."""

from django.db import migrations
from django.utils.text import slugify


def _unique_slug(Team, name: str, taken: set[str]) -> str:
    base = (slugify(name) or "team")[:40].strip("-") or "team"
    slug, n = base, 1
    while slug in taken or Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


def forwards(apps, schema_editor):
    Team = apps.get_model("events", "Team")
    Membership = apps.get_model("events", "Membership")
    TeamHistory = apps.get_model("events", "TeamHistory")
    Event = apps.get_model("events", "Event")
    OpenCall = apps.get_model("events", "OpenCall")
    User = apps.get_model("accounts", "User")

    teams: dict[frozenset[int], object] = {}
    taken: set[str] = set()

    def team_for(organizer_ids: frozenset[int], name: str, timezone: str):
        team = teams.get(organizer_ids)
        if team is None:
            team = Team.objects.create(
                name=name[:100], slug=_unique_slug(Team, name, taken), timezone=timezone
            )
            teams[organizer_ids] = team
            for user in User.objects.filter(pk__in=organizer_ids).order_by("pk"):
                Membership.objects.create(team=team, user=user, role="owner")
                TeamHistory.objects.create(
                    team=team, actor=None, action="added", subject_email=user.email, role="owner"
                )
        return team

    for event in Event.objects.order_by("created_at", "pk"):
        ids = frozenset(event.organizers.values_list("pk", flat=True))
        team = team_for(ids, event.title, event.timezone)
        Event.objects.filter(pk=event.pk).update(team=team)
    for call in OpenCall.objects.order_by("created_at", "pk"):
        ids = frozenset(call.organizers.values_list("pk", flat=True))
        first = User.objects.filter(pk__in=ids).order_by("pk").first()
        team = team_for(ids, call.title, first.timezone if first else "UTC")
        OpenCall.objects.filter(pk=call.pk).update(team=team)

    # Flagged organizers who organized nothing yet keep the right to start events.
    for user in User.objects.filter(is_organizer=True, memberships__isnull=True).order_by("pk"):
        name = f"{user.display_name or user.email.split('@')[0]}'s team"
        team_for(frozenset({user.pk}), name, user.timezone)


def backwards(apps, schema_editor):
    # Owners and organizers of a team become the organizers of its events and calls again.
    Event = apps.get_model("events", "Event")
    OpenCall = apps.get_model("events", "OpenCall")
    User = apps.get_model("accounts", "User")
    runners = ("owner", "organizer")
    for model in (Event, OpenCall):
        for obj in model.objects.exclude(team=None):
            obj.organizers.set(
                User.objects.filter(
                    memberships__team_id=obj.team_id, memberships__role__in=runners
                )
            )
    User.objects.filter(memberships__role__in=runners).update(is_organizer=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_cache_table"),
        ("events", "0012_teams"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
