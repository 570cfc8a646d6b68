"""The team owners' API tokens page: the team's tokens (name, prefix, scopes, expiry, last
use), a form for a new one, whose secret is shown once on the page that answers the form
(never in a redirect, a message or a log), and revoking one. "team.manage": owners (and
staff); anyone else gets a 404."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedRequest

from ..forms.api_tokens import TokenForm
from ..models import ApiToken, Team
from ..models.api import AREA_LABELS, AREAS
from ..permissions import get_team_or_404, organizer_required
from ..ratelimit import by_user_or_ip, rate_limit
from ..services import ServiceError, api_tokens


def _team_or_404(request: HttpRequest, slug: str) -> Team:
    return get_team_or_404(request, slug, "team.manage")


def _access_in_words(token: ApiToken) -> list[str]:
    words = []
    for area in AREAS:
        if token.allows(area, "write"):
            words.append(_("%(area)s: read and change") % {"area": AREA_LABELS[area]})
        elif token.allows(area, "read"):
            words.append(_("%(area)s: read") % {"area": AREA_LABELS[area]})
    return words


def _page(
    request: AuthenticatedRequest,
    team: Team,
    *,
    form: TokenForm | None = None,
    created: api_tokens.Created | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    tokens = list(ApiToken.objects.filter(team=team).select_related("created_by", "revoked_by"))
    now = timezone.now()
    for token in tokens:
        token.expired = api_tokens.is_expired(token, now=now)  # type: ignore[attr-defined]
        token.access = _access_in_words(token)  # type: ignore[attr-defined]
    return render(
        request,
        "events/manage/api_tokens.html",
        {
            "team": team,
            "tokens": tokens,
            "form": form or TokenForm(),
            "created": created,
            "error": error,
        },
        status=status,
    )


@never_cache
@organizer_required
@require_http_methods(["GET", "POST"])
@rate_limit("api-token-create", per_minute=20, key=by_user_or_ip, reason="many new tokens")
def api_tokens_page(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = _team_or_404(request, slug)
    if request.method == "GET":
        return _page(request, team)
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, team, form=form, error=_("Check the token below."), status=400)
    try:
        created = api_tokens.create_token(
            team=team,
            actor=request.user,
            name=form.cleaned_data["name"],
            scopes=form.scopes(),
            expires_at=form.expires_at(),
        )
    except ServiceError as refusal:
        return _page(request, team, form=form, error=refusal.message, status=400)
    return _page(request, team, created=created)


@organizer_required
@require_POST
def api_token_revoke(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    team = _team_or_404(request, slug)
    token = get_object_or_404(ApiToken.objects.select_related("team"), team=team, pk=pk)
    try:
        api_tokens.revoke_token(token=token, actor=request.user)
    except ServiceError as refusal:
        return _page(request, team, error=refusal.message, status=400)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("manage:api_tokens", slug=team.slug)
