"""Invitations (area "invitations"): an event's invitations, a list invited in bulk with
the page's own preview (who will be invited, who not and why; `dry_run` stops there),
revoking, sending again and extending, as the invitations page does."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from ...invite_parsing import Row
from ...models import Event, Invitation, Session
from ...services import invitations as service
from ..http import api, page_of, paginate, query, synced
from ..permissions import get_of_team_or_404
from ..serializers import (
    ExtendSerializer,
    InvitationQuery,
    InvitationSerializer,
    InviteResultSerializer,
    InviteSerializer,
)
from .events import IDEMPOTENCY

TAGS = ["invitations"]


def _invitation(request, pk: int) -> Invitation:
    return get_of_team_or_404(request, Invitation.objects.select_related("event"), pk=pk)


@extend_schema(
    methods=["GET"],
    tags=TAGS,
    summary="List an event's invitations",
    description="Newest first; with `updated_since`, those changed since, oldest change first.",
    parameters=[InvitationQuery],
    responses=page_of(InvitationSerializer, sync=True),
)
@extend_schema(
    methods=["POST"],
    tags=TAGS,
    summary="Invite a list of people (or preview it with dry_run)",
    description="The same checks as the invitation page: already registered or invited, "
    "listed twice, unsubscribed or blocked, the team's cool-down and limits. Those refused "
    "are listed with the reason; the others are invited (201), or would be (200, dry_run).",
    parameters=[IDEMPOTENCY],
    request=InviteSerializer,
    responses={200: InviteResultSerializer, 201: InviteResultSerializer},
)
@api(["GET", "POST"], "invitations")
def event_invitations(request, pk: int):
    event = get_of_team_or_404(request, Event.objects.select_related("team"), pk=pk)
    if request.method == "GET":
        filters = query(request, InvitationQuery)
        found = Invitation.objects.filter(event=event)
        if "status" in filters:
            found = found.filter(status=filters["status"])
        found, ordering = synced(found, filters, ("created_at", "id"))
        return paginate(request, found, InvitationSerializer, ordering=ordering, sync=True)
    sent = InviteSerializer(data=request.data)
    sent.is_valid(raise_exception=True)
    data = sent.validated_data
    session = None
    if data["session"] is not None:
        session = get_of_team_or_404(
            request, Session.objects.filter(event=event), pk=data["session"]
        )
    rows = [
        Row(line=n, email=p["email"].lower(), name=p["name"], note=p["note"])
        for n, p in enumerate(data["people"], start=1)
    ]
    preview = service.preview(event=event, session=session, rows=rows)
    result = {
        "invitations": [],
        "would_invite": [r.email for r in preview.valid]
        + ([r.email for r in preview.held_back] if data["override_reason"] else []),
        "refused": [
            {"line": line, "email": email, "reason": reason}
            for line, email, reason in sorted(preview.refused)
            if not (data["override_reason"] and email in {r.email for r in preview.held_back})
        ],
        "held_back": [r.email for r in preview.held_back],
    }
    if data["dry_run"]:
        return Response(result)
    created = service.create_batch(
        event=event,
        session=session,
        rows=rows,
        actor=request.user,
        expires_in_days=data["expires_in_days"],
        holds_seat=data["holds_seat"],
        message=data["message"],
        allow_any_account=data["allow_any_account"],
        override_reason=data["override_reason"],
    )
    result["invitations"] = InvitationSerializer(created, many=True).data
    return Response(result, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS, summary="Read an invitation", responses=InvitationSerializer)
@api(["GET"], "invitations")
def invitation(request, pk: int):
    return Response(InvitationSerializer(_invitation(request, pk)).data)


@extend_schema(
    tags=TAGS,
    summary="Revoke a pending invitation (a held seat goes back)",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: InvitationSerializer},
)
@api(["POST"], "invitations")
def invitation_revoke(request, pk: int):
    service.revoke(invitation=_invitation(request, pk), actor=request.user)
    return Response(InvitationSerializer(Invitation.objects.get(pk=pk)).data)


@extend_schema(
    tags=TAGS,
    summary="Send a pending invitation again, with a new link",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: InvitationSerializer},
)
@api(["POST"], "invitations")
def invitation_resend(request, pk: int):
    service.resend(invitation=_invitation(request, pk), actor=request.user)
    return Response(InvitationSerializer(Invitation.objects.get(pk=pk)).data)


@extend_schema(
    tags=TAGS,
    summary="Give a pending or expired invitation more days (a held seat is held again)",
    parameters=[IDEMPOTENCY],
    request=ExtendSerializer,
    responses={200: InvitationSerializer},
)
@api(["POST"], "invitations")
def invitation_extend(request, pk: int):
    sent = ExtendSerializer(data=request.data)
    sent.is_valid(raise_exception=True)
    service.extend(
        invitation=_invitation(request, pk), actor=request.user, days=sent.validated_data["days"]
    )
    return Response(InvitationSerializer(Invitation.objects.get(pk=pk)).data)
