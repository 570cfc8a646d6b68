"""What the outbox did for one session: every attendee's messages and their status, and a
'send again' for a failed one. Organizers of the event only (404 for anyone else)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from ..models import Notification
from ..permissions import get_or_404, get_session_or_404, organizer_required
from ..services import ServiceError, notices


@organizer_required
@require_GET
def session_messages(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    session = get_session_or_404(request, pk, "event.view")
    status = request.GET.get("status", "")
    # An anonymous survey's reminders go only to those who have not answered: listing them
    # person by person would tell the organizers who answered.
    owed = Notification.objects.filter(session=session).exclude(
        kind=Notification.Kind.SURVEY_REMINDER, survey_recipient__survey__anonymous=True
    )
    rows = owed.select_related("recipient")
    if status in Notification.Status.values:
        rows = rows.filter(status=status)
    else:
        status = ""
    counts = dict.fromkeys(Notification.Status.values, 0)
    for value in owed.values_list("status", flat=True):
        counts[value] += 1
    return render(
        request,
        "events/manage/messages.html",
        {
            "session": session,
            "event": session.event,
            "rows": rows.order_by("-created_at", "-pk")[:1000],
            "status": status,
            "counts": counts,
            "statuses": Notification.Status.choices,
            "here": _("Messages"),
        },
    )


@organizer_required
@require_POST
def resend(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    rows = Notification.objects.select_related("session", "invitation")
    notification = get_or_404(request, rows, "message.resend", pk=pk)
    try:
        notices.resend(notification=notification, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The message to {email} will be sent again.").format(email=notification.email),
        )
    if notification.session_id:
        return redirect("manage:session_messages", notification.session_id)
    if notification.invitation is not None:  # an invitation to a whole event
        return redirect("manage:invitations", notification.invitation.event_id)
    # Organizers reach no other message; staff reach every row (an open call's, say).
    return redirect("manage:dashboard")
