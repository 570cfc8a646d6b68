"""What the organizer pages of a questionnaire share, whoever owns it (a survey, an open
call, an event's screening questions): the owner with the links and context its pages need
and the service functions that change its questions under its rules (its editor), the
question builder's context, and the preview. The survey, open-call, event and
question-editor views all use these, so none of them imports another."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User

from . import permissions
from .forms.answers import AnswersForm
from .forms.questionnaire import QuestionForm
from .models import Event, OpenCall, Question, Questionnaire, Survey
from .services import audit, call_screening, screening
from .services import questionnaire as engine

# What the audit log keeps of a question (its words are the team's own).
LOGGED = ("label", "kind", "required", "keep_text")


def _record_keep_text(actor: User, before: bool, question: Question) -> None:
    """Keeping a question's free text past anonymisation (or no longer) decides whether
    people's words outlive the retention policy: its own entry, findable by its code."""
    if before != question.keep_text:
        audit.record_question(
            actor=actor,
            action="question.keep_text_changed",
            question=question,
            changes={"keep_text": [before, question.keep_text]},
        )


class Editor:
    """How the question editor changes a questionnaire's questions: the engine's rules (a
    survey's, an open call's). Every method calls a service, which checks everything."""

    kinds: list[str] = list(Question.Kind.values)
    max_questions = engine.MAX_QUESTIONS
    # An answered question stays: its answers are part of the results.
    removes_answered = False
    # A new question is optional unless the organizer ticks "required".
    required_at_first = False
    # Its text questions may keep their words when personal data is anonymised.
    keeps_text = True

    def __init__(self, questionnaire: Questionnaire) -> None:
        self.questionnaire = questionnaire

    # Each change and its audit entry in one transaction (the engine knows no owner, so the
    # entry is written here, for the survey's event or the call's team).
    @transaction.atomic
    def add(self, actor: User, **fields: Any) -> Question:
        question = engine.add_question(questionnaire=self.questionnaire, **fields)
        audit.record_question(
            actor=actor, action="question.added", question=question, fields=LOGGED
        )
        return question

    @transaction.atomic
    def edit(self, actor: User, question: Question, **fields: Any) -> Question:
        # The question's lock, as the engine takes it: the flag read is the one changed.
        before = Question.objects.select_for_update().get(pk=question.pk).keep_text
        edited = engine.edit_question(question=question, **fields)
        audit.record_question(actor=actor, action="question.edited", question=edited, fields=LOGGED)
        _record_keep_text(actor, before, edited)
        return edited

    @transaction.atomic
    def move(self, actor: User, question: Question, offset: int) -> None:
        engine.move_question(question=question, offset=offset)
        audit.record_question(actor=actor, action="question.moved", question=question)

    @transaction.atomic
    def remove(self, actor: User, question: Question) -> None:
        audit.record_question(
            actor=actor, action="question.removed", question=question, fields=LOGGED
        )
        engine.remove_question(question=question)

    def answered(self, questions: list[Question]) -> set[int]:
        """The ids of those of `questions` that people have answered."""
        return set(
            self.questionnaire.questions.filter(answers__isnull=False)
            .values_list("pk", flat=True)
            .distinct()
        )


class ScreeningEditor(Editor):
    """An event's screening questions: services/screening.py adds its rules to the engine's
    (the kinds an applicant may be asked, at most screening.MAX_QUESTIONS, only events that
    take applications) and reads the answers kept on registrations."""

    kinds = [str(kind) for kind in screening.KINDS]
    max_questions = screening.MAX_QUESTIONS
    # The answers stay on the registrations (and in the applicant's data export).
    removes_answered = True
    required_at_first = True
    # The answers live on the registrations and go with them.
    keeps_text = False

    def __init__(self, event: Event, questionnaire: Questionnaire) -> None:
        super().__init__(questionnaire)
        self.event = event

    def add(self, actor: User, **fields: Any) -> Question:
        return screening.add_question(event=self.event, actor=actor, **fields)

    def edit(self, actor: User, question: Question, **fields: Any) -> Question:
        return screening.edit_question(question=question, actor=actor, **fields)

    def move(self, actor: User, question: Question, offset: int) -> None:
        screening.move_question(question=question, actor=actor, offset=offset)

    def remove(self, actor: User, question: Question) -> None:
        screening.remove_question(question=question, actor=actor)

    def answered(self, questions: list[Question]) -> set[int]:
        return screening.answered_ids(event=self.event, questions=questions)


