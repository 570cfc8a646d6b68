"""What developers see: the event list, an event, signing up, their sessions, offers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, F, Max, Min, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.http import AuthenticatedRequest
from accounts.middleware import prefer_team_language

from ..forms.public import SignUpForm
from ..models import Event, Registration, Session
from ..permissions import may
from ..ratelimit import rate_limit
from ..services import ServiceError, screening, waitlist
from ..services import registration as registration_service
from ..services import surveys as surveys_service

Status = Registration.Status


def get_visible_event(request: HttpRequest, pk: int) -> Event:
    """An event the viewer may see (see registration.may_see); anything else is a 404, not a
    hint that it exists. Its team comes along: the page reads its default language."""
    return check_visible(request, get_object_or_404(Event.objects.select_related("team"), pk=pk))


def check_visible(request: HttpRequest, event: Event) -> Event:
    if not registration_service.may_see(user=request.user, event=event):
        raise Http404
    return event


# The list's filters name the kinds in the plural ("Feedback sessions"): a plural of its own
# in every language, not the label with an "s".
KIND_FILTERS = {
    Event.Kind.FEEDBACK: gettext_lazy("Feedback sessions"),
    Event.Kind.DEMO: gettext_lazy("Prototype demos"),
}


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    kind = request.GET.get("kind", "")
    kind = kind if kind in Event.Kind.values else ""
    show_past = request.GET.get("past") == "1"
    upcoming = Q(sessions__status=Session.Status.SCHEDULED, sessions__ends_at__gte=now)
    events = (
        Event.objects.filter(status=Event.Status.PUBLISHED, visibility=Event.Visibility.PUBLIC)
        .exclude(registration_mode=Event.Mode.INVITATION)
        .annotate(
            next_start=Min("sessions__starts_at", filter=upcoming),
            last_start=Max("sessions__starts_at"),
            upcoming_sessions=Count("sessions", filter=upcoming),
            seats_left=Sum(F("sessions__capacity") - F("sessions__seats_taken"), filter=upcoming),
        )
    )
    if kind:
        events = events.filter(kind=kind)
    if show_past:
        events = events.filter(last_start__isnull=False).order_by("-last_start", "pk")
    else:
        events = events.filter(next_start__isnull=False).order_by("next_start", "pk")
    page = Paginator(events, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "events/list.html",
        {"page": page, "kind": kind, "show_past": show_past, "kinds": KIND_FILTERS.items()},
    )


@require_GET
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_visible_event(request, pk)
    prefer_team_language(request, event.team.language)
    sessions = list(event.sessions.all())
    mine: dict[int, Registration] = {}
    needs_terms = event.is_confidential
    if request.user.is_authenticated:
        mine = {
            r.session_id: r
            for r in Registration.objects.filter(
                user=request.user, session__event=event
            ).select_related("session__event")
        }
        needs_terms = event.is_confidential and not registration_service.has_accepted_terms(
            user=request.user, event=event
        )
    rows = [(s, mine.get(s.pk)) for s in sessions]
    return render(
        request,
        "events/detail.html",
        {
            "event": event,
            "rows": rows,
            "needs_terms": needs_terms,
            "is_organizer": may(request.user, "event.view", event),
            "now": timezone.now(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("register", per_minute=20)
def register(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET shows what signing up asks (terms, screening questions); POST signs up."""
    if request.method == "GET":
        context = sign_up_context(request, registration_service.session_with_event(pk))
        return render(request, "events/register.html", context)
    try:
        registration = registration_service.sign_up(
            user=request.user, pk=pk, sent=SignUpForm.sent(request.POST)
        )
    except registration_service.SignUpRefused as refusal:
        if refusal.session is None:
            raise Http404 from None
        context = sign_up_context(request, refusal.session, needs_terms=refusal.needs_terms)
        # The form shows the refusal next to the fields it concerns; a refusal it cannot
        # place (the session is full, the terms changed) is said above it.
        if context["form"].is_valid():
            context["refusal"] = refusal.message
        return render(request, "events/register.html", context, status=400)
    if not request.language_chosen:  # type: ignore[attr-defined]
        # Only then is the team's language worth a query on the sign-up path.
        prefer_team_language(request, registration.session.event.team.language)
    messages.success(request, str(SIGNED_UP[Registration.Status(registration.status)]))
    event_pk = registration.session.event_id
    return redirect(f"{reverse('events:detail', args=[event_pk])}#session-{pk}")


