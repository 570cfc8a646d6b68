"""Do-not-contact, both sides: the unsubscribe link in every programme email (no login), and
the team's blocklist for its owners and organizers ("contact.block").

The unsubscribe link acts only on POST (mail scanners open links): its GET shows a button. It
is also the RFC 8058 one-click address of the List-Unsubscribe header, which mail providers
POST to with no cookie and no CSRF token: the view is csrf_exempt, and its POST can do only one
thing, unsubscribe the address the signed token names from the team it names."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedRequest

from ..models import ContactBlock, Team
from ..permissions import get_team_or_404, organizer_required
from ..ratelimit import by_ip, by_user_or_ip, rate_limit
from ..services import ServiceError, contact

SHOWN = 500


# The person


@csrf_exempt
@require_http_methods(["GET", "POST"])
# Only the page is limited: one-click POSTs come from a few mail providers' servers, many
# people's at once, and a refused one would be an unsubscription lost. A POST can do nothing
# but unsubscribe the address its signature names, so there is nothing to guess at.
@rate_limit("unsubscribe", per_minute=60, methods=("GET",), key=by_ip)
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = contact.from_unsubscribe_token(token)
    if found is None:
        return render(request, "events/unsubscribe_invalid.html", status=400)
    team, email = found
    context = {"team": team, "email": email, "token": token}
    if request.method == "GET":
        # Only the person's own wish counts as done: someone the team blocked may still
        # unsubscribe, which makes the team unable to lift it.
        context["already"] = contact.unsubscribed(team.pk, email)
        return render(request, "events/unsubscribe.html", context)
    listed = contact.unsubscribe(team=team, email=email)
    context.update(done=True, already=listed.already, withdrawn=listed.withdrawn)
    return render(request, "events/unsubscribe.html", context)


# The team's blocklist


def _team_or_404(request: HttpRequest, slug: str) -> Team:
    return get_team_or_404(request, slug, "contact.block")


def _page(
    request: AuthenticatedRequest,
    team: Team,
    *,
    error: str = "",
    email: str = "",
    note: str = "",
    status: int = 200,
) -> HttpResponse:
    query = request.GET.get("q", "").strip().lower()[:254]
    entries = ContactBlock.objects.filter(team=team).select_related("created_by")
    if query:
        entries = entries.filter(email__startswith=query)
    return render(
        request,
        "events/manage/contact_blocks.html",
        {
            "team": team,
            "entries": entries.order_by("-created_at", "-pk")[:SHOWN],
            "total": ContactBlock.objects.filter(team=team).count(),
            # Erased people's wishes: how many, never which (only a digest is kept).
            "suppressed": contact.suppressed_count(team),
            "shown": SHOWN,
            "query": query,
            "error": error,
            "email": email,
            "note": note,
        },
        status=status,
    )


@organizer_required
@require_GET
def contact_blocks(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    return _page(request, _team_or_404(request, slug))


@organizer_required
@require_POST
@rate_limit("contact-block", per_minute=60, key=by_user_or_ip)
def contact_block_add(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    team = _team_or_404(request, slug)
    email, note = request.POST.get("email", ""), request.POST.get("note", "")
    try:
        listed = contact.block(team=team, actor=request.user, email=email, note=note)
    except ServiceError as refusal:
        return _page(request, team, error=refusal.message, email=email, note=note, status=400)
    done = _("%(email)s will get no invitations or surveys from the team.") % {
        "email": listed.entry.email
    }
    if listed.withdrawn:
        done += " " + ngettext(
            "Their pending invitation was withdrawn (a seat held for it is free again).",
            "Their %(n)s pending invitations were withdrawn (seats held for them are free again).",
            listed.withdrawn,
        ) % {"n": listed.withdrawn}
    messages.success(request, done)
    return redirect("manage:contact_blocks", slug=team.slug)


@organizer_required
@require_POST
def contact_block_remove(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    team = _team_or_404(request, slug)
    entry = get_object_or_404(ContactBlock, pk=pk, team=team)
    try:
        contact.unblock(team=team, actor=request.user, entry=entry)
    except ServiceError as refusal:
        return _page(request, team, error=refusal.message, status=400)
    messages.success(request, _("%(email)s is off the list.") % {"email": entry.email})
    return redirect("manage:contact_blocks", slug=team.slug)
