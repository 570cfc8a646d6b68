"""Organizers editing the questions of any questionnaire (a survey's, an open call's): one set
of views for every owner. `owner_of` finds what owns a questionnaire and checks that the
viewer organizes it; anyone else gets a 404."""

import csv
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ..forms.answers import AnswersForm
from ..forms.questionnaire import ChoicesForm, QuestionForm
from ..models import Event, Question, Questionnaire, Survey
from ..services import ServiceError
from ..services import questionnaire as engine
from .organizer import csv_safe, organizer_required, scope_to_organizer


@dataclass(frozen=True)
class Owner:
    """What a questionnaire belongs to, as its organizer's pages need it."""

    questionnaire: Questionnaire
    title: str
    builder_url: str
    context: dict


def owner_of(request: HttpRequest, questionnaire_id: int) -> Owner:
    """The questionnaire's owner, if the viewer organizes it; 404 otherwise."""
    survey = Survey.objects.filter(questionnaire_id=questionnaire_id).first()
    if survey is not None:
        events = scope_to_organizer(request, Event.objects.all(), "organizers")
        survey.event = get_object_or_404(events, pk=survey.event_id)
        return survey_owner(survey)
    from .open_calls import open_call_owner  # the open call's views import this module

    owner = open_call_owner(request, questionnaire_id)
    if owner is None:
        raise Http404
    return owner


def survey_owner(survey: Survey) -> Owner:
    event = survey.event
    return Owner(
        questionnaire=survey.questionnaire,
        title=f"Survey: {event.title}",
        builder_url=reverse("manage:survey", args=[event.pk]),
        context={"event": event, "survey": survey, "here": "Survey"},
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


class Echo:
    """A file-like object csv.writer writes into, returning each line instead of keeping it."""

    def write(self, value: str) -> str:
        return value


CSV_BLOCK = 1 << 16


def stream_csv(rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    """Stream any questionnaire's export (the engine's `csv_rows`): times in the viewer's
    zone, booleans as yes/no, every cell safe from formula injection. Rows go out in blocks
    of about 64 KiB: one write to the socket per block rather than per row, and memory holds
    one block at most, however many responses."""
    writer = csv.writer(Echo())
    viewer = timezone.get_current_timezone()

    def cell(value) -> str:
        if hasattr(value, "tzinfo"):
            return timezone.localtime(value, viewer).strftime("%Y-%m-%d %H:%M %Z")
        if isinstance(value, bool):
            return "yes" if value else "no"
        return csv_safe(value)

    def blocks():
        block, size = [], 0
        for row in rows:
            line = writer.writerow([cell(v) for v in row])
            block.append(line)
            size += len(line)
            if size >= CSV_BLOCK:
                yield "".join(block)
                block, size = [], 0
        if block:
            yield "".join(block)

    response = StreamingHttpResponse(blocks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def question_owner(request: HttpRequest, pk: int) -> tuple[Question, Owner]:
    question = get_object_or_404(Question, pk=pk)
    return question, owner_of(request, question.questionnaire_id)


def _service_fields(form: QuestionForm) -> dict:
    data = form.cleaned_data
    return {
        "label": data["label"],
        "kind": data["kind"],
        "choices": data["choices"],
        "required": data["required"],
        "help_text": data["help_text"],
    }


@organizer_required
@require_POST
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    owner = owner_of(request, pk)
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            engine.add_question(questionnaire=owner.questionnaire, **_service_fields(form))
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Question added.")
            return redirect(f"{owner.builder_url}#questions")
    else:
        messages.error(request, "The question was not added: " + _first_error(form))
    return redirect(f"{owner.builder_url}#add-question")


def _first_error(form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else errors[0]
    return "check the form."


@organizer_required
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, pk: int) -> HttpResponse:
    question, owner = question_owner(request, pk)
    data = request.POST if request.method == "POST" else None
    form = QuestionForm.for_question(question, data)
    choices_form = ChoicesForm(data, question=question)
    status = 200
    if request.method == "POST":
        # Both forms checked before anything is written; the engine then writes all or nothing.
        if form.is_valid() & choices_form.is_valid():
            fields = _service_fields(form)
            fields["choices"] = choices_form.choices(fields["choices"])
            try:
                engine.edit_question(question=question, **fields)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Question saved.")
                return redirect(f"{owner.builder_url}#questions")
        status = 400
    context = {
        **owner.context,
        "owner": owner,
        "question": question,
        "form": form,
        "choices_form": choices_form,
        "answered": engine.is_answered(question),
        "here": "Edit a question",
    }
    return render(request, "questionnaire/question_edit.html", context, status=status)


@organizer_required
@require_POST
def question_move(request: HttpRequest, pk: int) -> HttpResponse:
    question, owner = question_owner(request, pk)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse("Move a question up or down.", status=400)
    engine.move_question(question=question, offset=offset)
    return redirect(f"{owner.builder_url}#question-{question.pk}")


@organizer_required
@require_POST
def question_delete(request: HttpRequest, pk: int) -> HttpResponse:
    question, owner = question_owner(request, pk)
    try:
        engine.remove_question(question=question)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Removed “{question.label}”.")
    return redirect(f"{owner.builder_url}#questions")


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
