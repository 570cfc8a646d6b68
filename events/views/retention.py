"""Retention pages: the team's policy and log, an event's and a call's data inventory (with
their own number of days), an event's early anonymisation (a confirmation page, then its
POST), all for the team's owners ("team.manage"; anyone else gets a 404); and the panel
member's "keep me" link (a page whose POST alone renews: mail scanners open links)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedRequest

from .. import privacy
from ..forms.retention import OwnDaysForm, PolicyForm
from ..models import Event, OpenCall
from ..permissions import get_call_or_404, get_event_or_404, get_team_or_404, organizer_required
from ..ratelimit import by_ip, rate_limit
from ..services import ServiceError, retention

ACTION = "team.manage"
LOG_PAGE = 50


def _lines(inventory: retention.Inventory) -> list[tuple[str, int]]:
    return [(privacy.label(line.kind), line.count) for line in inventory.lines]


@organizer_required
@require_http_methods(["GET", "POST"])
def team_retention(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = get_team_or_404(request, slug, ACTION)
    initial = {
        "attendee_days": team.retention_attendee_days,
        "submission_days": team.retention_submission_days,
        "panel_days": team.retention_panel_days,
        "audit_days": team.retention_audit_days,
    }
    form = PolicyForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                retention.update_policy(team=team, actor=request.user, **form.cleaned_data)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Retention policy saved."))
                return redirect("manage:team_retention", team.slug)
        status = 400
    page = Paginator(retention.log_of(team), LOG_PAGE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        # The counts in words, for the table (an attribute the template reads).
        entry.lines = [  # type: ignore[attr-defined]
            (privacy.label(kind), count) for kind, count in entry.counts.items()
        ]
    return render(
        request,
        "events/manage/retention.html",
        {"team": team, "form": form, "page": page},
        status=status,
    )


def _event_page(
    request: AuthenticatedRequest, event: Event, *, form: OwnDaysForm | None = None, status=200
) -> HttpResponse:
    inventory = retention.event_inventory(event)
    form = form or OwnDaysForm(initial={"days": event.retention_attendee_days})
    return render(
        request,
        "events/manage/event_data.html",
        {
            "event": event,
            "team": event.team,
            "inventory": inventory,
            "lines": _lines(inventory),
            "kept": [
                (privacy.kept_label(name), inventory.kept[name])
                for name in privacy.KEPT
                if name in inventory.kept
            ],
            "form": form,
        },
        status=status,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def event_data(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, ACTION)
    if request.method == "GET":
        return _event_page(request, event)
    form = OwnDaysForm(request.POST)
    if form.is_valid():
        try:
            retention.set_event_days(
                event=event, actor=request.user, days=form.cleaned_data["days"]
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Retention saved for this event."))
            return redirect("manage:event_data", event.pk)
    return _event_page(request, event, form=form, status=400)


@organizer_required
@require_http_methods(["GET", "POST"])
def event_anonymise(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, ACTION)
    inventory = retention.event_inventory(event)
    context = {"event": event, "team": event.team, "inventory": inventory, "error": ""}
    if request.method == "POST":
        try:
            counts = retention.anonymise_event_now(event=event, actor=request.user)
        except ServiceError as error:
            context["error"] = error.message
            return render(request, "events/manage/event_anonymise.html", context, status=400)
        total = sum(counts.values())
        messages.success(
            request,
            _("The attendees' data of this event is anonymised (%(rows)s rows).") % {"rows": total},
        )
        return redirect("manage:event_data", event.pk)
    ended = inventory.last_end
    if ended is None or ended > timezone.now():
        context["error"] = _(
            "This event's last session has not ended yet: its attendees' data is still "
            "needed. Anonymise it once the last session is over."
        )
    return render(request, "events/manage/event_anonymise.html", context)


def _call_page(
    request: AuthenticatedRequest, call: OpenCall, *, form: OwnDaysForm | None = None, status=200
) -> HttpResponse:
    inventory = retention.call_inventory(call)
    labels = {
        "confirmed": _("Confirmed submissions (kept while their people stay on the panel)"),
        "unconfirmed": _("Submissions never confirmed"),
        "disqualified": _("Disqualified submissions"),
    }
    lines = [
        (labels.get(line.kind) or privacy.label(line.kind), line.count) for line in inventory.lines
    ]
    return render(
        request,
        "events/manage/call_data.html",
        {
            "call": call,
            "team": call.team,
            "inventory": inventory,
            "lines": lines,
            "form": form or OwnDaysForm(initial={"days": call.retention_submission_days}),
        },
        status=status,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def call_data(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, ACTION)
    if request.method == "GET":
        return _call_page(request, call)
    form = OwnDaysForm(request.POST)
    if form.is_valid():
        try:
            retention.set_call_days(call=call, actor=request.user, days=form.cleaned_data["days"])
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Retention saved for this open call."))
            return redirect("manage:call_data", call.pk)
    return _call_page(request, call, form=form, status=400)


@require_http_methods(["GET", "POST"])
@rate_limit("panel-keep", per_minute=30, key=by_ip)
def panel_keep(request: HttpRequest, token: str) -> HttpResponse:
    renewal, nonce = retention.from_renewal_token(token)
    if renewal is None and not nonce:
        return render(request, "events/panel_keep_invalid.html", status=400)
    reason = retention.why_closed(renewal, nonce)
    context = {"renewal": renewal, "token": token, "reason": reason, "done": False}
    if reason:
        return render(request, "events/panel_keep.html", context, status=410)
    if request.method == "POST":
        assert renewal is not None
        try:
            retention.keep_me(renewal=renewal, nonce=nonce)
        except ServiceError as error:
            context["reason"] = error.message
            return render(request, "events/panel_keep.html", context, status=410)
        context["done"] = True
    return render(request, "events/panel_keep.html", context)
