"""The themes of a text question (services.themes): the page, its actions and a theme's
answers. The page never computes: it shows the last computation and a button that queues one.

Who: those who may read the answers (a survey's results: "survey.results"; a call's pool:
"call.review") see the themes; those who may edit the survey or call ("survey.edit",
"call.edit") rename, pin, merge and recompute; a theme's CSV is behind the export the
survey's or pool's CSV is behind. Anyone else gets a 404."""

import itertools

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from ..exports import stream_csv
from ..models import OpenCall, Question, Segment, Theme
from ..permissions import may, organizer_required
from ..segment_choice import chosen_segment
from ..services import ServiceError
from ..services import themes as service

PER_PAGE = 50
MAX_ID_DIGITS = 10


def _question_or_404(request: HttpRequest, pk: int, action: str = "read"):
    question = get_object_or_404(Question.objects.all(), pk=pk, kind__in=service.TEXT_KINDS)
    owner = service.owner_of(question)
    if owner is None or not may(request.user, getattr(owner, action), owner.obj):
        raise Http404
    return question, owner


def _theme_or_404(request: HttpRequest, pk: int, action: str = "read"):
    theme = get_object_or_404(
        Theme.objects.select_related("theme_set", "merged_into__merged_into"), pk=pk
    )
    question, owner = _question_or_404(request, theme.theme_set.question_id, action)
    return theme, question, owner


def _context(question: Question, owner: service.Owner) -> dict:
    if isinstance(owner.obj, OpenCall):
        return {"call": owner.obj, "back": ("manage:pool_results", owner.obj.pk)}
    return {"event": owner.obj.event, "back": ("manage:survey_results", owner.obj.event_id)}


@organizer_required
@require_GET
def question_themes(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    question, owner = _question_or_404(request, pk)
    found = service.with_splits(service.overview(question=question, owner=owner), owner=owner)
    team = owner.obj.team if isinstance(owner.obj, OpenCall) else owner.obj.event.team
    status = 200
    error = ""
    try:
        segment, definition = chosen_segment(request, team)
    except ServiceError as refusal:
        segment, definition, error, status = None, None, refusal.message, 400
    if segment is not None and definition is not None:
        found = service.with_segment(found, owner=owner, name=segment.name, definition=definition)
    return render(
        request,
        "events/manage/question_themes.html",
        {
            **_context(question, owner),
            "segments": list(Segment.objects.filter(team=team).order_by("name", "pk")[:200])
            if may(request.user, "panel.view", team)
            else [],
            "segment": segment,
            "segment_error": error,
            "here": _("Themes"),
            "question": question,
            "overview": found,
            "may_edit": may(request.user, owner.edit, owner.obj),
            "may_export": may(request.user, owner.export, owner.obj),
        },
        status=status,
    )


@organizer_required
@require_POST
def question_themes_request(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    question, _owner = _question_or_404(request, pk, "edit")
    try:
        service.request(question, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The themes will be computed in a moment. Reload to see them."))
    return redirect("manage:question_themes", question.pk)


@organizer_required
@require_POST
def question_themes_settings(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    question, _owner = _question_or_404(request, pk, "edit")
    raw = [request.POST.get(name, "").strip() for name in ("min_themes", "max_themes")]
    if not all(v.isascii() and v.isdigit() and len(v) <= MAX_ID_DIGITS for v in raw):
        messages.error(request, _("The fewest and most themes must be whole numbers."))
        return redirect("manage:question_themes", question.pk)
    try:
        service.configure(
            question, actor=request.user, min_themes=int(raw[0]), max_themes=int(raw[1])
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Saved. The themes will be computed again in a moment. Reload to see them.")
        )
    return redirect("manage:question_themes", question.pk)


@organizer_required
@require_POST
def theme_rename(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    theme, question, _owner = _theme_or_404(request, pk, "edit")
    try:
        service.rename(theme=theme, actor=request.user, name=request.POST.get("name", ""))
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("manage:question_themes", question.pk)


@organizer_required
@require_POST
def theme_pin(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    theme, question, _owner = _theme_or_404(request, pk, "edit")
    pinned = request.POST.get("pinned") == "yes"
    try:
        service.pin(theme=theme, actor=request.user, pinned=pinned)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("manage:question_themes", question.pk)


@organizer_required
@require_POST
def theme_merge(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    theme, question, _owner = _theme_or_404(request, pk, "edit")
    raw = request.POST.get("into", "")
    into = None
    if raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS:
        into = Theme.objects.filter(pk=raw).first()
    if into is None:
        message = _("Choose a theme of this question to merge into.")
        return HttpResponse(message, status=400, content_type="text/plain")
    try:
        service.merge(theme=theme, into=into, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("manage:question_themes", question.pk)


@organizer_required
@require_GET
def theme_answers(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    theme, question, owner = _theme_or_404(request, pk)
    listed = service.shown(theme)
    hidden = service.withheld(owner, listed.size)
    raw = request.GET.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS else 1
    pages = max((listed.size + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(max(page, 1), pages)
    answers = (
        [] if hidden else list(service.answers_of(listed)[(page - 1) * PER_PAGE : page * PER_PAGE])
    )
    return render(
        request,
        "events/manage/theme_answers.html",
        {
            **_context(question, owner),
            "here": _("Theme"),
            "question": question,
            "theme": listed,
            "answers": answers,
            "withheld": hidden,
            "page": page,
            "pages": pages,
            "query": "",
            "may_export": may(request.user, owner.export, owner.obj),
        },
    )


@organizer_required
@require_GET
def theme_csv(request: AuthenticatedRequest, pk: int) -> HttpResponseBase:
    theme, _question, owner = _theme_or_404(request, pk, "export")
    if service.withheld(owner, service.shown(theme).size):
        return HttpResponse(
            _(
                "Fewer than 3 people's answers are in this theme. The survey is anonymous, so "
                "they are not shown on their own."
            ),
            status=403,
            content_type="text/plain",
        )
    header = {"Theme": pgettext("theme CSV", "Theme"), "Answer": pgettext("theme CSV", "Answer")}
    rows = service.csv_rows(theme=theme)
    first = [header.get(cell, cell) for cell in next(rows)]
    return stream_csv(itertools.chain([first], rows), f"theme-{theme.pk}.csv")
