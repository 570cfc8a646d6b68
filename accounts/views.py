import json

from allauth.account import views as allauth_views
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from events.ratelimit import rate_limit

from . import services
from .forms import DeleteAccountForm, ProfileForm
from .http import AuthenticatedRequest
from .middleware import remember_language, supported

# allauth's sign-up in one transaction: the account, its address and the outbox row that owes
# the confirmation (or, for an address that has an account, the row that tells its owner)
# commit together or not at all; the row is handed to a mail worker on commit.
signup = transaction.atomic(allauth_views.signup)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: AuthenticatedRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.update_profile(
            user=request.user, **{name: form.cleaned_data[name] for name in form.changed_data}
        )
        messages.success(request, _("Your profile is saved."))
        return redirect("accounts:profile")
    status = 400 if form.errors else 200
    from events.models import Membership
    from events.services.teams import may_create_team

    memberships = Membership.objects.filter(user=request.user).select_related("team")
    context = {
        "form": form,
        "memberships": memberships.order_by("team__name", "pk"),
        "may_create_team": may_create_team(request.user),
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def export_data(request: AuthenticatedRequest) -> HttpResponse:
    data = services.export_user_data(user=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
# A stolen session must not become a password oracle: five tries a minute, then none.
@rate_limit(
    "delete-account", per_minute=5, reason=gettext_lazy("Too many attempts at your password.")
)
def delete_account(request: AuthenticatedRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        try:
            services.delete_account(user=user)
        except services.AccountError as error:
            form.add_error(None, error.message)
        else:
            logout(request)
            messages.success(request, _("Your account and your personal data are deleted."))
            return redirect("home")
    status = 400 if form.errors else 200
    return render(request, "accounts/delete.html", {"form": form}, status=status)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The footer's language switcher: remembered in the cookie, and on the profile of a
    logged-in person (whose profile language would otherwise win over the cookie)."""
    code = supported(request.POST.get("language", ""))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    if not code:
        return response
    if request.user.is_authenticated and request.user.language != code:
        services.update_profile(user=request.user, language=code)
    remember_language(response, code)
    return response
