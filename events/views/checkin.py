"""Attendance pages: the check-in list at the door, the QR code link, walk-ins, the attendance
summaries with corrections, and the CSV export.

The check-in list works without JavaScript (a GET search form, POST buttons that come back to
the list); static/js/checkin.js adds search as you type, one-tap check-in without a reload
(the same POSTs, asking for JSON) and counts polled every few seconds.

Organizer pages load their session, event or registration through the organizer helpers, so
anyone who does not organize the event gets a 404. The QR link is the one GET that acts
(invariant 7's exception), and only for a logged-in organizer of that event: anyone else sees
the same page whatever the code, which tells nothing about it."""

import csv
from collections.abc import Callable
from datetime import datetime
from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from .. import charts
from ..exports import csv_safe, csv_time, yes_no
from ..forms.attendance import WalkInForm
from ..models import Registration, Session
from ..ordering import BY_NAME
from ..permissions import (
    get_event_or_404,
    get_registration_or_404,
    get_session_or_404,
    may,
    organizer_required,
    permitted,
)
from ..ratelimit import rate_limit
from ..services import ServiceError, attendance

Status = Registration.Status


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _search(people: QuerySet, q: str) -> QuerySet:
    if not q:
        return people
    return people.filter(Q(user__display_name__icontains=q) | Q(user__email__icontains=q))


def _door_closed(session: Session) -> str:
    try:
        attendance.check_door_open(session)
    except ServiceError as error:
        return error.message
    return ""


def _render_checkin(
    request: HttpRequest, session: Session, *, q: str, form: WalkInForm | None = None, status=200
) -> HttpResponse:
    people = _search(session.registrations.select_related("user"), q).order_by(BY_NAME, "pk")
    confirmed: list[Registration] = []
    others: list[Registration] = []
    for registration in people:
        (confirmed if registration.status == Status.CONFIRMED else others).append(registration)
    context = {
        "session": session,
        "event": session.event,
        "here": _("Check-in"),
        "q": q,
        "confirmed": confirmed,
        "others": others,
        "counts": attendance.door_counts(session=session),
        "door_closed": _door_closed(session),
        "form": form or WalkInForm(),
        # Door staff check people in and see nothing else: no links to the event's pages.
        "door_only": not may(request.user, "event.view", session.event),
    }
    return render(request, "events/manage/checkin.html", context, status=status)


@organizer_required
@require_GET
def checkin(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "attendance.check_in")
    return _render_checkin(request, session, q=request.GET.get("q", "").strip()[:100])


def _counts(session: Session) -> dict:
    counts = attendance.door_counts(session=session)
    checked = session.registrations.filter(
        status=Status.CONFIRMED, checked_in_at__isnull=False
    ).values_list("pk", "checked_in_at")
    return {
        "expected": counts.expected,
        "checked_in": counts.checked_in,
        "remaining": counts.remaining,
        "walk_ins": counts.walk_ins,
        "seats_left": counts.seats_left,
        # So a second phone at the door sees the first one's check-ins.
        # (checked_in_at is never None here: the query filters on it.)
        "checked_in_ids": {str(pk): attendance.clock(cast(datetime, at)) for pk, at in checked},
    }


