"""Who may do what to which organizer object: the one place that answers it.

Every organizer page asks here, by naming what it is about to do ("event.edit",
"attendance.check_in", "call.review", ...) and the object it does it to:

- `may(user, action, obj=None)` answers yes or no;
- `permitted(user, queryset, action)` narrows a queryset to the objects the user may act on;
- `teams_for(user, action)` lists the teams in which the user may take an action;
- the `get_..._or_404` loaders fetch one object, or raise 404 for anyone who may not act on
  it: a 404, never a 403 that would confirm the object exists;
- `@organizer_required` keeps everyone who is in no team out of the organizer pages.

The rule: every event and open call belongs to one team, and what a member may do to it and
to what hangs off it (sessions, registrations, invitations, messages, surveys, submissions)
is what their role in that team allows (ROLE_ACTIONS). Staff may do anything. Membership is
read on every request, so removing a member takes effect on their next one.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404

from accounts.http import AuthenticatedRequest
from accounts.models import User

from .models import (
    Draw,
    Event,
    Invitation,
    Membership,
    Notification,
    OpenCall,
    PanelAttribute,
    PanelMember,
    Registration,
    Role,
    Segment,
    Session,
    Submission,
    Survey,
    SurveyRecipient,
    Team,
    TeamHistory,
    TeamInvitation,
    WebhookEndpoint,
    WebhookMessage,
)

M = TypeVar("M", bound=Model)
R = TypeVar("R", bound=HttpResponseBase)  # a page, a redirect, or a streamed CSV

ACTIONS = frozenset(
    {
        "manage.open",  # the organizer pages at all
        "team.manage",  # the team page: members, roles, invitations, history, settings
        "event.create",  # a new event in the team (obj: the team)
        "call.create",  # a new open call in the team (obj: the team)
        "event.view",  # an event's organizer pages, its attendance and registration lists, exports
        "event.edit",  # the event, its sessions and screening questions
        "registration.review",  # approve, reject, draw, move, confirm registrations
        "attendance.check_in",  # the check-in pages: search, check in, undo, walk-ins, the QR code
        "attendance.correct",  # after the fact: mark someone attended or a no-show
        "invitation.send",  # invite, resend, extend, revoke
        "message.resend",  # send an outbox message again
        "survey.edit",  # the survey's settings, questions and sending
        "survey.results",  # the survey's answers and their export
        "call.view",  # an open call's organizer pages
        "call.edit",  # the call and its questions
        "call.publish",  # put a form that collects people's data in public
        "call.review",  # the pool and its submissions: read, score, note, tag
        "call.export",  # the pool's personal data as a file
        "panel.view",  # the team's panel: people, their attributes and history; segments
        "panel.edit",  # segments, panel attributes, draws from the panel
        "panel.forget",  # erase one person from the team's data, at their request
        "contact.block",  # the team's do-not-contact list
        "audit.view",  # the audit log of organizer actions (the team's, an event's) and its CSV
    }
)

# What each role may do. An owner may do everything; an organizer everything but the team
# itself and its audit log; a reviewer reads and scores the pool (exports only where the team
# allows it, see CONDITIONAL); door staff check people in and nothing else.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.OWNER: ACTIONS,
    # The audit log watches the organizers too: it is the owners' to read.
    Role.ORGANIZER: ACTIONS - {"team.manage", "panel.forget", "audit.view"},
    Role.REVIEWER: frozenset({"manage.open", "call.view", "call.review", "panel.view"}),
    Role.DOOR: frozenset({"manage.open", "attendance.check_in"}),
}

# Actions a role may take only in teams that allow it: (role, action) -> a filter on Team.
CONDITIONAL: dict[tuple[str, str], Q] = {
    (Role.REVIEWER, "call.export"): Q(reviewers_may_export=True),
}

# How to reach the team that owns an object of each model, as a lookup path ("" is the team).
TEAM_PATHS: dict[type[Model], tuple[str, ...]] = {
    Team: ("",),
    Membership: ("team",),
    TeamInvitation: ("team",),
    TeamHistory: ("team",),
    Event: ("team",),
    Session: ("event__team",),
    Registration: ("session__event__team",),
    Invitation: ("event__team",),
    Survey: ("event__team",),
    SurveyRecipient: ("survey__event__team",),
    OpenCall: ("team",),
    Submission: ("call__team",),
    PanelMember: ("team",),
    PanelAttribute: ("team",),
    Segment: ("team",),
    Draw: ("team",),
    WebhookEndpoint: ("team",),
    WebhookMessage: ("endpoint__team",),
    # A message belongs to a session, or (an event-wide invitation) to an event.
    Notification: ("session__event__team", "invitation__event__team"),
}


def _known(action: str) -> None:
    # A misspelt action would silently fall through to the default rule.
    if action not in ACTIONS:
        raise ValueError(f"Unknown action: {action!r}")


def roles_for(action: str) -> list[str]:
    """The roles that may take `action` in every team."""
    _known(action)
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]


def teams_for(user: User | AnonymousUser, action: str) -> QuerySet[Team]:
    """The teams in which `user` may take `action` (every team, for staff)."""
    _known(action)
    if not user.is_authenticated:
        return Team.objects.none()
    if user.is_staff:
        return Team.objects.all()
    allowed = Q(memberships__role__in=roles_for(action))
    for (role, conditional_action), condition in CONDITIONAL.items():
        if conditional_action == action:
            allowed |= Q(memberships__role=role) & condition
    # Both conditions in one filter() refer to the same membership row: the viewer's own.
    return Team.objects.filter(allowed, memberships__user=user).distinct()


def role_in(user: User | AnonymousUser, team: Team) -> str | None:
    """The user's role in `team`, or None."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(team=team, user=user).values_list("role", flat=True).first()


