"""A team's webhook endpoints, for its owners ("team.manage"): the list and a new endpoint,
one endpoint's settings and delivery log, its secret (shown once, after it is made or
rotated), a test event, a message sent again. Everyone else gets a 404. Each change is a
POST calling events.services.webhooks, then a redirect; a refusal shows the page again with
its message, a 400, and nothing saved."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedRequest

from ..forms.webhooks import EndpointForm
from ..models import Team, WebhookEndpoint, WebhookMessage
from ..permissions import get_or_404, get_team_or_404, organizer_required
from ..services import ServiceError
from ..services import webhooks as service

LOG_SHOWN = 50
# The session key that carries a new secret to its one showing (a name, not a secret).
SHOWN_SECRET = "webhook_secret"  # noqa: S105


def _endpoint(request: AuthenticatedRequest, slug: str, pk: int) -> WebhookEndpoint:
    return get_or_404(
        request,
        WebhookEndpoint.objects.select_related("team"),
        "team.manage",
        pk=pk,
        team__slug=slug,
    )


def _show_secret_once(request: AuthenticatedRequest, endpoint: WebhookEndpoint) -> None:
    request.session[SHOWN_SECRET] = [endpoint.pk, endpoint.secret]


def _list_page(
    request: AuthenticatedRequest,
    team: Team,
    *,
    form: EndpointForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    endpoints = WebhookEndpoint.objects.filter(team=team).order_by("pk")
    return render(
        request,
        "events/manage/webhooks.html",
        {"team": team, "endpoints": endpoints, "form": form or EndpointForm(), "error": error},
        status=status,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def webhooks(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = get_team_or_404(request, slug, "team.manage")
    if request.method == "GET":
        return _list_page(request, team)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _list_page(
            request, team, form=form, error=_("Check the endpoint below."), status=400
        )
    try:
        endpoint = service.create_endpoint(team=team, actor=request.user, **form.service_fields())
    except ServiceError as refusal:
        return _list_page(request, team, form=form, error=refusal.message, status=400)
    _show_secret_once(request, endpoint)
    messages.success(request, _("The endpoint is added. Copy its signing secret now."))
    return redirect("manage:webhook", slug=team.slug, pk=endpoint.pk)


def _endpoint_page(
    request: AuthenticatedRequest,
    endpoint: WebhookEndpoint,
    *,
    form: EndpointForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    secret = None
    shown = request.session.pop(SHOWN_SECRET, None) if status == 200 else None
    if shown and shown[0] == endpoint.pk:
        secret = shown[1]
    log = WebhookMessage.objects.filter(endpoint=endpoint).order_by("-created_at", "-pk")
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }
    return render(
        request,
        "events/manage/webhook.html",
        {
            "team": endpoint.team,
            "endpoint": endpoint,
            "secret": secret,
            "form": form or EndpointForm(initial=initial),
            "log": log[:LOG_SHOWN],
            "log_total": log.count(),
            "shown": LOG_SHOWN,
            "error": error,
        },
        status=status,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def webhook(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    if request.method == "GET":
        return _endpoint_page(request, endpoint)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _endpoint_page(
            request, endpoint, form=form, error=_("Check the endpoint below."), status=400
        )
    try:
        service.update_endpoint(endpoint=endpoint, actor=request.user, **form.service_fields())
    except ServiceError as refusal:
        endpoint.refresh_from_db()
        return _endpoint_page(request, endpoint, form=form, error=refusal.message, status=400)
    messages.success(request, _("The endpoint is saved."))
    return redirect("manage:webhook", slug=slug, pk=pk)


@organizer_required
@require_POST
def webhook_rotate(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    service.rotate_secret(endpoint=endpoint, actor=request.user)
    _show_secret_once(request, endpoint)
    messages.success(
        request, _("A new signing secret is in force for every message from now on. Copy it now.")
    )
    return redirect("manage:webhook", slug=slug, pk=pk)


@organizer_required
@require_POST
def webhook_state(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    if request.POST.get("enabled") == "yes":
        service.enable_endpoint(endpoint=endpoint, actor=request.user)
        messages.success(request, _("The endpoint is enabled."))
    else:
        service.disable_endpoint(endpoint=endpoint, actor=request.user)
        messages.success(request, _("The endpoint is disabled: nothing is sent to it."))
    return redirect("manage:webhook", slug=slug, pk=pk)


@organizer_required
@require_POST
def webhook_delete(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    service.delete_endpoint(endpoint=endpoint, actor=request.user)
    messages.success(request, _("The endpoint and its delivery log are deleted."))
    return redirect("manage:webhooks", slug=slug)


@organizer_required
@require_POST
def webhook_test(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    service.send_test(endpoint=endpoint, actor=request.user)
    messages.success(request, _("A test event is on its way; its delivery shows below."))
    return redirect("manage:webhook", slug=slug, pk=pk)


@organizer_required
@require_POST
def webhook_resend(request: AuthenticatedRequest, slug: str, pk: int, message: int) -> HttpResponse:
    endpoint = _endpoint(request, slug, pk)
    found = get_object_or_404(WebhookMessage, pk=message, endpoint=endpoint)
    try:
        service.send_again(message=found, actor=request.user)
    except ServiceError as refusal:
        return _endpoint_page(request, endpoint, error=refusal.message, status=400)
    messages.success(request, _("The message is on its way again, under the same webhook-id."))
    return redirect("manage:webhook", slug=slug, pk=pk)