@never_cache
@organizer_required
@require_GET
def checkin_counts(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    return JsonResponse(_counts(get_session_or_404(request, pk, "attendance.check_in")))


def _back(request: HttpRequest, registration: Registration) -> str:
    """Where a POST returns to: the page it came from, named, never a URL from the request."""
    target = request.POST.get("back", "checkin")
    if target == "attendance":
        url = reverse("manage:attendance", args=[registration.session_id])
    elif target == "registration":
        return reverse("manage:registration", args=[registration.pk])
    else:
        url = reverse("manage:checkin", args=[registration.session_id])
        q = request.POST.get("q", "").strip()[:100]
        url = f"{url}?{urlencode({'q': q})}" if q else url
    return f"{url}#r{registration.pk}"


def _act(
    request: HttpRequest, registration: Registration, action: Callable[[], attendance.Outcome]
) -> HttpResponse:
    """Run an attendance action; answer JSON to the script, or a message and a redirect."""
    try:
        outcome = action()
    except ServiceError as error:
        if wants_json(request):
            return JsonResponse({"ok": False, "message": error.message}, status=400)
        messages.error(request, error.message)
        return redirect(_back(request, registration))
    if wants_json(request):
        done = outcome.registration
        session = Session.objects.select_related("event").get(pk=done.session_id)
        return JsonResponse(
            {
                "ok": True,
                "changed": outcome.changed,
                "message": outcome.message,
                "registration": {
                    "id": done.pk,
                    "checked_in": done.checked_in_at is not None,
                    "checked_in_at": attendance.clock(done.checked_in_at)
                    if done.checked_in_at
                    else "",
                },
                "counts": _counts(session),
            }
        )
    (messages.success if outcome.changed else messages.info)(request, outcome.message)
    return redirect(_back(request, registration))


@organizer_required
@require_POST
def check_in(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registration = get_registration_or_404(request, pk, "attendance.check_in")
    return _act(
        request,
        registration,
        lambda: attendance.check_in(registration=registration, actor=request.user),
    )


@organizer_required
@require_POST
def undo_check_in(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registration = get_registration_or_404(request, pk, "attendance.check_in")
    return _act(
        request,
        registration,
        lambda: attendance.undo_check_in(registration=registration, actor=request.user),
    )


@organizer_required
@require_POST
def walk_in(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "attendance.check_in")
    q = request.POST.get("q", "").strip()[:100]
    form = WalkInForm(request.POST)
    if not form.is_valid():
        return _render_checkin(request, session, q=q, form=form, status=400)
    try:
        outcome = attendance.add_walk_in(session=session, actor=request.user, **form.cleaned_data)
    except ServiceError as error:
        form.add_error(None, error.message)
        return _render_checkin(request, session, q=q, form=form, status=400)
    (messages.success if outcome.changed else messages.info)(request, outcome.message)
    return redirect(f"{reverse('manage:checkin', args=[session.pk])}#r{outcome.registration.pk}")


def scanned(request: HttpRequest) -> bool:
    """Opened from a scan (a camera app opens the URL with no referring site) or from our own
    pages; not a link on another site that an attendee could get an organizer to follow. Old
    browsers send no Sec-Fetch-Site: they are taken at their word."""
    return request.headers.get("Sec-Fetch-Site", "none") in {"none", "same-origin"}


@never_cache
@require_GET
@rate_limit("checkin-qr", per_minute=120, methods=("GET", "POST"))
def checkin_qr(request: HttpRequest, token: str) -> HttpResponse:
    """The URL in an attendee's QR code. A logged-in organizer of the event who opens it
    checks the person in (the one GET that acts); everyone else gets the same page whatever
    the token, valid or not."""
    if not request.user.is_authenticated:
        return render(request, "events/checkin_code.html", {"login": True})
    registrations = permitted(
        request.user,
        Registration.objects.select_related("user", "session__event"),
        "attendance.check_in",
    )
    registration = registrations.filter(checkin_token=token).first()
    if registration is None:
        return render(request, "events/checkin_code.html", {"login": False}, status=404)
    outcome, refusal = None, ""
    if scanned(request):
        try:
            outcome = attendance.check_in(
                registration=registration, actor=request.user, note="Checked in (QR code)"
            )
        except ServiceError as error:
            refusal = error.message
        else:
            registration = outcome.registration
    session = registration.session
    context = {
        "registration": registration,
        "person": registration.user,
        "session": session,
        "event": session.event,
        "here": _("Scan"),
        "outcome": outcome,
        "refusal": refusal,
        "door_closed": _door_closed(session),
        "counts": attendance.door_counts(session=session),
        "door_only": not may(request.user, "event.view", session.event),
    }
    return render(request, "events/manage/checkin_scan.html", context, status=200)


# Attendance summaries, corrections and export ----------------------------------------------


def session_bars(summary: attendance.Summary) -> list[tuple[str, int, str]]:
    return [
        (_("Registered"), summary.registered, "brand"),
        (_("Attended"), summary.attended, "ok"),
        (_("No-shows"), summary.no_shows, "danger"),
        (_("Not checked in"), summary.not_checked_in, "warn"),
        (_("Cancelled"), summary.cancelled, "muted"),
        (_("Late cancellations"), summary.late_cancellations, "danger-soft"),
    ]


def _people(sessions: QuerySet) -> QuerySet:
    """Everyone who held a confirmed seat (the summary's `registered`), with what the
    listings and the CSV show."""
    return attendance.with_attendance(
        Registration.objects.filter(session__in=sessions, confirmed_at__isnull=False)
    ).select_related("user", "checked_in_by", "session__event")


@organizer_required
@require_GET
def session_attendance(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "event.view")
    now = timezone.now()
    summary = attendance.summary(session=session, now=now)
    people = _people(Session.objects.filter(pk=session.pk)).order_by(BY_NAME, "pk")
    context = {
        "session": session,
        "event": session.event,
        "here": _("Attendance"),
        "summary": summary,
        "chart": charts.bar_chart(session_bars(summary)),
        "rows": [(r, *attendance.state(r, now=now)) for r in people],
        "can_correct": session.has_started
        and session.event.checkin_enabled
        and not session.is_cancelled,
        "nobody_checked_in": summary.attended == 0 and summary.not_checked_in > 0,
    }
    return render(request, "events/manage/attendance.html", context)


@organizer_required
@require_POST
def correct_attendance(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registration = get_registration_or_404(request, pk, "attendance.correct")
    choice = request.POST.get("attended")
    if choice not in {"1", "0"}:
        messages.error(request, _("Choose attended or no-show."))
        return redirect(_back(request, registration))
    return _act(
        request,
        registration,
        lambda: attendance.correct_attendance(
            registration=registration, actor=request.user, attended=choice == "1"
        ),
    )


def _session_label(session: Session) -> str:
    # The formats of events/timefmt.py: "Tue 8 Dec, 15:00", "mar. 8 déc., 15 h 00".
    start = timezone.localtime(session.starts_at)
    return _("{day}, {time}").format(
        day=dateformat.format(start, pgettext("date format", "D j M")),
        time=dateformat.format(start, pgettext("time format", "H:i")),
    )


@organizer_required
@require_GET
def event_attendance(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "event.view")
    sessions = list(event.sessions.order_by("starts_at", "pk"))
    per = attendance.summaries(sessions=[s.pk for s in sessions])
    rows = [(s, per.get(s.pk, attendance.Summary())) for s in sessions]
    held = [(s, summary) for s, summary in rows if not s.is_cancelled]
    total = sum((summary for _session, summary in held), attendance.Summary())
    chart = charts.stacked_chart(
        [
            (
                _session_label(s),
                s.title,
                [
                    (_("Attended"), summary.attended, "ok"),
                    (_("No-shows"), summary.no_shows, "danger"),
                    (_("Not checked in"), summary.not_checked_in, "warn"),
                    (_("Cancelled"), summary.cancelled, "muted"),
                ],
            )
            for s, summary in held
        ]
    )
    context = {
        "event": event,
        "here": _("Attendance"),
        "rows": rows,
        "total": total,
        "any_cancelled": len(held) < len(rows),
        "chart": chart,
        "legend": [
            (_("Attended"), "ok"),
            (_("No-shows"), "danger"),
            (_("Not checked in"), "warn"),
            (_("Cancelled"), "muted"),
        ],
    }
    return render(request, "events/manage/event_attendance.html", context)


CSV_HEADER = [
    gettext_lazy("Event"),
    gettext_lazy("Session"),
    gettext_lazy("Session starts"),
    gettext_lazy("Name"),
    gettext_lazy("Email"),
    gettext_lazy("Status"),
    gettext_lazy("Attendance"),
    gettext_lazy("Checked in at"),
    gettext_lazy("Checked in by"),
    gettext_lazy("Walk-in"),
    gettext_lazy("Cancelled at"),
]


def _attendance_csv(filename: str, people: QuerySet) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([str(header) for header in CSV_HEADER])
    viewer = timezone.get_current_timezone()
    now = timezone.now()

    def at(moment) -> str:
        return csv_time(moment, viewer)

    for registration in people.order_by("session__starts_at", "session_id", BY_NAME, "pk"):
        session, person = registration.session, registration.user
        label, _tone = attendance.state(registration, now=now)
        row = [
            session.event.title,
            session.title,
            at(session.starts_at),
            person.name,
            person.email,
            registration.get_status_display(),
            label,
            at(registration.checked_in_at),
            registration.checked_in_by.name if registration.checked_in_by else "",
            yes_no(registration.walk_in),
            at(registration.cancelled_at) if registration.status == Status.CANCELLED else "",
        ]
        writer.writerow([csv_safe(cell) for cell in row])
    return response


@organizer_required
@require_GET
def session_attendance_csv(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "event.view")
    return _attendance_csv(
        f"session-{session.pk}-attendance.csv", _people(Session.objects.filter(pk=session.pk))
    )


@organizer_required
@require_GET
def event_attendance_csv(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "event.view")
    return _attendance_csv(f"event-{event.pk}-attendance.csv", _people(event.sessions.all()))
