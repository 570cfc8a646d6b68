"""The surveys domain's messages: the survey after a session, and its reminder. Both are
programme mail (see events/messages/__init__.py)."""

from datetime import datetime

from django.urls import reverse

from .. import timefmt
from ..models import Notification, Question, SurveyRecipient
from ..outbox.registry import Registry
from ..outbox.rendering import absolute
from ..services import surveys

Kind = Notification.Kind


def _recipient(notification: Notification) -> SurveyRecipient:
    # These kinds are owed with their survey recipient, and deleted with it (CASCADE).
    recipient = notification.survey_recipient
    assert recipient is not None
    return recipient


def context(notification: Notification, context: dict) -> None:
    recipient = _recipient(notification)
    survey = recipient.survey
    token = surveys.token_for(recipient)
    context["survey"] = survey
    context["links"]["survey"] = absolute(reverse("events:survey", args=[token]))
    context["survey_closes"] = timefmt.deadline_text(survey.closes_at, context["recipient_zone"])
    # By the id the survey row holds: loading the questionnaire would be one more query per mail.
    context["question_count"] = Question.objects.filter(
        questionnaire_id=survey.questionnaire_id
    ).count()


def still_relevant(notification: Notification) -> str:
    return surveys.still_relevant(_recipient(notification), notification.kind)


def team_of(notification: Notification) -> int:
    return _recipient(notification).survey.event.team_id


def language(notification: Notification) -> str:
    return _recipient(notification).survey.event.team.language


def sent(notification: Notification, now: datetime) -> None:
    if notification.kind == Kind.SURVEY:
        recipient_id = notification.survey_recipient_id
        assert recipient_id is not None  # as in _recipient; the row itself is not loaded here
        SurveyRecipient.objects.filter(pk=recipient_id, sent_at__isnull=True).update(sent_at=now)


def register(registry: Registry) -> None:
    registry.register_many(
        [Kind.SURVEY, Kind.SURVEY_REMINDER],
        context=context,
        still_relevant=still_relevant,
        related=("survey_recipient__survey__event__team",),
        on_sent=sent,
        programme=team_of,
        language=language,
    )
