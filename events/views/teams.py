"""The team pages: an owner's page of members, roles, invitations, settings and history; a
member leaving; creating a team; and the join link from the invitation mail.

The team page is for those who may "team.manage" (owners, and staff); everyone else gets a
404. Every change is a POST that calls events.services.teams and redirects; a refusal shows
the page again with its message and a 400."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedRequest
from accounts.middleware import prefer_team_language

from .. import current_team
from ..forms.teams import InviteForm, RoleForm, TeamForm
from ..models import Event, Membership, OpenCall, Role, Team, TeamHistory, TeamInvitation
from ..models.team import ROLE_HELP
from ..permissions import get_team_or_404, may, organizer_required, permitted
from ..ratelimit import by_ip, by_user_or_ip, rate_limit
from ..services import ServiceError
from ..services import teams as service

HISTORY_SHOWN = 100


def _team_or_404(request: HttpRequest, slug: str) -> Team:
    return get_team_or_404(request, slug, "team.manage")


def _team_page(
    request: AuthenticatedRequest,
    team: Team,
    *,
    status: int = 200,
    error: str = "",
    settings_form: TeamForm | None = None,
    invite_form: InviteForm | None = None,
) -> HttpResponse:
    members = list(
        Membership.objects.filter(team=team).select_related("user").order_by("user__email")
    )
    for membership in members:
        membership.role_help = ROLE_HELP[Role(membership.role)]  # type: ignore[attr-defined]
        membership.is_viewer = membership.user_id == request.user.pk  # type: ignore[attr-defined]
    invitations = list(
        TeamInvitation.objects.filter(
            team=team, accepted_at__isnull=True, revoked_at__isnull=True
        ).order_by("email", "pk")
    )
    for invitation in invitations:
        invitation.is_expired = not service.is_pending(invitation)  # type: ignore[attr-defined]
    history = TeamHistory.objects.filter(team=team).select_related("actor")[:HISTORY_SHOWN]
    events = permitted(request.user, Event.objects.filter(team=team), "event.view").order_by(
        "-created_at", "-pk"
    )
    calls = permitted(request.user, OpenCall.objects.filter(team=team), "call.view").order_by(
        "-created_at", "-pk"
    )
    return render(
        request,
        "events/manage/team.html",
        {
            "team": team,
            "members": members,
            "owners": sum(1 for m in members if m.role == Role.OWNER),
            "roles": [(role.value, role.label, ROLE_HELP[role]) for role in Role],
            "invitations": invitations,
            "history": history,
            "events": events,
            "calls": calls,
            "error": error,
            "settings_form": settings_form or TeamForm(team=team, prefix="settings"),
            "invite_form": invite_form or InviteForm(prefix="invite"),
            "empty": not events and not calls,
        },
        status=status,
    )


@organizer_required
@require_GET
def team(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    found = _team_or_404(request, slug)
    current_team.remember(request, found)
    return _team_page(request, found)


@organizer_required
@require_POST
def team_settings(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    found = _team_or_404(request, slug)
    form = TeamForm(request.POST, team=found, prefix="settings")
    if not form.is_valid():
        return _team_page(
            request, found, status=400, error=_("Check the settings below."), settings_form=form
        )
    try:
        found = service.update_team(team=found, actor=request.user, **form.service_fields())
    except ServiceError as refusal:
        return _team_page(request, found, status=400, error=refusal.message, settings_form=form)
    messages.success(request, _("The team's settings are saved."))
    return redirect("manage:team", slug=found.slug)


@organizer_required
@require_POST
@rate_limit(
    "team-invite", per_minute=30, key=by_user_or_ip, reason="many invitations in a short time"
)
def team_invite(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    found = _team_or_404(request, slug)
    form = InviteForm(request.POST, prefix="invite")
    if not form.is_valid():
        return _team_page(
            request, found, status=400, error=_("Check the invitation below."), invite_form=form
        )
    try:
        invitation = service.invite_member(
            team=found,
            actor=request.user,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    except ServiceError as refusal:
        return _team_page(request, found, status=400, error=refusal.message, invite_form=form)
    messages.success(
        request,
        _("Invitation sent to %(email)s as %(role)s.")
        % {"email": invitation.email, "role": invitation.get_role_display().lower()},
    )
    return redirect("manage:team", slug=found.slug)


def _membership(team: Team, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), team=team, pk=pk)


@organizer_required
@require_POST
def member_role(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    found = _team_or_404(request, slug)
    membership = _membership(found, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _team_page(request, found, status=400, error=_("Choose one of the roles."))
    try:
        service.change_role(
            team=found, actor=request.user, membership=membership, role=form.cleaned_data["role"]
        )
    except ServiceError as refusal:
        return _team_page(request, found, status=400, error=refusal.message)
    messages.success(
        request,
        _("%(email)s is now %(role)s.")
        % {"email": membership.user.email, "role": Role(form.cleaned_data["role"]).label.lower()},
    )
    if not may(request.user, "team.manage", found):
        return redirect("manage:dashboard")  # the owner made themselves something else
    return redirect("manage:team", slug=found.slug)


@organizer_required
@require_POST
def member_remove(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    found = _team_or_404(request, slug)
    membership = _membership(found, pk)
    try:
        service.remove_member(team=found, actor=request.user, membership=membership)
    except ServiceError as refusal:
        return _team_page(request, found, status=400, error=refusal.message)
    if membership.user_id == request.user.pk:
        messages.success(request, _("You left %(team)s.") % {"team": found.name})
        return redirect("manage:dashboard" if _in_a_team(request) else "home")
    messages.success(
        request, _("%(email)s is no longer in the team.") % {"email": membership.user.email}
    )
    return redirect("manage:team", slug=found.slug)


def _in_a_team(request: AuthenticatedRequest) -> bool:
    return bool(current_team.teams(request))


@organizer_required
@require_http_methods(["GET", "POST"])
def team_leave(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Any member may leave a team (its last owner may not: they delete it, or make someone
    else owner first). GET asks to confirm; POST leaves."""
    membership = get_object_or_404(
        Membership.objects.select_related("team", "user"), team__slug=slug, user=request.user
    )
    found = membership.team
    context = {
        "team": found,
        "membership": membership,
        "role_help": ROLE_HELP[Role(membership.role)],
    }
    if request.method == "GET":
        return render(request, "events/manage/team_leave.html", context)
    try:
        service.remove_member(team=found, actor=request.user, membership=membership)
    except ServiceError as refusal:
        context["error"] = refusal.message
        return render(request, "events/manage/team_leave.html", context, status=400)
    messages.success(request, _("You left %(team)s.") % {"team": found.name})
    return redirect("manage:dashboard" if _in_a_team(request) else "home")


