"""Surveys (area "surveys"): an event's survey and its questions, the responses (named
surveys only: an anonymous survey's answers are given only as aggregated results, so no
respondent, time or order can be read from them), and the results."""

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from ...models import Answer, Event, Survey, SurveyRecipient
from ...services import surveys
from ..errors import Problem
from ..http import Cursor, api, page_of, query
from ..permissions import get_of_team_or_404
from ..serializers import (
    SurveyResponseSerializer,
    SurveyResultsSerializer,
    SurveySerializer,
    SyncQuery,
)

TAGS = ["surveys"]


def _survey(request, pk: int) -> Survey:
    event = get_of_team_or_404(request, Event.objects.all(), pk=pk)
    return get_object_or_404(Survey.objects.select_related("questionnaire"), event=event)


@extend_schema(tags=TAGS, summary="An event's survey and its questions", responses=SurveySerializer)
@api(["GET"], "surveys")
def survey(request, pk: int):
    return Response(SurveySerializer(_survey(request, pk)).data)


@extend_schema(
    tags=TAGS,
    summary="The responses to a named survey, one per person",
    description="An anonymous survey answers 422 `anonymous-survey`: read its results. "
    "In order of the last answer (answering again moves a response to the end); with "
    "`updated_since`, those answered or changed since.",
    parameters=[SyncQuery],
    responses=page_of(SurveyResponseSerializer, sync=True),
)
@api(["GET"], "surveys")
def survey_responses(request, pk: int):
    found = _survey(request, pk)
    if found.anonymous:
        raise Problem(
            "anonymous-survey",
            _("This survey is anonymous: its answers are given only as aggregated results."),
        )
    filters = query(request, SyncQuery)
    recipients = SurveyRecipient.objects.filter(
        survey=found, response__isnull=False, answered_at__isnull=False
    ).select_related("user")
    if "updated_since" in filters:
        # answered_at is the last answer's time: answering again updates the response.
        recipients = recipients.filter(answered_at__gte=filters["updated_since"])
    paginator = Cursor()
    paginator.sync = True
    paginator.ordering = ("answered_at", "id")
    page = paginator.paginate_queryset(recipients, request)
    answers: dict[int, dict[str, Any]] = {}
    rows = Answer.objects.filter(response_id__in=[r.response_id for r in page]).values_list(
        "response_id", "question_id", "question__kind", "number", "text"
    )
    for response_id, question_id, kind, number, text in rows.order_by("pk"):
        given = answers.setdefault(response_id, {})
        if kind == "multiple":
            given.setdefault(str(question_id), []).append(number)
        else:
            given[str(question_id)] = number if number is not None else text
    data = [
        {
            "id": r.response_id,
            "person": {"id": r.user.pk, "email": r.user.email, "name": r.user.name},
            "session": r.session_id,
            "answered_at": r.answered_at,
            "answers": answers.get(r.response_id, {}),
        }
        for r in page
    ]
    return paginator.get_paginated_response(SurveyResponseSerializer(data, many=True).data)


@extend_schema(
    tags=TAGS,
    summary="A survey's aggregated results: rates, counts per option, means, NPS, latest texts",
    responses=SurveyResultsSerializer,
)
@api(["GET"], "surveys")
def survey_results(request, pk: int):
    found = surveys.results(survey=_survey(request, pk))
    figures = found.results
    return Response(
        SurveyResultsSerializer(
            {
                "rate": found.rate,
                "respondents": figures.respondents if figures else 0,
                "questions": figures.questions if figures else [],
            }
        ).data
    )