def sign_up_context(
    request: AuthenticatedRequest, session: Session | None, *, needs_terms: bool | None = None
) -> dict:
    if session is None:
        raise Http404
    event = check_visible(request, session.event)
    prefer_team_language(request, event.team.language)
    if needs_terms is None:
        needs_terms = event.is_confidential and not registration_service.has_accepted_terms(
            user=request.user, event=event
        )
    questions = screening.asked(event=event) if event.uses_applications else []
    form = SignUpForm(
        request.POST if request.method == "POST" else None,
        event=event,
        needs_terms=needs_terms,
        questions=questions,
    )
    return {"event": event, "session": session, "form": form, "needs_terms": needs_terms}


SIGNED_UP = {
    Status.CONFIRMED: gettext_lazy(
        "You're in: your seat is confirmed. A confirmation with a calendar invite is on its way."
    ),
    Status.WAITLISTED: gettext_lazy(
        "The session is full, so you're on the waitlist. "
        "If a seat frees up, we'll offer it to you by email."
    ),
    Status.APPLIED: gettext_lazy(
        "Your application is in. The organizers will let you know by email."
    ),
}


@login_required
@require_GET
def my_sessions(request: AuthenticatedRequest) -> HttpResponse:
    now = timezone.now()
    registrations = list(
        Registration.objects.filter(user=request.user)
        .select_related("session__event")
        .order_by("session__starts_at", "pk")
    )
    upcoming = [r for r in registrations if r.session.ends_at >= now]
    past = [r for r in registrations if r.session.ends_at < now][::-1]
    # The survey someone can still answer is one click away, beside the session it is about.
    open_surveys = surveys_service.open_for(user=request.user, now=now) if past else {}
    for registration in past:
        recipient = open_surveys.get(registration.session_id)
        if recipient is not None:
            # Set on the row for the template, as the pool page does with its scores.
            registration.survey_link = reverse(  # type: ignore[attr-defined]
                "events:survey", args=[surveys_service.token_for(recipient)]
            )
            registration.survey_answered = recipient.answered_at is not None  # type: ignore[attr-defined]
    return render(
        request, "events/my_sessions.html", {"upcoming": upcoming, "past": past, "now": now}
    )


def _own_registration(request: HttpRequest, pk: int) -> Registration:
    # Another person's registration is a 404: its existence is not ours to reveal.
    return get_object_or_404(
        Registration.objects.select_related("session__event"), pk=pk, user=request.user
    )


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("cancel", per_minute=20)
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """The link in emails opens this page; only its POST cancels (mail scanners follow links)."""
    registration = _own_registration(request, pk)
    if request.method == "POST":
        try:
            registration_service.cancel(registration=registration, actor=request.user)
        except ServiceError as error:
            messages.error(request, error.message)
            return render(request, "events/cancel.html", {"registration": registration}, status=400)
        messages.success(
            request,
            _("Cancelled: %(event)s.") % {"event": registration.session.event.shown_title},
        )
        return redirect("events:my_sessions")
    return render(request, "events/cancel.html", {"registration": registration})


@login_required
@require_http_methods(["GET", "POST"])
@rate_limit("offer", per_minute=20)
def offer(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A waitlist offer: accept or decline. The GET only shows it."""
    registration = _own_registration(request, pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                waitlist.accept_offer(registration=registration, user=request.user)
                messages.success(request, _("The seat is yours: you're confirmed."))
            elif action == "decline":
                waitlist.decline_offer(registration=registration, user=request.user)
                messages.success(request, _("Declined. The seat goes to the next person."))
            else:
                return render(
                    request,
                    "events/offer.html",
                    {"registration": registration, "refusal": _("Choose accept or decline.")},
                    status=400,
                )
        except ServiceError as error:
            registration.refresh_from_db()
            return render(
                request,
                "events/offer.html",
                {"registration": registration, "refusal": error.message},
                status=400,
            )
        return redirect("events:my_sessions")
    return render(request, "events/offer.html", {"registration": registration})
