"""Calendar files and feeds: one session's .ics, a private feed per person (secret token in
the URL, resettable), and a public feed per public event."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from accounts.models import User

from .. import emails, ics
from ..models import Event, Registration, Session
from ..ratelimit import by_ip, rate_limit

ICS_TYPE = "text/calendar; charset=utf-8"


def _ics_response(data: bytes, filename: str, *, private: bool) -> HttpResponse:
    response = HttpResponse(data, content_type=ICS_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Private calendars must not sit in shared caches.
    response["Cache-Control"] = "private, no-store" if private else "public, max-age=300"
    return response


@login_required
@require_GET
def invite_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """One confirmed session as an .ics file, same UID as the emailed invite."""
    registration = get_object_or_404(
        Registration.objects.select_related("session__event"),
        pk=pk,
        user=request.user,
        status=Registration.Status.CONFIRMED,
    )
    data = ics.feed(
        [emails.registration_occurrence(registration)],
        organizer=emails.organizer(),
        name=registration.session.event.title,
    )
    return _ics_response(data, f"session-{registration.session_id}.ics", private=True)


@require_GET
@rate_limit("feed", per_minute=60, methods=("GET",), key=by_ip)
def user_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A person's confirmed sessions, to subscribe to from any calendar app. The token is the
    only key: it is long, random and resettable from the profile page."""
    user = User.objects.filter(calendar_token=token, is_active=True).first()
    if user is None:
        raise Http404
    registrations = (
        Registration.objects.filter(user=user, status=Registration.Status.CONFIRMED)
        .exclude(session__status=Session.Status.CANCELLED)
        .select_related("session__event")
        .order_by("session__starts_at")
    )
    data = ics.feed(
        [emails.registration_occurrence(r) for r in registrations],
        organizer=emails.organizer(),
        name=f"My sessions · {emails.organizer().name}",
    )
    return _ics_response(data, "my-sessions.ics", private=True)


@require_GET
def event_feed(request: HttpRequest, pk: int) -> HttpResponse:
    """A public event's sessions (times only: the place is for confirmed attendees)."""
    event = get_object_or_404(
        Event, pk=pk, status=Event.Status.PUBLISHED, visibility=Event.Visibility.PUBLIC
    )
    if event.registration_mode == Event.Mode.INVITATION:
        raise Http404
    url = emails.absolute(reverse("events:detail", args=[event.pk]))
    items = [
        ics.occurrence(s, url=url, sequence=s.sequence, with_place=False)
        for s in event.sessions.all()
    ]
    data = ics.feed(items, organizer=emails.organizer(), name=event.title)
    return _ics_response(data, f"event-{event.pk}.ics", private=False)


@login_required
@require_POST
def reset_feed_token(request: HttpRequest) -> HttpResponse:
    account_services.reset_calendar_token(user=request.user)
    messages.success(request, "Your calendar feed has a new address; the old one no longer works.")
    return redirect("accounts:profile")
