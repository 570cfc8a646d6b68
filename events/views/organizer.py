"""Organizers' own pages. Every view loads its event (or session, or registration) through
events/permissions.py, naming what it is about to do: anyone who may not gets a 404, not a
hint that it exists. Every change is a POST that calls a service and redirects."""

import csv
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User

from .. import current_team
from ..exports import csv_safe, csv_time
from ..forms.manage import EventForm, SessionForm, chosen_team
from ..languages import language_name, version_languages
from ..models import Event, Notification, OpenCall, Registration, Session, Submission
from ..permissions import (
    get_event_or_404,
    get_registration_or_404,
    get_session_or_404,
    may,
    organizer_required,
    permitted,
    sees_all,
    teams_for,
)
from ..questionnaire_pages import builder_context, screening_owner
from ..services import ServiceError, attendance, lottery, review, scheduling, screening
from ..services import registration as registration_service

Status = Registration.Status


def _registrations_in(status: str, *, ending_after: datetime | None = None) -> Coalesce:
    """How many registrations of an event's scheduled sessions (those not over by
    `ending_after`, if given) are in `status`: a subquery, so it does not multiply the
    sessions joined for the other sums."""
    when = Q() if ending_after is None else Q(session__ends_at__gte=ending_after)
    counted = (
        Registration.objects.filter(
            when,
            session__event=OuterRef("pk"),
            session__status=Session.Status.SCHEDULED,
            status=status,
        )
        .order_by()
        .values("session__event")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@organizer_required
@require_GET
def dashboard(request: AuthenticatedRequest, slug: str | None = None) -> HttpResponse:
    """One team's events, next session first, with their fill and what needs attention."""
    teams = current_team.teams(request)
    if slug is None:
        team = current_team.current(request, teams)
    else:
        team = next((t for t in teams if t.slug == slug), None)
        if team is None:
            raise Http404
    if team is None:
        raise Http404
    current_team.remember(request, team)
    now = timezone.now()
    scheduled = Q(sessions__status=Session.Status.SCHEDULED)
    events = permitted(request.user, Event.objects.filter(team=team), "event.view").annotate(
        session_count=Count("sessions", filter=scheduled),
        next_start=Min("sessions__starts_at", filter=scheduled & Q(sessions__ends_at__gte=now)),
        seats=Coalesce(Sum("sessions__capacity", filter=scheduled), 0),
        confirmed=_registrations_in(Status.CONFIRMED),
        # What needs attention: an application or an offer for a session already over waits
        # for nothing any more.
        applied=_registrations_in(Status.APPLIED, ending_after=now),
        waitlisted=_registrations_in(Status.WAITLISTED, ending_after=now),
        offered=_registrations_in(Status.OFFERED, ending_after=now),
        failed=_failed_messages(),
    )
    # Upcoming first (soonest on top), then those with nothing upcoming, newest first.
    events = events.order_by(F("next_start").asc(nulls_last=True), "-created_at", "-pk")
    may_view_events = may(request.user, "event.view", team)
    may_check_in = may(request.user, "attendance.check_in", team)
    # Door staff see the sessions coming up (and nothing else); organizers, above their
    # events, those on today, a tap away from their check-in pages.
    coming = Q(ends_at__gte=now)
    if may_view_events:
        coming &= Q(starts_at__lte=now + timedelta(hours=12))
    checkin = permitted(
        request.user,
        Session.objects.filter(coming, event__team=team, status=Session.Status.SCHEDULED)
        .exclude(event__status=Event.Status.CANCELLED)
        .select_related("event"),
        "attendance.check_in",
    ).order_by("starts_at", "pk")
    # Reviewers (who see no events) get the team's calls, each with what they have yet to score.
    review_calls: QuerySet[OpenCall] | None = None
    if not may_view_events and may(request.user, "call.review", team):
        review_calls = (
            permitted(request.user, OpenCall.objects.filter(team=team), "call.review")
            .annotate(
                pool_size=Count("submissions", filter=Q(submissions__confirmed_at__isnull=False)),
                to_score=_unscored_by(request.user),
            )
            .order_by("-created_at", "-pk")
        )
    return render(
        request,
        "events/manage/dashboard.html",
        {
            "team": team,
            "review_calls": review_calls,
            "teams": teams,
            "events": events,
            "checkin_sessions": checkin[:50] if may_check_in else [],
            "now": now,
            "may_create": may(request.user, "event.create", team),
            "may_manage": may(request.user, "team.manage", team),
            "may_view_events": may_view_events,
            "may_check_in": may_check_in,
            "may_view_calls": may(request.user, "call.view", team),
            "may_view_panel": may(request.user, "panel.view", team),
        },
    )


def _unscored_by(user: User) -> Coalesce:
    """How many of a call's pool `user` has not scored yet (a subquery, as _failed_messages)."""
    counted = (
        Submission.objects.filter(call=OuterRef("pk"), confirmed_at__isnull=False)
        .exclude(reviews__reviewer=user)
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _failed_messages() -> Coalesce:
    """How many of an event's messages could not be sent (a subquery, as _registrations_in)."""
    counted = (
        Notification.objects.filter(
            Q(session__event=OuterRef("pk")) | Q(invitation__event=OuterRef("pk")),
            status=Notification.Status.FAILED,
        )
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@organizer_required
@require_http_methods(["GET", "POST"])
def event_create(request: AuthenticatedRequest) -> HttpResponse:
    teams = list(teams_for(request.user, "event.create").order_by("name", "pk"))
    if not teams:
        raise Http404  # reviewers and door staff do not start events
    chosen = current_team.current(request)
    default = chosen if chosen in teams else teams[0]
    form = EventForm(
        request.POST if request.method == "POST" else None,
        default_timezone=default.timezone,
        teams=teams,
        default_team=default,
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                event = scheduling.create_event(
                    team=chosen_team(form, default), actor=request.user, **form.service_fields()
                )
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("Event created as a draft. Add a session, then publish.")
                )
                return redirect("manage:event", event.pk)
        return render(request, "events/manage/event_form.html", {"form": form}, status=400)
    return render(request, "events/manage/event_form.html", {"form": form})


@organizer_required
@require_http_methods(["GET", "POST"])
def event_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "event.edit")
    form = EventForm(request.POST if request.method == "POST" else None, instance=event)
    context = {"form": form, "event": event}
    if request.method == "POST":
        if form.is_valid():
            try:
                scheduling.update_event(event=event, actor=request.user, **form.service_fields())
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Event saved."))
                return redirect("manage:event", event.pk)
        return render(request, "events/manage/event_form.html", context, status=400)
    return render(request, "events/manage/event_form.html", context)


def other_versions(event: Event) -> list[tuple[str, str, dict[str, str]]]:
    """The event's own versions in other languages: (code, the language's name, its texts)."""
    given = event.translations or {}
    return [
        (code, language_name(code), given[code]) for code in version_languages() if given.get(code)
    ]


def _render_event(
    request: HttpRequest,
    event: Event,
    *,
    status: int = 200,
) -> HttpResponse:
    def counted(state: str) -> Count:
        return Count("registrations", filter=Q(registrations__status=state))

    sessions = event.sessions.annotate(
        confirmed=counted(Status.CONFIRMED),
        offered=counted(Status.OFFERED),
        waitlisted=counted(Status.WAITLISTED),
        applied=counted(Status.APPLIED),
    ).order_by("starts_at", "pk")
    context = {
        "event": event,
        "sessions": sessions,
        "other_versions": other_versions(event),
        # The data inventory and early anonymisation are the owners' (services.retention).
        "may_manage_data": may(request.user, "team.manage", event),
        # The audit log is the owners' (a link others would find a 404 behind).
        "may_audit": may(request.user, "audit.view", event),
    }
    if event.screening is not None and event.uses_applications:
        # The screening questions, in the question editor every questionnaire shares.
        owner = screening_owner(event)
        context |= builder_context(owner.questionnaire, owner.editor)
    return render(request, "events/manage/event.html", context, status=status)


@organizer_required
@require_GET
def event_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _render_event(request, get_event_or_404(request, pk, "event.view"))


@organizer_required
@require_POST
def event_publish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "event.edit")
    try:
        scheduling.publish_event(event=event, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Published: the event is open to the public now."))
    return redirect("manage:event", event.pk)


@organizer_required
@require_POST
def event_unpublish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "event.edit")
    try:
        scheduling.unpublish_event(event=event, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Back to draft: only organizers can see the event now."))
    return redirect("manage:event", event.pk)


@organizer_required
@require_http_methods(["GET", "POST"])
def event_cancel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST cancels every session and tells everyone in them."""
    event = get_event_or_404(request, pk, "event.edit")
    if event.status == Event.Status.CANCELLED:
        # The service would cancel again without complaint; there is nothing left to do.
        messages.error(request, _("This event is already cancelled."))
        return redirect("manage:event", event.pk)
    if request.method == "POST":
        try:
            scheduling.cancel_event(event=event, actor=request.user)
        except ServiceError as error:  # cancelled by a co-organizer a moment ago
            messages.error(request, error.message)
        else:
            messages.success(request, _("Event cancelled. Everyone signed up is being told."))
        return redirect("manage:event", event.pk)
    affected = Registration.objects.filter(
        session__event=event,
        session__status=Session.Status.SCHEDULED,
        status__in=Registration.ACTIVE,
    ).count()
    sessions = event.sessions.filter(status=Session.Status.SCHEDULED).count()
    return render(
        request,
        "events/manage/event_cancel.html",
        {"event": event, "affected": affected, "session_count": sessions},
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def session_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "event.edit")
    form = SessionForm(
        request.POST if request.method == "POST" else None, event=event, initial={"capacity": 10}
    )
    context = {"form": form, "event": event}
    if request.method == "POST":
        if form.is_valid():
            try:
                scheduling.create_session(
                    event=event,
                    actor=request.user,
                    past_confirmed=form.cleaned_data["confirm_past"],
                    **form.service_fields(),
                )
            except scheduling.StartsInThePast as error:
                form.ask_to_confirm_past(error.message)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Session added."))
                return redirect("manage:event", event.pk)
        return render(request, "events/manage/session_form.html", context, status=400)
    return render(request, "events/manage/session_form.html", context)


@organizer_required
@require_http_methods(["GET", "POST"])
def session_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "event.edit")
    event = session.event
    form = SessionForm(
        request.POST if request.method == "POST" else None, instance=session, event=event
    )
    context = {"form": form, "event": event, "session": session}
    if request.method == "POST":
        if form.is_valid():
            try:
                scheduling.update_session(
                    session=session,
                    actor=request.user,
                    past_confirmed=form.cleaned_data["confirm_past"],
                    **form.service_fields(),
                )
            except scheduling.StartsInThePast as error:
                form.ask_to_confirm_past(error.message)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Session saved. Anyone affected is being told."))
                return redirect("manage:event", event.pk)
        return render(request, "events/manage/session_form.html", context, status=400)
    return render(request, "events/manage/session_form.html", context)


@organizer_required
@require_http_methods(["GET", "POST"])
def session_cancel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST cancels and tells everyone in the session."""
    session = get_session_or_404(request, pk, "event.edit")
    if request.method == "POST":
        try:
            scheduling.cancel_session(session=session, actor=request.user)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Session cancelled. Everyone in it is being told."))
        return redirect("manage:event", session.event_id)
    affected = session.registrations.filter(status__in=Registration.ACTIVE).count()
    return render(
        request,
        "events/manage/session_cancel.html",
        {"session": session, "event": session.event, "affected": affected},
    )


# Bulk actions on a session's registrations: name -> (label, service, extra arguments).
# name: (label, the service that acts on one registration, its extra keyword arguments)
BULK_ACTIONS: dict[str, tuple[Promise, Callable[..., object], dict[str, Any]]] = {
    "approve": (gettext_lazy("Approve"), review.approve, {}),
    "approve_or_waitlist": (
        gettext_lazy("Approve, or waitlist when full"),
        review.approve,
        {"when_full": "waitlist"},
    ),
    "reject": (gettext_lazy("Reject"), review.reject, {}),
    "move_in": (gettext_lazy("Move in from the waitlist"), review.move_in, {}),
    "cancel": (
        pgettext_lazy("cancel registrations", "Cancel"),
        registration_service.cancel,
        {"by_organizer": True},
    ),
}
APPLICATION_ACTIONS = {"approve", "approve_or_waitlist"}


def bulk_actions(event: Event) -> list[tuple[str, str]]:
    return [
        (name, str(label))
        for name, (label, _service, _extra) in BULK_ACTIONS.items()
        if event.uses_applications or name not in APPLICATION_ACTIONS
    ]


def _status_filter(value: str | None) -> str:
    return value if value in Status.values else ""


def _session_registrations(session: Session, status: str) -> QuerySet:
    registrations = session.registrations.select_related("user").order_by("created_at", "pk")
    return registrations.filter(status=status) if status else registrations


@organizer_required
@require_GET
def registrations(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "event.view")
    event = session.event
    status = _status_filter(request.GET.get("status"))
    counts = dict(session.registrations.order_by().values_list("status").annotate(n=Count("pk")))
    filters = [("", pgettext("filter", "All"), sum(counts.values()))] + [
        (value, label, counts.get(value, 0))
        for value, label in Status.choices
        if counts.get(value) or value == status
    ]
    asked = screening.asked(event=event)
    rows = [
        (r, screening.answered(answers=r.answers, questions=asked))
        for r in _session_registrations(session, status)
    ]
    # Each person's attendance record, in one query for the whole table.
    records = attendance.histories(
        users=session.registrations.values("user_id"),
        team=None if sees_all(request.user) else event.team,
    )
    for registration, _answers in rows:
        registration.history = records.get(registration.user_id, attendance.History())
    is_lottery = event.registration_mode == Event.Mode.LOTTERY
    context = {
        "event": event,
        "session": session,
        "rows": rows,
        "status": status,
        "filters": filters,
        "actions": bulk_actions(event),
        "has_questions": bool(asked),
        "is_lottery": is_lottery,
        # A lottery whose registration closed with nobody applying is drawn with no winners.
        "nobody_drawn": is_lottery
        and session.lottery_drawn_at is not None
        and not session.registrations.exclude(lottery_rank=None).exists(),
    }
    return render(request, "events/manage/registrations.html", context)


@organizer_required
@require_POST
def registrations_action(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "registration.review")
    status = _status_filter(request.POST.get("status"))
    back = reverse("manage:registrations", args=[session.pk])
    back = f"{back}?status={status}" if status else back
    name = request.POST.get("action", "")
    if name not in dict(bulk_actions(session.event)):
        messages.error(request, _("Choose an action."))
        return redirect(back)
    # isdecimal and a length bound: "²" is a digit int() refuses, and 30 digits overflow.
    ids = {int(v) for v in request.POST.getlist("ids") if v.isdecimal() and len(v) < 12}
    # Only this session's registrations: ids of any other session are ignored.
    chosen = list(
        session.registrations.filter(pk__in=ids).select_related("user").order_by("created_at", "pk")
    )
    if not chosen:
        messages.error(request, _("Tick at least one person first."))
        return redirect(back)
    label, service, extra = BULK_ACTIONS[name]
    done, refusals = review.apply_to_many(service, chosen, actor=request.user, **extra)
    messages.success(request, _("{action}: {done} done.").format(action=label, done=done))
    for refusal in refusals:
        messages.error(request, refusal)
    return redirect(back)


@organizer_required
@require_POST
def lottery_draw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "registration.review")
    try:
        lottery.draw(session=session, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        drawn = dict(
            session.registrations.exclude(lottery_rank=None)
            .order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        messages.success(
            request,
            _(
                "Lottery drawn: {confirmed} confirmed, {waitlisted} waitlisted, "
                "{rejected} not selected. Everyone is being told."
            ).format(
                confirmed=drawn.get(Status.CONFIRMED, 0),
                waitlisted=drawn.get(Status.WAITLISTED, 0),
                rejected=drawn.get(Status.REJECTED, 0),
            ),
        )
    return redirect("manage:registrations", session.pk)


@organizer_required
@require_GET
def registrations_csv(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "event.view")
    event = session.event
    asked = screening.asked(event=event)
    is_lottery = event.registration_mode == Event.Mode.LOTTERY
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="session-{session.pk}-registrations.csv"'
    )
    writer = csv.writer(response)
    header = [
        _("Name"),
        _("Email"),
        _("Role"),
        _("Status"),
        pgettext("when they registered", "Registered"),
    ]
    header += [_("Lottery rank")] if is_lottery else []
    writer.writerow([csv_safe(h) for h in header + [q.label for q in asked]])
    viewer = timezone.get_current_timezone()
    status = _status_filter(request.GET.get("status"))
    for registration in _session_registrations(session, status):
        person = registration.user
        row = [
            person.name,
            person.email,
            person.get_role_display(),
            registration.get_status_display(),
            csv_time(registration.created_at, viewer),
        ]
        row += [registration.lottery_rank] if is_lottery else []
        for question in asked:
            row.append(
                "; ".join(screening.answer_words(answers=registration.answers, question=question))
            )
        writer.writerow([csv_safe(cell) for cell in row])
    return response


@organizer_required
@require_GET
def registration_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    registration = get_registration_or_404(request, pk, "event.view")
    event = registration.session.event
    person = registration.user
    labels = dict(Status.choices)
    others = permitted(
        request.user,
        Registration.objects.filter(user=person).exclude(pk=registration.pk),
        "event.view",
    ).select_related("session__event")
    context = {
        "registration": registration,
        "event": event,
        "session": registration.session,
        "person": person,
        "answers": screening.answered(
            answers=registration.answers, questions=screening.asked(event=event)
        ),
        "changes": [
            (
                change,
                labels.get(change.from_status, pgettext("registration status", "new")),
                labels.get(change.to_status, ""),
            )
            for change in registration.changes.select_related("actor")
        ],
        "others": others.order_by("-session__starts_at", "pk"),
        "history": attendance.history(
            user=person, team=None if sees_all(request.user) else event.team
        ),
        "attendance": attendance.describe(registration=registration),
    }
    return render(request, "events/manage/registration.html", context)
