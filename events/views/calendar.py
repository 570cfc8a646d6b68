"""Calendar files and feeds: one session's .ics, a private feed per person (secret token in
the URL, resettable), and a public feed per public event."""

import dataclasses
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseGone
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from accounts.http import AuthenticatedRequest
from accounts.middleware import prefer_team_language, supported
from accounts.models import User

from .. import ics
from ..messages.registrations import calendar_rsvp, registration_occurrence
from ..models import Event, Registration, Session
from ..outbox.rendering import absolute, organizer
from ..ratelimit import by_ip, rate_limit
from ..services import registration as registration_service

ICS_TYPE = "text/calendar; charset=utf-8"
# How long the public feed of a cancelled or unpublished event still answers, with its
# sessions cancelled, so that subscribed calendars (which poll every hour or so, some only
# daily) learn of it before the feed goes away.
WITHDRAWN_FEED_DAYS = 30


def _ics_response(data: bytes, filename: str, *, private: bool) -> HttpResponse:
    response = HttpResponse(data, content_type=ICS_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Private calendars must not sit in shared caches.
    response["Cache-Control"] = "private, no-store" if private else "public, max-age=300"
    return response


@login_required
@require_GET
def invite_ics(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """One confirmed session as an .ics file: the emailed invite itself (see ics.invite)."""
    registration = get_object_or_404(
        Registration.objects.select_related("session__event"),
        pk=pk,
        user=request.user,
        status=Registration.Status.CONFIRMED,
    )
    data = ics.invite(
        registration_occurrence(registration),
        organizer=organizer(registration.calendar_organizer),
        attendee=(request.user.email, request.user.name),
        rsvp=calendar_rsvp(registration),
    )
    # A REQUEST now in their hands: a later CANCEL must remove what it adds.
    registration_service.note_calendar_download(registration=registration)
    return _ics_response(data, f"session-{registration.session_id}.ics", private=True)


def feed_budget(request: HttpRequest) -> str:
    """Whose budget a feed request spends. A real feed has its own: calendar services poll
    from shared addresses, so a budget per address let one person's feed use up another's.
    A wrong token spends the caller's address's, so guessing tokens stays slow."""
    match = request.resolver_match  # set for every request routed to a view
    # (A NUL in the token never gets here: config.security.RefuseNulBytes answers it.)
    token = match.kwargs["token"] if match else ""
    owner = User.objects.filter(calendar_token=token, is_active=True).values_list("pk")[:1]
    return f"user{owner[0][0]}" if owner else by_ip(request)


@require_GET
@rate_limit("feed", per_minute=60, methods=("GET",), key=feed_budget)
def user_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A person's confirmed sessions, to subscribe to from any calendar app. The token is the
    only key: it is long, random and resettable from the profile page."""
    user = User.objects.filter(calendar_token=token, is_active=True).first()
    if user is None:
        raise Http404
    # A calendar app asks with no cookie and rarely a language: the feed is its owner's, so it
    # is written in their language.
    if supported(user.language):
        translation.activate(supported(user.language))
    registrations = (
        Registration.objects.filter(user=user, status=Registration.Status.CONFIRMED)
        .exclude(session__status=Session.Status.CANCELLED)
        .select_related("session__event")
        .order_by("session__starts_at")
    )
    data = ics.feed(
        [registration_occurrence(r) for r in registrations],
        organizer=organizer(),
        name=_("My sessions · %(site)s") % {"site": organizer().name},
    )
    return _ics_response(data, "my-sessions.ics", private=True)


@require_GET
def event_feed(request: HttpRequest, pk: int) -> HttpResponse:
    """A public event's sessions (times only: the place is for confirmed attendees).

    Once the event is cancelled or unpublished the feed goes on for WITHDRAWN_FEED_DAYS with
    every session it had still to come shown cancelled, so subscribers see the entries
    cancelled instead of a feed that vanished; after that it is 410 Gone."""
    event = get_object_or_404(Event, pk=pk, visibility=Event.Visibility.PUBLIC)
    if event.registration_mode == Event.Mode.INVITATION:
        raise Http404
    prefer_team_language(request, event.team.language)
    withdrawn = event.withdrawn_at if event.status != Event.Status.PUBLISHED else None
    if event.status != Event.Status.PUBLISHED and withdrawn is None:
        raise Http404  # never published (or withdrawn before this was recorded)
    if withdrawn and timezone.now() - withdrawn > timedelta(days=WITHDRAWN_FEED_DAYS):
        return HttpResponseGone(_("This event was cancelled or withdrawn."))
    url = absolute(reverse("events:detail", args=[event.pk]))
    items = []
    for session in event.sessions.all():
        item = ics.occurrence(session, url=url, sequence=session.sequence, with_place=False)
        if withdrawn and session.ends_at > withdrawn:
            # Sessions of an unpublished event are not cancelled one by one; unpublishing
            # raised their SEQUENCE, so this version is newer than the one subscribers hold.
            item = dataclasses.replace(item, cancelled=True)
        items.append(item)
    data = ics.feed(items, organizer=organizer(), name=event.shown_title)
    return _ics_response(data, f"event-{event.pk}.ics", private=False)


@login_required
@require_POST
def reset_feed_token(request: AuthenticatedRequest) -> HttpResponse:
    account_services.reset_calendar_token(user=request.user)
    messages.success(
        request, _("Your calendar feed has a new address; the old one no longer works.")
    )
    return redirect("accounts:profile")