def _invitation(team: Team, pk: int) -> TeamInvitation:
    return get_object_or_404(TeamInvitation, team=team, pk=pk)


@organizer_required
@require_POST
def invitation_resend(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    found = _team_or_404(request, slug)
    invitation = _invitation(found, pk)
    try:
        service.resend_invitation(team=found, actor=request.user, invitation=invitation)
    except ServiceError as refusal:
        return _team_page(request, found, status=400, error=refusal.message)
    messages.success(
        request,
        _("Invitation sent again to %(email)s; the earlier link no longer works.")
        % {"email": invitation.email},
    )
    return redirect("manage:team", slug=found.slug)


@organizer_required
@require_POST
def invitation_revoke(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    found = _team_or_404(request, slug)
    invitation = _invitation(found, pk)
    try:
        service.revoke_invitation(team=found, actor=request.user, invitation=invitation)
    except ServiceError as refusal:
        return _team_page(request, found, status=400, error=refusal.message)
    messages.success(
        request, _("The invitation of %(email)s is revoked.") % {"email": invitation.email}
    )
    return redirect("manage:team", slug=found.slug)


@organizer_required
@require_POST
def team_delete(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    found = _team_or_404(request, slug)
    if request.POST.get("confirm") != found.slug:
        return _team_page(
            request,
            found,
            status=400,
            error=_("To delete the team, type its short name (%(slug)s) in the box.")
            % {"slug": found.slug},
        )
    try:
        service.delete_team(team=found, actor=request.user)
    except ServiceError as refusal:
        return _team_page(request, found, status=400, error=refusal.message)
    messages.success(request, _("The team %(team)s is deleted.") % {"team": found.name})
    return redirect("manage:dashboard" if _in_a_team(request) else "home")


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request: AuthenticatedRequest) -> HttpResponse:
    """A new team with the creator as its owner; who may create one is TEAM_CREATION's
    (teams.may_create_team). Not @organizer_required: a first team has no membership yet."""
    if not service.may_create_team(request.user):
        raise Http404
    form = TeamForm(
        request.POST if request.method == "POST" else None,
        initial={"timezone": request.user.timezone},  # the creator's own zone, to start with
    )
    if request.method == "GET":
        return render(request, "events/manage/team_new.html", {"form": form})
    if not form.is_valid():
        return render(request, "events/manage/team_new.html", {"form": form}, status=400)
    try:
        created = service.create_team(actor=request.user, **form.service_fields())
    except ServiceError as refusal:
        return render(
            request,
            "events/manage/team_new.html",
            {"form": form, "error": refusal.message},
            status=400,
        )
    current_team.remember(request, created)
    messages.success(
        request,
        _("The team %(team)s is ready: invite the people you work with.") % {"team": created.name},
    )
    return redirect("manage:team", slug=created.slug)


# The join link (public: the person may have no account yet)


@require_http_methods(["GET", "POST"])
@rate_limit("team_join", per_minute=30, methods=("GET", "POST"), key=by_ip)
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The page the invitation mail links to. GET shows it (mail scanners open links); only
    the POST joins, for the invited address logged in and verified."""
    invitation, nonce = service.from_join_token(token)
    if invitation is None:
        return render(
            request,
            "events/team_join.html",
            {"closed": _("This join link is not valid: it may be mistyped or cut short.")},
            status=404,
        )
    # A page about one team: shown in its language to a reader who named none.
    prefer_team_language(request, invitation.team.language)
    user = request.user
    here = request.path
    context: dict[str, object] = {
        "invitation": invitation,
        "team": invitation.team,
        "role": Role(invitation.role).label,
        "role_help": ROLE_HELP[Role(invitation.role)],
        "login_url": f"{reverse('account_login')}?{urlencode({'next': here})}",
        "signup_url": (
            f"{reverse('account_signup')}?{urlencode({'email': invitation.email, 'next': here})}"
        ),
        "closed": service.why_closed(invitation, nonce),
        "wrong_account": user.is_authenticated and not service.has_verified(user, invitation.email),
    }
    if context["closed"]:
        return render(request, "events/team_join.html", context, status=410)
    if request.method == "GET":
        return render(request, "events/team_join.html", context)
    if not user.is_authenticated:
        return redirect(str(context["login_url"]))
    try:
        membership = service.accept_invitation(token=token, user=user)
    except ServiceError as refusal:
        context["refusal"] = refusal.message
        return render(
            request,
            "events/team_join.html",
            context,
            status=403 if context["wrong_account"] else 400,
        )
    current_team.remember(request, membership.team)
    messages.success(
        request,
        _("Welcome to %(team)s: you are %(role)s.")
        % {"team": membership.team.name, "role": membership.get_role_display().lower()},
    )
    return redirect("manage:team_dashboard", slug=membership.team.slug)
