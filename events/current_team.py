"""Which of their teams an organizer is looking at: the organizer area shows one team at a
time. The choice is remembered in the session; a team the person has since left (or was
removed from) is forgotten on their next request."""

from django.http import HttpRequest

from . import permissions
from .models import Team

SESSION_KEY = "manage_team"


def teams(request: HttpRequest) -> list[Team]:
    """The teams the viewer belongs to (staff: every team), by name."""
    return list(permissions.teams_for(request.user, "manage.open").order_by("name", "pk"))


def current(request: HttpRequest, among: list[Team] | None = None) -> Team | None:
    """The team the viewer last chose, if they are still in it; else their first team."""
    among = teams(request) if among is None else among
    chosen = request.session.get(SESSION_KEY)
    for team in among:
        if team.pk == chosen:
            return team
    return among[0] if among else None


def remember(request: HttpRequest, team: Team) -> None:
    request.session[SESSION_KEY] = team.pk
