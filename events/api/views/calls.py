"""Open calls and the panel (area "calls"): the team's calls, a call's confirmed
submissions with their tags and reviews, scoring one, the team's segments and who is in
one (evaluated now, as the segment page does)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from ...models import OpenCall, Segment, Submission
from ...services import open_calls, segments
from ..http import SYNC_ORDER, api, page_of, paginate, query, synced
from ..permissions import get_of_team_or_404, of_team, token_of
from ..serializers import (
    CallSerializer,
    PageQuery,
    PanelMemberSerializer,
    ReviewSerializer,
    ReviewWriteSerializer,
    SegmentSerializer,
    SubmissionSerializer,
    SyncQuery,
)
from .events import IDEMPOTENCY

TAGS = ["calls"]


@extend_schema(
    tags=TAGS,
    summary="List the team's open calls",
    description="Oldest change first; with `updated_since`, those changed since.",
    parameters=[SyncQuery],
    responses=page_of(CallSerializer, sync=True),
)
@api(["GET"], "calls")
def calls(request):
    filters = query(request, SyncQuery)
    found, ordering = synced(of_team(request, OpenCall.objects.all()), filters, SYNC_ORDER)
    return paginate(request, found, CallSerializer, ordering=ordering, sync=True)


@extend_schema(
    tags=TAGS,
    summary="A call's confirmed submissions, with tags and reviews",
    parameters=[PageQuery],
    responses=page_of(SubmissionSerializer),
)
@api(["GET"], "calls")
def call_submissions(request, pk: int):
    query(request, PageQuery)
    call = get_of_team_or_404(request, OpenCall.objects.all(), pk=pk)
    found = Submission.objects.filter(call=call, confirmed_at__isnull=False).prefetch_related(
        "tags", "reviews__reviewer"
    )
    return paginate(request, found, SubmissionSerializer, ordering=("confirmed_at", "id"))


def _submission(request, pk: int) -> Submission:
    return get_of_team_or_404(
        request,
        Submission.objects.filter(confirmed_at__isnull=False)
        .select_related("call")
        .prefetch_related("tags", "reviews__reviewer"),
        pk=pk,
    )


@extend_schema(tags=TAGS, summary="Read a submission", responses=SubmissionSerializer)
@api(["GET"], "calls")
def submission(request, pk: int):
    return Response(SubmissionSerializer(_submission(request, pk)).data)


@extend_schema(
    tags=TAGS,
    summary="Score a submission (1-5) with a note, as the token's creator",
    parameters=[IDEMPOTENCY],
    request=ReviewWriteSerializer,
    responses={200: ReviewSerializer},
)
@api(["POST"], "calls")
def submission_review(request, pk: int):
    sent = ReviewWriteSerializer(data=request.data)
    sent.is_valid(raise_exception=True)
    given = open_calls.review(
        submission=_submission(request, pk), reviewer=request.user, **sent.validated_data
    )
    return Response(ReviewSerializer(given).data)


@extend_schema(
    tags=TAGS,
    summary="List the team's segments of its panel",
    parameters=[PageQuery],
    responses=page_of(SegmentSerializer),
)
@api(["GET"], "calls")
def segment_list(request):
    query(request, PageQuery)
    return paginate(
        request, of_team(request, Segment.objects.all()), SegmentSerializer, ordering=("id",)
    )


@extend_schema(
    tags=TAGS,
    summary="The people in a segment now",
    parameters=[PageQuery],
    responses=page_of(PanelMemberSerializer),
)
@api(["GET"], "calls")
def segment_members(request, pk: int):
    query(request, PageQuery)
    segment = get_of_team_or_404(request, Segment.objects.all(), pk=pk)
    people = segments.members(token_of(request).team, segment.definition)
    return paginate(request, people, PanelMemberSerializer, ordering=("id",))
