"""Registrations (area "registrations"): the list with filters, one registration, and the
organizer's decisions on it (approve, reject, move in from the waitlist, cancel); a
session's waitlist and running offers."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from ...models import Registration, Session
from ...services import registration as registrations
from ...services import review
from ..http import api, page_of, paginate, query
from ..permissions import get_of_team_or_404, of_team
from ..serializers import (
    ApproveSerializer,
    PageQuery,
    RegistrationQuery,
    RegistrationSerializer,
)
from .events import IDEMPOTENCY

TAGS = ["registrations"]
ROWS = Registration.objects.select_related("user", "session")


def _registration(request, pk: int) -> Registration:
    return get_of_team_or_404(
        request, Registration.objects.select_related("user", "session__event"), pk=pk
    )


def _fresh(found: Registration) -> Response:
    return Response(RegistrationSerializer(ROWS.get(pk=found.pk)).data)


@extend_schema(
    tags=TAGS,
    summary="List the team's registrations",
    description="Oldest change first: keep the last `updated_at` seen and ask again with "
    "`updated_since` for what changed since.",
    parameters=[RegistrationQuery],
    responses=page_of(RegistrationSerializer, sync=True),
)
@api(["GET"], "registrations")
def registration_list(request):
    filters = query(request, RegistrationQuery)
    found = of_team(request, ROWS)
    if "status" in filters:
        found = found.filter(status=filters["status"])
    if "updated_since" in filters:
        found = found.filter(updated_at__gte=filters["updated_since"])
    if "event" in filters:
        found = found.filter(session__event_id=filters["event"])
    if "session" in filters:
        found = found.filter(session_id=filters["session"])
    return paginate(request, found, RegistrationSerializer, sync=True)


@extend_schema(tags=TAGS, summary="Read a registration", responses=RegistrationSerializer)
@api(["GET"], "registrations")
def registration(request, pk: int):
    return Response(RegistrationSerializer(_registration(request, pk)).data)


@extend_schema(
    tags=TAGS,
    summary="Approve an applicant (a seat, or the waitlist when full if asked)",
    parameters=[IDEMPOTENCY],
    request=ApproveSerializer,
    responses={200: RegistrationSerializer},
)
@api(["POST"], "registrations")
def registration_approve(request, pk: int):
    sent = ApproveSerializer(data=request.data)
    sent.is_valid(raise_exception=True)
    found = review.approve(
        registration=_registration(request, pk),
        actor=request.user,
        when_full=sent.validated_data["when_full"],
    )
    return _fresh(found)


@extend_schema(
    tags=TAGS,
    summary="Turn down an applicant or someone waiting",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: RegistrationSerializer},
)
@api(["POST"], "registrations")
def registration_reject(request, pk: int):
    return _fresh(review.reject(registration=_registration(request, pk), actor=request.user))


@extend_schema(
    tags=TAGS,
    summary="Move someone in from the waitlist, ahead of the queue, if a seat is free",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: RegistrationSerializer},
)
@api(["POST"], "registrations")
def registration_move_in(request, pk: int):
    return _fresh(review.move_in(registration=_registration(request, pk), actor=request.user))


@extend_schema(
    tags=TAGS,
    summary="Cancel a registration as the organizers (the person is told)",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: RegistrationSerializer},
)
@api(["POST"], "registrations")
def registration_cancel(request, pk: int):
    found = registrations.cancel(
        registration=_registration(request, pk), actor=request.user, by_organizer=True
    )
    return _fresh(found)


@extend_schema(
    tags=TAGS,
    summary="A session's waitlist and running offers, in queue order",
    parameters=[PageQuery],
    responses=page_of(RegistrationSerializer),
)
@api(["GET"], "registrations")
def session_waitlist(request, pk: int):
    query(request, PageQuery)
    session = get_of_team_or_404(request, Session.objects.all(), pk=pk)
    waiting = ROWS.filter(
        session=session,
        status__in=[Registration.Status.WAITLISTED, Registration.Status.OFFERED],
    )
    return paginate(request, waiting, RegistrationSerializer, ordering=("waitlisted_at", "id"))
