"""The team's panel and its saved segments: the panel page (a composed filter, the matching
count, a table of people, 50 to a page), a segment's page (its description, its live count,
the same table) and the segment editor (new, edit, delete).

Who: "panel.view" (owners, organizers, reviewers) reads; "panel.edit" (owners, organizers)
saves, changes and deletes segments; anyone else gets a 404. A filter that makes no sense (an
unknown field, a bad number, a bad page) is a 400 with the form as typed and its message;
nothing is written but through services.segments."""

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from accounts.http import AuthenticatedRequest

from .. import current_team
from ..forms.panel import (
    Row,
    as_query,
    definition_of,
    field_choices,
    operator_groups,
    read_rows,
    rows_of,
)
from ..models import PanelMember, Segment, Team
from ..permissions import get_or_404, get_team_or_404, may, organizer_required
from ..services import ServiceError, erasure, panel_person
from ..services import segments as service

PAGE = 50
MAX_PAGE_DIGITS = 7


class BadPage(ServiceError):
    pass


def _segment(request: HttpRequest, pk: int, action: str) -> Segment:
    return get_or_404(request, Segment.objects.select_related("team"), action, pk=pk)


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or not raw.isascii() or len(raw) > MAX_PAGE_DIGITS or int(raw) < 1:
        raise BadPage(
            _("“%(raw)s” is not a page number: pages are numbered from 1.") % {"raw": raw[:20]}
        )
    return int(raw)


