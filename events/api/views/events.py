"""Events and their sessions: list, read, create, update, publish, cancel (area "events")."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ...models import Event, Session
from ...services import scheduling
from ..http import api, page_of, paginate, query, synced
from ..permissions import get_of_team_or_404, of_team, token_of
from ..serializers import (
    EventQuery,
    EventSerializer,
    EventWriteSerializer,
    SessionSerializer,
    SessionWriteSerializer,
    SyncQuery,
)

TAGS = ["events"]
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID): a retry with the same key returns the first result.",
)


def _event(request, pk: int) -> Event:
    return get_of_team_or_404(request, Event.objects.select_related("team"), pk=pk)


def _session(request, pk: int) -> Session:
    return get_of_team_or_404(request, Session.objects.select_related("event"), pk=pk)


@extend_schema(
    methods=["GET"],
    tags=TAGS,
    summary="List the team's events",
    parameters=[EventQuery],
    responses=page_of(EventSerializer, sync=True),
)
@extend_schema(
    methods=["POST"],
    tags=TAGS,
    summary="Create an event (a draft)",
    parameters=[IDEMPOTENCY],
    request=EventWriteSerializer,
    responses={201: EventSerializer},
)
@api(["GET", "POST"], "events")
def events(request):
    if request.method == "POST":
        sent = EventWriteSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        team = token_of(request).team
        fields = {"timezone": team.timezone, **sent.validated_data}  # as the page's default
        event = scheduling.create_event(team=team, actor=request.user, **fields)
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)
    filters = query(request, EventQuery)
    found = of_team(request, Event.objects.select_related("team"))
    if "status" in filters:
        found = found.filter(status=filters["status"])
    if "updated_since" in filters:
        found = found.filter(updated_at__gte=filters["updated_since"])
    return paginate(request, found, EventSerializer, sync=True)


@extend_schema(methods=["GET"], tags=TAGS, summary="Read an event", responses=EventSerializer)
@extend_schema(
    methods=["PATCH"],
    tags=TAGS,
    summary="Change an event",
    request=EventWriteSerializer,
    responses=EventSerializer,
)
@api(["GET", "PATCH"], "events")
def event(request, pk: int):
    found = _event(request, pk)
    if request.method == "PATCH":
        sent = EventWriteSerializer(found, data=request.data, partial=True)
        sent.is_valid(raise_exception=True)
        found = scheduling.update_event(event=found, actor=request.user, **sent.validated_data)
    return Response(EventSerializer(found).data)


@extend_schema(
    tags=TAGS,
    summary="Publish an event",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: EventSerializer},
)
@api(["POST"], "events")
def event_publish(request, pk: int):
    found = scheduling.publish_event(event=_event(request, pk), actor=request.user)
    return Response(EventSerializer(found).data)


@extend_schema(
    tags=TAGS,
    summary="Cancel an event and its sessions to come (everyone is told)",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: EventSerializer},
)
@api(["POST"], "events")
def event_cancel(request, pk: int):
    found = scheduling.cancel_event(event=_event(request, pk), actor=request.user)
    return Response(EventSerializer(found).data)


@extend_schema(
    methods=["GET"],
    tags=TAGS,
    summary="List an event's sessions",
    description="In start order; with `updated_since`, those changed since (seats taken "
    "included), oldest change first.",
    parameters=[SyncQuery],
    responses=page_of(SessionSerializer, sync=True),
)
@extend_schema(
    methods=["POST"],
    tags=TAGS,
    summary="Add a session to an event",
    parameters=[IDEMPOTENCY],
    request=SessionWriteSerializer,
    responses={201: SessionSerializer},
)
@api(["GET", "POST"], "events")
def event_sessions(request, pk: int):
    found = _event(request, pk)
    if request.method == "POST":
        sent = SessionWriteSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        session = scheduling.create_session(event=found, actor=request.user, **sent.validated_data)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)
    filters = query(request, SyncQuery)
    sessions, ordering = synced(Session.objects.filter(event=found), filters, ("starts_at", "id"))
    return paginate(request, sessions, SessionSerializer, ordering=ordering, sync=True)


@extend_schema(methods=["GET"], tags=TAGS, summary="Read a session", responses=SessionSerializer)
@extend_schema(
    methods=["PATCH"],
    tags=TAGS,
    summary="Change a session (attendees get the calendar update)",
    request=SessionWriteSerializer,
    responses=SessionSerializer,
)
@api(["GET", "PATCH"], "events")
def session(request, pk: int):
    found = _session(request, pk)
    if request.method == "PATCH":
        sent = SessionWriteSerializer(found, data=request.data, partial=True)
        sent.is_valid(raise_exception=True)
        found = scheduling.update_session(session=found, actor=request.user, **sent.validated_data)
    return Response(SessionSerializer(found).data)


@extend_schema(
    tags=TAGS,
    summary="Cancel a session (everyone in it is told)",
    parameters=[IDEMPOTENCY],
    request=None,
    responses={200: SessionSerializer},
)
@api(["POST"], "events")
def session_cancel(request, pk: int):
    found = scheduling.cancel_session(session=_session(request, pk), actor=request.user)
    return Response(SessionSerializer(found).data)
