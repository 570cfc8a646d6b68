"""Attendance (area "attendance"): who came to a session, check in, undo a check-in."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from ...models import Registration, Session
from ...services import attendance
from ..http import api, page_of, paginate, query
from ..permissions import get_of_team_or_404
from ..serializers import AttendanceSerializer, OutcomeSerializer, PageQuery, RegistrationSerializer
from .events import IDEMPOTENCY

TAGS = ["attendance"]


def _outcome(outcome: attendance.Outcome) -> Response:
    fresh = Registration.objects.select_related("user", "session").get(pk=outcome.registration.pk)
    return Response(
        {
            "registration": RegistrationSerializer(fresh).data,
            "changed": outcome.changed,
            "message": outcome.message,
        }
    )


def _registration(request, pk: int) -> Registration:
    return get_of_team_or_404(request, Registration.objects.select_related("session__event"), pk=pk)


@extend_schema(
    tags=TAGS,
    summary="A session's confirmed and cancelled people and whether they came",
    parameters=[PageQuery],
    responses=page_of(AttendanceSerializer),
)
@api(["GET"], "attendance")
def session_attendance(request, pk: int):
    query(request, PageQuery)
    session = get_of_team_or_404(request, Session.objects.all(), pk=pk)
    people = Registration.objects.select_related("user", "session").filter(
        session=session,
        status__in=[Registration.Status.CONFIRMED, Registration.Status.CANCELLED],
    )
    return paginate(request, people, AttendanceSerializer, ordering=("id",))


@extend_schema(
    tags=TAGS,
    summary="Check someone in (a second check-in changes nothing and says so)",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: OutcomeSerializer},
)
@api(["POST"], "attendance")
def check_in(request, pk: int):
    outcome = attendance.check_in(registration=_registration(request, pk), actor=request.user)
    return _outcome(outcome)


@extend_schema(
    tags=TAGS,
    summary="Undo a check-in",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: OutcomeSerializer},
)
@api(["POST"], "attendance")
def undo_check_in(request, pk: int):
    outcome = attendance.undo_check_in(registration=_registration(request, pk), actor=request.user)
    return _outcome(outcome)
