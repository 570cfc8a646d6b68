"""The panel's attributes: which open-call answers become columns of the team's panel ("Which
models do you use?" as `models_used`), so segments and draws can filter on them.

Who: "panel.view" reads the list; "panel.edit" (owners, organizers) adds and removes; anyone
else gets a 404. Every change goes through services.panel, which checks the question belongs
to one of the team's calls and the name is free, and refreshes the panel."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedRequest

from ..models import PanelAttribute, Question, Team
from ..permissions import get_or_404, get_team_or_404, may, organizer_required
from ..services import ServiceError
from ..services import panel as service


def _questions(team: Team) -> list[Question]:
    """The questions of the team's calls that can be an attribute, with their call."""
    return list(
        Question.objects.filter(questionnaire__open_call__team=team)
        .select_related("questionnaire__open_call")
        .order_by("questionnaire__open_call__title", "position", "pk")
    )


def _page(request: HttpRequest, team: Team, *, error: str = "", typed=None, status=200):
    attributes = (
        PanelAttribute.objects.filter(team=team)
        .select_related("question__questionnaire__open_call")
        .order_by("name")
    )
    return render(
        request,
        "events/manage/panel_attributes.html",
        {
            "team": team,
            "here": _("Attributes"),
            "attributes": list(attributes),
            "questions": _questions(team),
            "may_edit": may(request.user, "panel.edit", team),
            "error": error,
            "typed": typed or {},
        },
        status=status,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def panel_attributes(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    if request.method == "GET":
        return _page(request, get_team_or_404(request, slug, "panel.view"))
    team = get_team_or_404(request, slug, "panel.edit")
    typed = {"name": request.POST.get("name", "")[:60], "question": request.POST.get("question")}
    raw = request.POST.get("question", "")
    question = None
    if raw.isdigit() and raw.isascii() and len(raw) < 12:
        question = Question.objects.filter(pk=int(raw)).first()
    if question is None:
        return _page(request, team, error=_("Choose a question."), typed=typed, status=400)
    try:
        attribute = service.add_attribute(
            team=team, question=question, name=request.POST.get("name", ""), actor=request.user
        )
    except ServiceError as error:
        return _page(request, team, error=error.message, typed=typed, status=400)
    messages.success(
        request, _("The answers now fill the attribute %(name)s.") % {"name": attribute.name}
    )
    return redirect("manage:panel_attributes", slug=team.slug)


@organizer_required
@require_POST
def panel_attribute_remove(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    attribute = get_or_404(
        request, PanelAttribute.objects.select_related("team"), "panel.edit", pk=pk
    )
    service.remove_attribute(attribute=attribute, actor=request.user)
    messages.success(
        request, _("%(name)s is no longer an attribute of the panel.") % {"name": attribute.name}
    )
    return redirect("manage:panel_attributes", slug=attribute.team.slug)
