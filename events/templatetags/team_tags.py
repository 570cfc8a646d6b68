"""What the organizer pages ask about teams in their templates."""

from django import template

from ..services import teams

register = template.Library()


@register.filter
def may_create_team(user) -> bool:
    """Whether `user` may create a team (TEAM_CREATION; teams.may_create_team)."""
    return teams.may_create_team(user)
