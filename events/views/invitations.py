"""Invitations, both sides: organizers invite lists of people (preview first, then confirm)
and manage the table; invitees open their link and accept or decline."""

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedRequest
from accounts.middleware import prefer_team_language, reader_language

from ..forms.invitations import POOL_PREFILL_KEY, ExtendForm, InviteForm
from ..forms.public import SignUpForm
from ..invite_parsing import ListError, Row, parse_csv, parse_pasted
from ..models import Event, Invitation, Notification, Session
from ..permissions import get_event_or_404, get_or_404, organizer_required
from ..ratelimit import by_ip, rate_limit
from ..services import ServiceError
from ..services import invitations as service
from ..services import registration as registration_service

Status = Invitation.Status
PREVIEW_KEY = "invitation-previews"


# Organizers


@organizer_required
@require_GET
def invitation_list(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "invitation.send")
    status = request.GET.get("status", "")
    status = status if status in Status.values else ""
    counts = dict.fromkeys(Status.values, 0)
    counts.update(
        Invitation.objects.filter(event=event)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    # Where the invitation's latest mail stands in the outbox: right after sending, the worker
    # has not sent it yet, and "not yet" read as if nothing would happen.
    latest_mail = Notification.objects.filter(
        invitation=OuterRef("pk"), kind=Notification.Kind.INVITATION
    ).order_by("-pk")
    rows = (
        Invitation.objects.filter(event=event)
        .select_related("session", "registration")
        .annotate(mail_status=Subquery(latest_mail.values("status")[:1]))
    )
    if status:
        rows = rows.filter(status=status)
    return render(
        request,
        "events/manage/invitations.html",
        {
            "event": event,
            "rows": rows.order_by("-created_at", "pk")[:2000],
            "counts": counts,
            "total": sum(counts.values()),
            "status": status,
            "statuses": Status.choices,
            "here": _("Invitations"),
            "now": timezone.now(),
            "extend_form": ExtendForm(),
        },
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def invite(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Step 1: the list and options. POST parses and shows the preview (nothing is created)."""
    event = get_event_or_404(request, pk, "invitation.send")
    # People chosen in an open call's pool arrive here as a prefilled list (see open_calls).
    prefill = request.session.pop(POOL_PREFILL_KEY, None) if request.GET.get("from_pool") else None
    initial = {}
    if prefill and prefill.get("event") == event.pk:
        initial["pasted"] = "\n".join(
            f"{name} <{email}>" if name else email for email, name in prefill["rows"]
        )
    form = InviteForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        event=event,
        initial=initial,
    )
    context = {"event": event, "form": form, "here": _("Invite people")}
    if request.method == "GET":
        return render(request, "events/manage/invite.html", context)
    if not form.is_valid():
        return render(request, "events/manage/invite.html", context, status=400)
    try:
        upload = form.cleaned_data.get("csv_file")
        parsed = parse_csv(upload.read()) if upload else parse_pasted(form.cleaned_data["pasted"])
    except ListError as error:
        form.add_error(None, error.message)
        return render(request, "events/manage/invite.html", context, status=400)
    session = form.target_session()
    preview = service.preview(event=event, session=session, rows=parsed.rows)
    # The preview is kept server-side until it is confirmed (or replaced by another).
    stored = {
        "token": uuid.uuid4().hex,
        "event": event.pk,
        "session": session.pk if session else None,
        "rows": [[r.line, r.email, r.name, r.note] for r in preview.valid],
        # Held back by the team's cool-down or limit: invited only if the organizer sets the
        # rules aside, with a reason.
        "held": [[r.line, r.email, r.name, r.note] for r in preview.held_back],
        "refused": sorted(preview.refused + parsed.errors),
        "options": {
            k: form.cleaned_data[k]
            for k in ("expires_in_days", "holds_seat", "allow_any_account", "message")
        },
    }
    request.session[PREVIEW_KEY] = stored
    return _preview_page(request, event, session, stored)


def _preview_page(
    request: AuthenticatedRequest,
    event: Event,
    session: Session | None,
    stored: dict,
    *,
    error: str = "",
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "events/manage/invite_preview.html",
        {
            "event": event,
            "session": session,
            "valid": [
                Row(line=n, email=e, name=name, note=note) for n, e, name, note in stored["rows"]
            ],
            "held": stored.get("held", []),
            "with_held": len(stored["rows"]) + len(stored.get("held", [])),
            "refused": [tuple(r) for r in stored.get("refused", [])],
            "token": stored["token"],
            "options": stored["options"],
            "override_error": error,
            "override_reason": reason,
            "here": _("Check the list"),
        },
        status=status,
    )


@organizer_required
@require_POST
def invite_confirm(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Step 2: create the invitations of the previewed list, in bulk. With `override`, also
    those the team's cool-down or limit held back, for the reason given (the service
    refuses an empty one: the preview comes back with the message, nothing sent)."""
    event = get_event_or_404(request, pk, "invitation.send")
    stored = request.session.get(PREVIEW_KEY)
    if not stored or stored["token"] != request.POST.get("token") or stored["event"] != event.pk:
        messages.error(request, _("This preview is out of date; please add the list again."))
        return redirect("manage:invite", event.pk)
    session = None
    if stored["session"]:
        session = get_object_or_404(Session, pk=stored["session"], event=event)
    override = request.POST.get("override") == "1"
    listed = stored["rows"] + (stored.get("held", []) if override else [])
    rows = [Row(line=n, email=e, name=name, note=note) for n, e, name, note in sorted(listed)]
    reason = request.POST.get("override_reason", "")
    try:
        created = service.create_batch(
            event=event,
            session=session,
            rows=rows,
            actor=request.user,
            override_reason=reason if override else None,
            **stored["options"],
        )
    except ServiceError as error:
        if override:
            return _preview_page(
                request, event, session, stored, error=error.message, reason=reason, status=400
            )
        messages.error(request, error.message)
        return redirect("manage:invite", event.pk)
    del request.session[PREVIEW_KEY]
    messages.success(
        request,
        ngettext(
            "{count} invitation on their way.", "{count} invitations on their way.", len(created)
        ).format(count=len(created)),
    )
    return redirect("manage:invitations", event.pk)


@organizer_required
@require_POST
def invitation_action(request: AuthenticatedRequest, pk: int, action: str) -> HttpResponse:
    invitation = get_or_404(
        request, Invitation.objects.select_related("event"), "invitation.send", pk=pk
    )
    try:
        if action == "resend":
            service.resend(invitation=invitation, actor=request.user)
            done = _("Sent again to {email}, with a new link.").format(email=invitation.email)
        elif action == "revoke":
            service.revoke(invitation=invitation, actor=request.user)
            done = _("Withdrawn: {email} can no longer use the link.").format(
                email=invitation.email
            )
        elif action == "extend":
            form = ExtendForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Extend by a whole number of days from 1 to 90."))
            service.extend(
                invitation=invitation, actor=request.user, days=form.cleaned_data["days"]
            )
            days = form.cleaned_data["days"]
            done = ngettext(
                "Extended: {email} has {days} more day.",
                "Extended: {email} has {days} more days.",
                days,
            ).format(email=invitation.email, days=days)
        else:
            raise ServiceError(_("Unknown action."))
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(f"{reverse('manage:invitations', args=[invitation.event_id])}")
    messages.success(request, done)
    return redirect("manage:invitations", invitation.event_id)


# Invitees


@require_http_methods(["GET", "POST"])
@rate_limit("invitation", per_minute=30, methods=("GET", "POST"), key=by_ip)
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee's page. GET only shows it (mail scanners open links); accepting or
    declining is a POST. Declining needs no account; accepting needs the invited one."""
    found = service.from_token(token)
    if found is None:
        return render(request, "events/invitation_invalid.html", status=404)
    event, session = found.event, found.session
    prefer_team_language(request, event.team.language)
    if request.method == "POST":
        # The language they answered in is the one their later mail is written in. Only an
        # answer records it: mail scanners open the link too, in their own language.
        service.note_language(invitation=found, language=reader_language(request))
    user = request.user
    needs_terms = event.is_confidential and (
        not user.is_authenticated
        or not registration_service.has_accepted_terms(user=user, event=event)
    )
    sessions = (
        [session]
        if session
        else list(
            event.sessions.filter(status=Session.Status.SCHEDULED, starts_at__gt=timezone.now())
        )
    )
    form = SignUpForm(
        request.POST if request.method == "POST" else None,
        event=event,
        needs_terms=needs_terms and request.POST.get("action") != "decline",
        questions=[],
    )
    context = {
        "invitation": found,
        "event": event,
        "session": session,
        "sessions": sessions,
        "form": form,
        "token": token,
        "needs_terms": needs_terms,
        "may_accept": user.is_authenticated and service.may_accept(found, user),
        "login_url": f"{reverse('account_login')}?{urlencode({'next': request.path})}",
        "signup_url": (
            f"{reverse('account_signup')}?"
            + urlencode({"email": found.email, "next": request.path})
        ),
    }
    try:
        service.check_open(found)
    except ServiceError as error:
        context["closed"] = error.message
        return render(
            request,
            "events/invitation.html",
            context,
            status=410 if request.method == "POST" else 200,
        )
    if request.method == "GET":
        return render(request, "events/invitation.html", context)
    action = request.POST.get("action")
    try:
        if action == "decline":
            service.decline(invitation=found)
            messages.success(request, _("Declined. Thank you for letting the organizers know."))
            return redirect("events:invitation", token=token)
        if action != "accept":
            raise ServiceError(_("Choose accept or decline."))
        if not user.is_authenticated:
            return redirect(str(context["login_url"]))
        if not form.is_valid():
            raise ServiceError(_("You need to accept the terms to join."))
        chosen = None
        if session is None:
            chosen = next((s for s in sessions if str(s.pk) == request.POST.get("session")), None)
        registration = service.accept(
            invitation=found,
            user=user,
            session=chosen,
            terms_version=form.cleaned_data["terms_version"] if needs_terms else None,
        )
    except ServiceError as error:
        context["refusal"] = error.message
        return render(request, "events/invitation.html", context, status=400)
    text = (
        _("You're in: your seat is confirmed.")
        if registration.status == registration.Status.CONFIRMED
        else _(
            "The session is full, so you're on the waitlist; we'll email you if a seat frees up."
        )
    )
    messages.success(request, text)
    return redirect("events:my_sessions")