class CallEditor(Editor):
    """An open call's questions: the engine's rules, and its screening rules kept true (a
    question edited or removed under a rule re-scores the call: call_screening)."""

    def __init__(self, call: OpenCall) -> None:
        super().__init__(call.questionnaire)
        self.call = call

    @transaction.atomic
    def edit(self, actor: User, question: Question, **fields: Any) -> Question:
        # The call's lock first, as call_screening takes it (every edit of its questions
        # holds it), so the flag read here is the one this edit changes.
        OpenCall.objects.select_for_update().filter(pk=self.call.pk).first()
        before = Question.objects.get(pk=question.pk).keep_text
        edited = call_screening.edit_question(call=self.call, question=question, **fields)
        audit.record_question(actor=actor, action="question.edited", question=edited, fields=LOGGED)
        _record_keep_text(actor, before, edited)
        return edited

    @transaction.atomic
    def remove(self, actor: User, question: Question) -> None:
        audit.record_question(
            actor=actor, action="question.removed", question=question, fields=LOGGED
        )
        call_screening.remove_question(call=self.call, question=question)


@dataclass(frozen=True)
class Owner:
    """What a questionnaire belongs to, as its organizer's pages need it."""

    questionnaire: Questionnaire
    title: str
    builder_url: str
    context: dict
    editor: Editor


def owner_of(request: HttpRequest, questionnaire_id: int) -> Owner:
    """The questionnaire's owner, if the viewer may edit it; 404 otherwise."""
    owner = permissions.get_questionnaire_owner_or_404(request, questionnaire_id)
    if isinstance(owner, Survey):
        return survey_owner(owner)
    if isinstance(owner, Event):
        return screening_owner(owner)
    return call_owner(owner)


def survey_owner(survey: Survey) -> Owner:
    event = survey.event
    return Owner(
        questionnaire=survey.questionnaire,
        title=_("Survey: {title}").format(title=event.title),
        builder_url=reverse("manage:survey", args=[event.pk]),
        context={"event": event, "survey": survey, "here": _("Survey")},
        editor=Editor(survey.questionnaire),
    )


def call_owner(call: OpenCall) -> Owner:
    return Owner(
        questionnaire=call.questionnaire,
        title=call.title,
        builder_url=reverse("manage:call", args=[call.pk]),
        context={"call": call, "here": _("Open call")},
        editor=CallEditor(call),
    )


def screening_owner(event: Event) -> Owner:
    """An event's screening questions (the event has its questionnaire: see
    scheduling.create_event). Their builder is on the event's organizer page."""
    assert event.screening is not None
    return Owner(
        questionnaire=event.screening,
        title=_("Screening: {title}").format(title=event.title),
        builder_url=reverse("manage:event", args=[event.pk]),
        context={"event": event, "here": _("Screening questions")},
        editor=ScreeningEditor(event, event.screening),
    )


def builder_context(questionnaire: Questionnaire, editor: Editor | None = None) -> dict:
    """What templates/questionnaire/_builder.html needs: the questions, which of them have
    answers (those cannot be removed, unless the editor says so), and the form to add one
    (offering the kinds its owner may ask)."""
    editor = editor or Editor(questionnaire)
    questions = list(questionnaire.questions.all())
    return {
        "questionnaire": questionnaire,
        "questions": questions,
        "answered": editor.answered(questions),
        "removes_answered": editor.removes_answered,
        "question_form": QuestionForm(
            kinds=editor.kinds,
            keeps_text=editor.keeps_text,
            initial={"required": editor.required_at_first},
        ),
        "max_questions": editor.max_questions,
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
            "here": _("Preview"),
        },
    )