def _table(request: HttpRequest, people: QuerySet[PanelMember], query: str) -> dict:
    """One page of people and what the pager needs: the count and the page's rows (two
    queries, whatever the panel's size). A page past the end shows the last one."""
    number = _page_number(request)
    total = people.count()
    pages = max((total + PAGE - 1) // PAGE, 1)
    number = min(number, pages)
    shown = people.order_by("email")[(number - 1) * PAGE : number * PAGE]
    return {"people": list(shown), "total": total, "page": number, "pages": pages, "query": query}


def _editor(team: Team, rows: list[Row]) -> dict:
    return {
        "rows": rows or [Row()],
        "fields": field_choices(service.attribute_names(team)),
        "operators": operator_groups(),
        "calls": service.call_choices(team),
    }


@organizer_required
@require_GET
def panel(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = get_team_or_404(request, slug, "panel.view")
    current_team.remember(request, team)
    rows = read_rows(request.GET)
    context: dict = {
        "team": team,
        "may_edit": may(request.user, "panel.edit", team),
        "segments": list(Segment.objects.filter(team=team).order_by("name", "pk")[:200]),
        **_editor(team, rows),
    }
    try:
        clean = service.validate(team, definition_of(rows))
        context["description"] = service.describe(clean)
        context |= _table(request, service.members(team, clean), as_query(rows_of(clean)))
    except ServiceError as refusal:
        context["error"] = refusal.message
        return render(request, "events/manage/panel.html", context, status=400)
    context["filtered"] = bool(clean)
    return render(request, "events/manage/panel.html", context)


@organizer_required
@require_GET
def member(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """One person of the panel: attributes, consent, contact standing, history, and per call
    they answered the verdict, tags and the team's reviews (all reviewers see every note, as
    on the submission page), then their invitations and registrations. Someone the panel does
    not show (another team's, or who answered a call without consent) is a 404."""
    team = get_team_or_404(request, slug, "panel.view")
    found = panel_person.visible_member(team, pk)
    if found is None:
        raise Http404
    return render(
        request,
        "events/manage/panel_member.html",
        {
            "team": team,
            "person": panel_person.person(team, found),
            "may_forget": may(request.user, "panel.forget", team),
        },
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def member_forget(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """Forget one person of the team's panel, at their request (owners: "panel.forget"): a
    confirmation page, then its POST erases every row of the team's about them
    (services.erasure.forget). Someone not in this team's panel is a 404."""
    team = get_team_or_404(request, slug, "panel.forget")
    found = PanelMember.objects.filter(team=team, pk=pk).first()
    if found is None:
        raise Http404
    if request.method == "POST":
        try:
            record = erasure.forget(team=team, member=found, actor=request.user)
        except ServiceError as refusal:
            messages.error(request, refusal.message)
            return redirect(reverse("manage:panel", args=[team.slug]))
        messages.success(
            request,
            ngettext(
                "The person is forgotten: %(count)s row about them was erased.",
                "The person is forgotten: %(count)s rows about them were erased.",
                record.rows,
            )
            % {"count": record.rows},
        )
        return redirect(reverse("manage:panel", args=[team.slug]))
    earlier = team.erasures.select_related("forgotten_by")[:20]
    return render(
        request,
        "events/manage/panel_forget.html",
        {"team": team, "member": found, "earlier": earlier},
    )


@organizer_required
@require_GET
def segment(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    found = _segment(request, pk, "panel.view")
    team = found.team
    context: dict = {
        "team": team,
        "segment": found,
        "may_edit": may(request.user, "panel.edit", team),
    }
    try:
        clean = service.definition_of(found)
    except ServiceError as refusal:
        # A panel attribute it names was removed since it was saved: say so, show no one.
        context["stale"] = refusal.message
        return render(request, "events/manage/segment.html", context)
    context["description"] = service.describe(clean)
    try:
        context |= _table(request, service.members(team, clean), "")
    except ServiceError as refusal:
        context["error"] = refusal.message
        return render(request, "events/manage/segment.html", context, status=400)
    return render(request, "events/manage/segment.html", context)


def _edit_page(
    request: AuthenticatedRequest,
    team: Team,
    *,
    segment: Segment | None,
    name: str,
    rows: list[Row],
    status: int = 200,
    error: str = "",
    count: int | None = None,
) -> HttpResponse:
    return render(
        request,
        "events/manage/segment_form.html",
        {
            "team": team,
            "segment": segment,
            "name": name,
            "error": error,
            "count": count,
            "count_url": reverse("manage:segment_count", args=[team.slug]),
            **_editor(team, rows),
        },
        status=status,
    )


def _save_or_show(
    request: AuthenticatedRequest, team: Team, segment: Segment | None
) -> HttpResponse:
    """The editor's POST: "add a condition" and "count" show the form again; "save" saves."""
    data: QueryDict = request.POST
    rows = read_rows(data)
    name = data.get("name", "")
    definition = definition_of(rows)
    if data.get("add") or data.get("count"):
        try:
            clean = service.validate(team, definition)
        except ServiceError as refusal:
            if data.get("add"):  # half-typed rows are fine while composing
                return _edit_page(request, team, segment=segment, name=name, rows=rows)
            return _edit_page(
                request,
                team,
                segment=segment,
                name=name,
                rows=rows,
                status=400,
                error=refusal.message,
            )
        count = service.members(team, clean).count()
        return _edit_page(request, team, segment=segment, name=name, rows=rows, count=count)
    try:
        if segment is None:
            segment = service.create_segment(
                team=team, actor=request.user, name=name, definition=definition
            )
            messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
        else:
            segment = service.update_segment(
                segment=segment, actor=request.user, name=name, definition=definition
            )
            messages.success(request, _("Segment “%(name)s” updated.") % {"name": segment.name})
    except ServiceError as refusal:
        return _edit_page(
            request, team, segment=segment, name=name, rows=rows, status=400, error=refusal.message
        )
    return redirect("manage:segment", pk=segment.pk)


@organizer_required
@require_GET
def segment_count(request: AuthenticatedRequest, slug: str) -> JsonResponse:
    """The size of a draft segment as the editor types it (static/js/segment_count.js): the
    rows in the query string, `{"count": n}`, or `{"error": message}` with a 400 for a draft
    that makes no sense. Read-only, so a GET; for those who may edit the team's segments."""
    team = get_team_or_404(request, slug, "panel.edit")
    try:
        clean = service.validate(team, definition_of(read_rows(request.GET)))
    except ServiceError as refusal:
        return JsonResponse({"error": refusal.message}, status=400)
    return JsonResponse({"count": service.members(team, clean).count()})


@organizer_required
@require_http_methods(["GET", "POST"])
def segment_new(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = get_team_or_404(request, slug, "panel.edit")
    if request.method == "POST":
        return _save_or_show(request, team, None)
    # From the panel page: its filter, carried in the query string, to name and save.
    return _edit_page(
        request, team, segment=None, name=request.GET.get("name", ""), rows=read_rows(request.GET)
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def segment_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    found = _segment(request, pk, "panel.edit")
    if request.method == "POST":
        return _save_or_show(request, found.team, found)
    rows = rows_of(found.definition)
    return _edit_page(request, found.team, segment=found, name=found.name, rows=rows)


@organizer_required
@require_http_methods(["GET", "POST"])
def segment_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    found = _segment(request, pk, "panel.edit")
    team = found.team
    if request.method == "POST":
        service.delete_segment(segment=found, actor=request.user)
        messages.success(request, _("Segment “%(name)s” deleted.") % {"name": found.name})
        return redirect(reverse("manage:panel", args=[team.slug]))
    return render(request, "events/manage/segment_delete.html", {"team": team, "segment": found})
