"""The funnel pages: a call's and a team's, from the form to the survey (services.funnel), as
a chart and a table with rates, filterable by one of the team's segments, and as CSV.

Who: a call's funnel is for those who may see its pool ("call.review"); a team's for those
who may see its panel ("panel.view"); the CSV of either for those who may export the pool
("call.export": reviewers only where the team allows it). Anyone else gets a 404. A segment
of another team, or none, is a 404; a segment that is not a number, or whose definition
names a removed attribute, is a 400 that says so."""

from dataclasses import replace

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from accounts.http import AuthenticatedRequest

from .. import current_team
from ..exports import stream_csv
from ..models import OpenCall, Segment, Team
from ..permissions import get_or_404, get_team_or_404, may, organizer_required, permitted
from ..segment_choice import chosen_segment
from ..services import ServiceError
from ..services import funnel as service

# The steps of services.funnel.STEPS in the reader's language, by key: (name, what it counts).
STEP_WORDS = {
    "submitted": (
        pgettext_lazy("funnel step", "Submitted"),
        pgettext_lazy(
            "funnel step",
            "sent the form: the people who confirmed, and each address that never confirmed",
        ),
    ),
    "confirmed": (
        pgettext_lazy("funnel step", "Confirmed"),
        pgettext_lazy("funnel step", "confirmed their email address"),
    ),
    "qualified": (
        pgettext_lazy("funnel step", "Qualified"),
        pgettext_lazy("funnel step", "confirmed, and qualified by the call's screening rules"),
    ),
    "invited": (
        pgettext_lazy("funnel step", "Invited"),
        pgettext_lazy("funnel step", "qualified, and invited to at least one of the team's events"),
    ),
    "accepted": (
        pgettext_lazy("funnel step", "Accepted"),
        pgettext_lazy("funnel step", "invited, and accepted at least one invitation"),
    ),
    "attended": (
        pgettext_lazy("funnel step", "Attended"),
        pgettext_lazy("funnel step", "accepted, and attended at least one of the team's sessions"),
    ),
    "answered": (
        pgettext_lazy("funnel step", "Answered a survey"),
        pgettext_lazy("funnel step", "attended, and answered at least one of the team's surveys"),
    ),
}
CSV_HEADER = {
    "Funnel": pgettext_lazy("funnel CSV", "Funnel"),
    "Segment": pgettext_lazy("funnel CSV", "Segment"),
    "Step": pgettext_lazy("funnel CSV", "Step"),
    "People": pgettext_lazy("funnel CSV", "People"),
    "% of previous step": pgettext_lazy(
        "funnel CSV",
        # A percent sign, not a placeholder:
        # xgettext:no-python-format
        "% of previous step",
    ),
    "% of first step": pgettext_lazy(
        "funnel CSV",
        # A percent sign, not a placeholder:
        # xgettext:no-python-format
        "% of first step",
    ),
    "Panel as of": pgettext_lazy("funnel CSV", "Panel as of"),
}


def _steps() -> list[tuple[str, str, str]]:
    """The steps as (key, name, what it counts), in the reader's language."""
    shown = []
    for key, label, meaning in service.STEPS:
        name, counts = STEP_WORDS.get(key, (label, meaning))
        shown.append((key, str(name), str(counts)))
    return shown


def _worded(funnel: service.Funnel) -> service.Funnel:
    """The funnel with its steps named in the reader's language (its chart too)."""
    words = {key: (label, meaning) for key, label, meaning in _steps()}
    steps = [
        replace(s, label=words[s.key][0], meaning=words[s.key][1]) if s.key in words else s
        for s in funnel.steps
    ]
    return replace(funnel, steps=steps)


def _page(request: AuthenticatedRequest, team: Team, call: OpenCall | None) -> HttpResponse:
    subject = call or team
    context: dict = {
        "team": team,
        "call": call,
        "here": _("Funnel"),
        "steps": _steps(),
        "may_export": may(request.user, "call.export", subject),
        "segments": list(Segment.objects.filter(team=team).order_by("name", "pk")[:200])
        if may(request.user, "panel.view", team)
        else [],
    }
    if call is None:
        calls = permitted(request.user, OpenCall.objects.filter(team=team), "call.review")
        context["calls"] = list(calls.order_by("-created_at", "-pk")[:100])
    try:
        segment, definition = chosen_segment(request, team)
    except ServiceError as refusal:
        context["error"] = refusal.message
        return render(request, "events/manage/funnel.html", context, status=400)
    if call is None:
        funnel = service.for_team(team, definition=definition)
    else:
        funnel = service.for_call(call, definition=definition)
    context |= {
        "funnel": _worded(funnel),
        "segment": segment,
        "query": f"segment={segment.pk}" if segment else "",
    }
    return render(request, "events/manage/funnel.html", context)


def _csv(
    request: HttpRequest, team: Team, call: OpenCall | None, filename: str
) -> HttpResponse | StreamingHttpResponse:
    try:
        segment, definition = chosen_segment(request, team)
    except ServiceError as refusal:
        return HttpResponse(refusal.message, status=400, content_type="text/plain; charset=utf-8")
    if call is None:
        funnel, about = service.for_team(team, definition=definition), team.name
    else:
        funnel, about = service.for_call(call, definition=definition), call.title
    rows = service.csv_rows(_worded(funnel), about=about, segment=segment.name if segment else "")
    rows[0] = [str(CSV_HEADER.get(cell, cell)) for cell in rows[0]]
    return stream_csv(rows, filename)


def _call(request: HttpRequest, pk: int, action: str) -> OpenCall:
    return get_or_404(request, OpenCall.objects.select_related("team"), action, pk=pk)


@organizer_required
@require_GET
def call_funnel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = _call(request, pk, "call.review")
    return _page(request, call.team, call)


@organizer_required
@require_GET
def call_funnel_csv(request: AuthenticatedRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    call = _call(request, pk, "call.export")
    return _csv(request, call.team, call, f"call-{call.pk}-funnel.csv")


@organizer_required
@require_GET
def team_funnel(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = get_team_or_404(request, slug, "panel.view")
    current_team.remember(request, team)
    return _page(request, team, None)


@organizer_required
@require_GET
def team_funnel_csv(
    request: AuthenticatedRequest, slug: str
) -> HttpResponse | StreamingHttpResponse:
    team = get_team_or_404(request, slug, "call.export")
    return _csv(request, team, None, f"{team.slug}-funnel.csv")
