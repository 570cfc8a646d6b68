"""The personal join link of an online or hybrid session (/join/<token>/, services.joining).

No login: the token is the person's own, as a survey link is. The GET shows a page and never
acts (mail scanners open links, and some run the page's scripts); inside the join window the
page shows one focused "Join the meeting" button, and only its POST, a person's press, records
the join (a check-in) and redirects to the meeting. Nothing sends that form by itself: a
scanner that ran it would check the person in. Until then nothing on the page or in the
response names the meeting's address. Terms are accepted the same way, by a button.

/join/<token>/ was the team invitation's address before: a token that is no join token but
a valid team invitation is sent on to that page's new address, so mails sent before keep
working."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.middleware import browser_zone, prefer_team_language
from config.security import content_security_policy

from .. import timefmt
from ..models import Registration
from ..ratelimit import by_ip, rate_limit
from ..services import ServiceError, joining
from ..services import teams as teams_service

Door = joining.Door


def join_budget(request: HttpRequest) -> str:
    """A real link has its own budget (a company's attendees share one address and join at
    the same minute); a wrong token spends the caller's address's, so guessing stays slow."""
    match = request.resolver_match
    token = match.kwargs.get("token", "") if match else ""
    owner = (
        Registration.objects.filter(join_token=token).values_list("pk", flat=True).first()
        if token
        else None
    )
    return f"registration{owner}" if owner else by_ip(request)


class PermanentRedirectKeepingMethod(HttpResponseRedirect):
    status_code = 308  # a form posted from the old page still posts


# The token is the credential, and a POST only ever lets its owner in: no CSRF cookie, so the
# link works in any browser a calendar app opens.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@rate_limit("join", per_minute=30, methods=("GET", "POST"), key=join_budget)
def join(request: HttpRequest, token: str) -> HttpResponse:
    registration = joining.find(token)
    if registration is None:
        return _team_invitation_or_404(request, token)
    session = registration.session
    event = session.event
    prefer_team_language(request, event.team.language)
    if not request.user.is_authenticated and not browser_zone(request):
        # Nobody said where they are: the link's owner's zone is the best guess.
        timezone.activate(timefmt.zone_or_utc(registration.user.timezone))
    if request.method == "POST":
        refusal = ""
        if request.POST.get("action") == "accept_terms":
            try:
                version = int(request.POST.get("terms_version", ""))
                joining.accept_terms_by_link(registration=registration, version=version)
            except ValueError:
                refusal = _("The terms have changed since you opened the page; read them again.")
            except ServiceError as error:
                refusal = error.message
            if not refusal:
                return redirect(request.path)
        else:
            try:
                return redirect(joining.join(registration=registration))
            except ServiceError as error:
                refusal = error.message
        return _page(request, registration, refusal=refusal, status=400)
    return _page(request, registration)


def _page(
    request: HttpRequest, registration: Registration, *, refusal: str = "", status: int = 200
) -> HttpResponse:
    seen = joining.look(registration)
    session = registration.session
    viewer = timezone.get_current_timezone()
    opens_text, opens_note = timefmt.moment(seen.opens, viewer, session.event.timezone)
    context = {
        "door": seen.door.value,
        "registration": registration,
        "session": session,
        "event": session.event,
        "opens_text": opens_text,
        "opens_note": opens_note,
        "zone": getattr(viewer, "key", str(viewer)),
        "refusal": refusal,
    }
    response = render(request, "events/join.html", context, status=status)
    # Browsers hold a form's redirect to CSP form-action too: this page's form leads to the
    # meeting, wherever the organizer hosts it.
    response["Content-Security-Policy"] = _policy_with_meeting(response)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _policy_with_meeting(response: HttpResponse) -> str:
    return content_security_policy().replace(
        "form-action 'self'", "form-action 'self' https: http:"
    )


def _team_invitation_or_404(request: HttpRequest, token: str) -> HttpResponse:
    invitation, _nonce = teams_service.from_join_token(token)
    if invitation is not None:
        target = reverse("events:team_join", args=[token])
        if request.META.get("QUERY_STRING"):
            target = f"{target}?{request.META['QUERY_STRING']}"
        return PermanentRedirectKeepingMethod(target)
    return render(request, "events/join.html", {"door": "invalid"}, status=404)
