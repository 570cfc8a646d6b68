"""The audit log of organizer actions, for a team's owners ("audit.view"): the team's whole
log and one event's, filterable by action, member and days, 50 entries to a page, and each as
CSV (every entry the filter keeps). Anyone else gets a 404. A filter that makes no sense (a
day that is not a date, an unknown action, a page that is not a number) is a 400 that says
so. Entries are put in words in the reader's language (events/audit_words.py)."""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from accounts.http import AuthenticatedRequest

from ..audit_words import action_words, actor_words, details, object_words, role_words
from ..exports import stream_csv
from ..forms.audit import AuditFilter
from ..models import AuditEntry, Event, Membership, Team
from ..permissions import get_event_or_404, get_team_or_404, organizer_required
from ..services import audit

PAGE = 50
MAX_PAGE_DIGITS = 6


class Refused(Exception):
    pass


def _members(team: Team) -> list[tuple[int, str]]:
    rows = Membership.objects.filter(team=team).select_related("user").order_by("pk")
    return [(m.user_id, m.user.name) for m in rows]


def _filtered(
    request: HttpRequest, team: Team, event: Event | None
) -> tuple[AuditFilter, QuerySet[AuditEntry] | None]:
    form = AuditFilter(request.GET, members=_members(team))
    if not form.is_valid():
        return form, None
    # The event of each entry comes in the same query (the team's page names it).
    return form, audit.entries(team=team, event=event, **form.service_filters()).select_related(
        "event"
    )


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_PAGE_DIGITS or int(raw) < 1:
        raise Refused(
            _("“%(raw)s” is not a page number: pages are numbered from 1.") % {"raw": raw[:20]}
        )
    return int(raw)


def _shown(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.created_at,
        "who": actor_words(entry),
        "what": action_words(entry.action),
        "code": entry.action,
        "object": object_words(entry),
        "details": details(entry),
        "event": entry.event if entry.event_id is not None else None,
    }


def _log_page(
    request: AuthenticatedRequest, team: Team, event: Event | None, csv_url: str
) -> HttpResponse:
    form, rows = _filtered(request, team, event)
    context: dict[str, Any] = {
        "team": team,
        "event": event,
        "form": form,
        "csv_url": csv_url,
        "entries": [],
        "total": 0,
        "page": 1,
        "pages": 1,
        "retention_days": audit.retention_days(team),
        "query": urlencode([(k, v) for k, v in request.GET.items() if k != "page"]),
    }
    if rows is None:
        context["error"] = _("Check the filter below.")
        return render(request, "events/manage/audit.html", context, status=400)
    try:
        number = _page_number(request)
    except Refused as refusal:
        context["error"] = str(refusal)
        return render(request, "events/manage/audit.html", context, status=400)
    total = rows.count()
    pages = max((total + PAGE - 1) // PAGE, 1)
    number = min(number, pages)
    shown = rows[(number - 1) * PAGE : number * PAGE]
    context.update(
        entries=[_shown(entry) for entry in shown], total=total, page=number, pages=pages
    )
    return render(request, "events/manage/audit.html", context)


def _csv(request: HttpRequest, team: Team, event: Event | None, filename: str):
    form, rows = _filtered(request, team, event)
    if rows is None:
        errors = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    return stream_csv(_csv_rows(rows), filename)


def _csv_rows(rows: QuerySet[AuditEntry]) -> Iterator[list[Any]]:
    # Made while the response streams, in the request's language (stream_csv sees to it).
    yield [
        pgettext("audit CSV", "Time"),
        pgettext("audit CSV", "Who (id)"),
        pgettext("audit CSV", "Who"),
        pgettext("audit CSV", "Role"),
        pgettext("audit CSV", "Action (code)"),
        pgettext("audit CSV", "Action"),
        pgettext("audit CSV", "Object"),
        pgettext("audit CSV", "Object (id)"),
        pgettext("audit CSV", "Event (id)"),
        pgettext("audit CSV", "Details"),
        pgettext("audit CSV", "Details (JSON)"),
    ]
    for entry in rows.iterator(chunk_size=2000):
        yield [
            entry.created_at,
            entry.actor_id or "",
            entry.actor.name if entry.actor is not None else "",
            role_words(entry.actor_role),
            entry.action,
            action_words(entry.action),
            entry.object_type,
            entry.object_id if entry.object_id is not None else "",
            entry.event_id or "",
            details(entry),
            json.dumps(entry.summary, ensure_ascii=False, sort_keys=True),
        ]


@organizer_required
@require_GET
def team_audit(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = get_team_or_404(request, slug, "audit.view")
    return _log_page(request, team, None, reverse("manage:team_audit_csv", args=[team.slug]))


@organizer_required
@require_GET
def team_audit_csv(
    request: AuthenticatedRequest, slug: str
) -> HttpResponse | StreamingHttpResponse:
    team = get_team_or_404(request, slug, "audit.view")
    return _csv(request, team, None, f"audit-{team.slug}.csv")


@organizer_required
@require_GET
def event_audit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "audit.view")
    team = Team.objects.get(pk=event.team_id)
    return _log_page(request, team, event, reverse("manage:event_audit_csv", args=[event.pk]))


@organizer_required
@require_GET
def event_audit_csv(request: AuthenticatedRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    event = get_event_or_404(request, pk, "audit.view")
    team = Team.objects.get(pk=event.team_id)
    return _csv(request, team, event, f"audit-event-{event.pk}.csv")
