"""Draws from the panel: the "draw a sample" form of a segment (or of an open call: its
qualified people under its quotas, "Draw from this call" on the call's page), a draw's page
(who was picked, why others were skipped, the seed, "invite these to…"), running a draw
again from its seed, and the team's list of draws.

Who: "panel.edit" (owners, organizers) draws, reruns and hands the picked people on;
"panel.view" (reviewers too) reads draws; anyone else gets a 404. Bad input is a 400 with the
form as typed and the service's message; nothing is written but through services.draws.
Inviting is the invitations flow's own: the picked people arrive on its page prefilled, as
the open call's pool hands them on (preview, held seats and expiry are chosen there)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedRequest

from .. import current_team
from ..forms import draws as form
from ..forms.invitations import POOL_PREFILL_KEY
from ..models import Draw, Event, OpenCall, Segment
from ..permissions import (
    get_call_or_404,
    get_or_404,
    get_team_or_404,
    may,
    organizer_required,
    permitted,
)
from ..services import ServiceError, segments
from ..services import draws as service

LISTED = 200


def _draw(request: AuthenticatedRequest, pk: int, action: str) -> Draw:
    return get_or_404(
        request, Draw.objects.select_related("team", "drawn_by", "segment", "call"), action, pk=pk
    )


def _form_page(
    request: AuthenticatedRequest,
    found: Segment | OpenCall,
    given: form.DrawInput,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "team": found.team,
        "given": given,
        "minimum_rows": form.shown_rows(given.minimums),
        "cap_rows": form.shown_rows(given.caps),
        "fields": form.field_choices(),
        "max_size": service.MAX_SIZE,
        "error": error,
    }
    try:
        if isinstance(found, OpenCall):
            context["call"] = found
            context["quotas"] = service.quota_rules(found)[2]
        else:
            context["segment"] = found
            context["description"] = segments.describe(segments.definition_of(found))
    except ServiceError as refusal:
        context["error"] = error or refusal.message
    return render(request, "events/manage/draw_form.html", context, status=status)


@organizer_required
@require_http_methods(["GET", "POST"])
def draw_new(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    found = get_or_404(request, Segment.objects.select_related("team"), "panel.edit", pk=pk)
    if request.method == "GET":
        return _form_page(request, found, form.blank())
    given = form.read(request.POST)
    try:
        drawn = service.draw_sample(
            team=found.team, actor=request.user, segment=found, **given.arguments()
        )
    except ServiceError as refusal:
        return _form_page(request, found, given, error=refusal.message, status=400)
    return redirect("manage:draw", pk=drawn.pk)


@organizer_required
@require_http_methods(["GET", "POST"])
def call_draw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The draw form of an open call: its qualified people, its quotas as rules."""
    call = get_call_or_404(request, pk, "panel.edit")
    if request.method == "GET":
        return _form_page(request, call, form.blank())
    given = form.read(request.POST)
    try:
        drawn = service.draw_sample(
            team=call.team, actor=request.user, call=call, **given.arguments()
        )
    except ServiceError as refusal:
        return _form_page(request, call, given, error=refusal.message, status=400)
    return redirect("manage:draw", pk=drawn.pk)


@organizer_required
@require_GET
def draw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    found = _draw(request, pk, "panel.view")
    team = found.team
    people = service.picked_people(found)
    may_edit = may(request.user, "panel.edit", team)
    events = []
    if may_edit:
        events = list(
            permitted(request.user, Event.objects.filter(team=team), "invitation.send").order_by(
                "-created_at"
            )[:LISTED]
        )
    return render(
        request,
        "events/manage/draw.html",
        {
            "team": team,
            "segment": found.segment,
            "drawn": found,
            "people": people,
            "missing": sum(1 for p in people if p is None),
            "skipped": sorted(found.skipped.items(), key=lambda item: (-item[1], item[0])),
            "first_skipped": service.first_skipped(found),
            "shortfalls": service.shortfalls(found, people),
            "may_edit": may_edit,
            "events": events,
        },
    )


@organizer_required
@require_POST
def draw_rerun(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    found = _draw(request, pk, "panel.edit")
    try:
        fresh = service.rerun(draw=found, actor=request.user)
    except ServiceError as refusal:
        messages.error(request, refusal.message)
        return redirect("manage:draw", pk=found.pk)
    messages.success(request, _("Drawn again with the seed %(seed)s.") % {"seed": fresh.seed})
    return redirect("manage:draw", pk=fresh.pk)


@organizer_required
@require_POST
def draw_invite(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Hand the picked people to the invitations flow, as the open call's pool does."""
    found = _draw(request, pk, "panel.edit")
    event_id = request.POST.get("event", "")
    events = permitted(request.user, Event.objects.filter(team=found.team), "invitation.send")
    event = events.filter(pk=int(event_id)).first() if event_id.isdigit() else None
    if event is None:
        messages.error(request, _("Choose one of the team's events to invite them to."))
        return redirect("manage:draw", pk=found.pk)
    rows = service.invite_rows(service.picked_people(found), call=found.call)
    if not rows:
        messages.error(request, _("Nobody of this draw is in the panel any more."))
        return redirect("manage:draw", pk=found.pk)
    request.session[POOL_PREFILL_KEY] = {"event": event.pk, "rows": rows}
    return redirect(reverse("manage:invite", args=[event.pk]) + "?from_pool=1")


@organizer_required
@require_GET
def draw_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = get_team_or_404(request, slug, "panel.view")
    current_team.remember(request, team)
    drawn = Draw.objects.filter(team=team).select_related("drawn_by", "segment")[:LISTED]
    return render(request, "events/manage/draw_list.html", {"team": team, "draws": list(drawn)})