def may(user: User | AnonymousUser, action: str, obj: Model | None = None) -> bool:
    """Whether `user` may take `action`: on `obj` when the action is about one object, else
    in at least one of their teams."""
    _known(action)
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    if obj is None:
        return teams_for(user, action).exists()
    return permitted(user, type(obj)._default_manager.filter(pk=obj.pk), action).exists()


def permitted(user: User | AnonymousUser, queryset: QuerySet[M], action: str) -> QuerySet[M]:
    """`queryset` narrowed to the objects `user` may take `action` on."""
    _known(action)
    if not user.is_authenticated:
        return queryset.none()
    if user.is_staff:
        return queryset
    teams = teams_for(user, action).values("pk")
    allowed = Q()
    for path in TEAM_PATHS[queryset.model]:
        allowed |= Q(**{f"{path}__in" if path else "pk__in": teams})
    return queryset.filter(allowed)


def sees_all(user: User | AnonymousUser) -> bool:
    """Whether lists about people (attendance histories, say) show every event, not only the
    viewer's own: staff do."""
    return bool(user.is_staff)


def organizer_required(view: Callable[..., R]) -> Callable[..., R]:
    """Logged in and a member of a team (or staff); others get a 404."""

    @wraps(view)
    @login_required
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> R:
        if not may(request.user, "manage.open"):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def get_or_404(request: HttpRequest, queryset: QuerySet[M], action: str, **lookup: Any) -> M:
    """One object of `queryset` the viewer may take `action` on; 404 otherwise."""
    return get_object_or_404(permitted(request.user, queryset, action), **lookup)


def get_team_or_404(request: HttpRequest, slug: str, action: str) -> Team:
    return get_or_404(request, Team.objects.all(), action, slug=slug)


def get_event_or_404(request: HttpRequest, pk: int, action: str) -> Event:
    return get_or_404(request, Event.objects.all(), action, pk=pk)


def get_session_or_404(request: HttpRequest, pk: int, action: str) -> Session:
    return get_or_404(request, Session.objects.select_related("event"), action, pk=pk)


def get_registration_or_404(request: HttpRequest, pk: int, action: str) -> Registration:
    registrations = Registration.objects.select_related("user", "session__event")
    return get_or_404(request, registrations, action, pk=pk)


def get_survey_or_404(request: HttpRequest, event_pk: int, action: str) -> Survey:
    """The survey of an event (404 also when the event has none yet)."""
    event = get_event_or_404(request, event_pk, action)
    survey = get_object_or_404(Survey.objects.select_related("questionnaire"), event=event)
    survey.event = event
    return survey


def get_call_or_404(request: HttpRequest, pk: int, action: str) -> OpenCall:
    return get_or_404(request, OpenCall.objects.select_related("questionnaire"), action, pk=pk)


def get_questionnaire_owner_or_404(
    request: HttpRequest, questionnaire_id: int
) -> Survey | OpenCall | Event:
    """The survey, open call or event (its screening questions) that owns a questionnaire, if
    the viewer may edit it (its questions are part of it: "survey.edit", "call.edit",
    "event.edit"); 404 otherwise."""
    survey = Survey.objects.filter(questionnaire_id=questionnaire_id).first()
    if survey is not None:
        survey.event = get_event_or_404(request, survey.event_id, "survey.edit")
        return survey
    event = Event.objects.filter(screening_id=questionnaire_id).first()
    if event is not None:
        return get_event_or_404(request, event.pk, "event.edit")
    call = OpenCall.objects.filter(questionnaire_id=questionnaire_id).first()
    if call is None:
        raise Http404
    return get_call_or_404(request, call.pk, "call.edit")
