"""Who may do what to which organizer object: the one place that answers it.

Every organizer page asks here, by naming what it is about to do ("event.edit",
"attendance.check_in", "call.review", ...) and the object it does it to:

- `may(user, action, obj=None)` answers yes or no;
- `permitted(user, queryset, action)` narrows a queryset to the objects the user may act on;
- the `get_..._or_404` loaders fetch one object, or raise 404 for anyone who may not act on
  it: a 404, never a 403 that would confirm the object exists;
- `@organizer_required` keeps everyone who organizes nothing out of the organizer pages.

Today's rule is simple: staff may do anything; an organizer of an event (or of an open call)
may do anything to it and to what hangs off it (sessions, registrations, invitations, messages,
its survey); creating an event or a call, and publishing a call, also take the organizer flag.
The actions are named anyway so that team roles (owner, organizer, reviewer, door staff) can
later give each role a subset without touching a page.
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
    Event,
    Invitation,
    Notification,
    OpenCall,
    Registration,
    Session,
    Submission,
    Survey,
    SurveyRecipient,
)

M = TypeVar("M", bound=Model)
R = TypeVar("R", bound=HttpResponseBase)  # a page, a redirect, or a streamed CSV

# Actions that only people with the organizer flag (or staff) may take. A co-organizer added to
# someone else's event opens the organizer pages and helps there, but does not start events or
# public forms of their own, nor put a form that collects people's data in public.
FLAG_ACTIONS = frozenset({"event.create", "call.create", "call.publish"})

ACTIONS = FLAG_ACTIONS | {
    "manage.open",  # the organizer pages at all
    "event.view",  # an event's organizer pages, its attendance and registration lists, exports
    "event.edit",  # the event, its sessions, organizers and screening questions
    "registration.review",  # approve, reject, draw, move, confirm registrations
    "attendance.check_in",  # check people in, walk-ins, the QR code
    "invitation.send",  # invite, resend, extend, revoke
    "message.resend",  # send an outbox message again
    "survey.edit",  # the survey's settings, questions and sending
    "survey.results",  # the survey's answers and their export
    "call.view",  # an open call's organizer pages
    "call.edit",  # the call, its questions and organizers
    "call.review",  # the pool: reviews, tags, exports, inviting from it
}

# How to reach the people who organize an object of each model, as a queryset filter.
ORGANIZERS: dict[type[Model], Callable[[User], Q]] = {
    Event: lambda user: Q(organizers=user),
    Session: lambda user: Q(event__organizers=user),
    Registration: lambda user: Q(session__event__organizers=user),
    Invitation: lambda user: Q(event__organizers=user),
    Survey: lambda user: Q(event__organizers=user),
    SurveyRecipient: lambda user: Q(survey__event__organizers=user),
    OpenCall: lambda user: Q(organizers=user),
    Submission: lambda user: Q(call__organizers=user),
    # A message belongs to a session, or (an event-wide invitation) to an event.
    Notification: lambda user: (
        Q(session__event__organizers=user) | Q(invitation__event__organizers=user)
    ),
}


def _known(action: str) -> None:
    # A misspelt action would silently fall through to the default rule.
    if action not in ACTIONS:
        raise ValueError(f"Unknown action: {action!r}")


def has_organizer_flag(user: User | AnonymousUser) -> bool:
    """May create events and calls: the organizer flag, or staff."""
    return bool(user.is_authenticated and (user.is_organizer or user.is_staff))


def _opens_organizer_pages(user: User | AnonymousUser) -> bool:
    # Organizers, staff, and co-organizers added to an event without the flag.
    return has_organizer_flag(user) or bool(
        user.is_authenticated and user.organized_events.exists()
    )


def may(user: User | AnonymousUser, action: str, obj: Model | None = None) -> bool:
    """Whether `user` may take `action`, on `obj` when the action is about one object."""
    _known(action)
    if not user.is_authenticated:
        return False
    if action == "manage.open":
        return _opens_organizer_pages(user)
    if action in FLAG_ACTIONS and not has_organizer_flag(user):
        return False
    if obj is None or user.is_staff:
        return True
    return permitted(user, type(obj)._default_manager.filter(pk=obj.pk), action).exists()


def permitted(user: User | AnonymousUser, queryset: QuerySet[M], action: str) -> QuerySet[M]:
    """`queryset` narrowed to the objects `user` may take `action` on."""
    _known(action)
    if not user.is_authenticated:
        return queryset.none()
    if action in FLAG_ACTIONS and not has_organizer_flag(user):
        return queryset.none()
    if user.is_staff:
        return queryset
    rows = queryset.filter(ORGANIZERS[queryset.model](user))
    # Two paths to the organizers can match one row twice.
    return rows.distinct() if queryset.model is Notification else rows


def sees_all(user: User | AnonymousUser) -> bool:
    """Whether lists about people (attendance histories, say) show every event, not only the
    viewer's own: staff do."""
    return bool(user.is_staff)


def organizer_required(view: Callable[..., R]) -> Callable[..., R]:
    """Logged in and an organizer (or staff, or co-organizer of an event); others get a 404."""

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
