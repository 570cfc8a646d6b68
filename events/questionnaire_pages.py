"""What the organizer pages of a questionnaire share, whoever owns it (a survey, an open
call): the owner with the links and context its pages need, the question builder's context,
and the preview. The survey, open-call and question-editor views all use these, so none of
them imports another."""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from . import permissions
from .forms.answers import AnswersForm
from .forms.questionnaire import QuestionForm
from .models import OpenCall, Questionnaire, Survey
from .services import questionnaire as engine


@dataclass(frozen=True)
class Owner:
    """What a questionnaire belongs to, as its organizer's pages need it."""

    questionnaire: Questionnaire
    title: str
    builder_url: str
    context: dict


def owner_of(request: HttpRequest, questionnaire_id: int) -> Owner:
    """The questionnaire's owner, if the viewer may edit it; 404 otherwise."""
    owner = permissions.get_questionnaire_owner_or_404(request, questionnaire_id)
    if isinstance(owner, Survey):
        return survey_owner(owner)
    return call_owner(owner)


def survey_owner(survey: Survey) -> Owner:
    event = survey.event
    return Owner(
        questionnaire=survey.questionnaire,
        title=f"Survey: {event.title}",
        builder_url=reverse("manage:survey", args=[event.pk]),
        context={"event": event, "survey": survey, "here": "Survey"},
    )


def call_owner(call: OpenCall) -> Owner:
    return Owner(
        questionnaire=call.questionnaire,
        title=call.title,
        builder_url=reverse("manage:call", args=[call.pk]),
        context={"call": call, "here": "Open call"},
    )


def builder_context(questionnaire: Questionnaire) -> dict:
    """What templates/questionnaire/_builder.html needs: the questions, which of them have
    answers (those cannot be removed), and the form to add one."""
    return {
        "questions": list(questionnaire.questions.all()),
        "answered": set(
            questionnaire.questions.filter(answers__isnull=False)
            .values_list("pk", flat=True)
            .distinct()
        ),
        "question_form": QuestionForm(),
        "max_questions": engine.MAX_QUESTIONS,
    }


def preview(request: HttpRequest, owner: Owner, *, title: str, intro: str = "") -> HttpResponse:
    """The form as a respondent sees it, with nothing to submit."""
    questions = list(owner.questionnaire.questions.all())
    return render(
        request,
        "questionnaire/preview.html",
        {
            **owner.context,
            "owner": owner,
            "title": title,
            "intro": intro,
            "fields": AnswersForm(questions=questions).question_fields,
            "here": "Preview",
        },
    )
