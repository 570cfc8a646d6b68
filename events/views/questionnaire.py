"""Organizers editing the questions of any questionnaire (a survey's, an open call's): one set
of views for every owner. `owner_of` (events/questionnaire_pages.py) finds what owns a
questionnaire and asks events/permissions.py whether the viewer may edit it; anyone else gets
a 404."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedRequest

from ..forms.questionnaire import ChoicesForm, QuestionForm
from ..models import Question
from ..permissions import organizer_required
from ..questionnaire_pages import Owner, owner_of
from ..services import ServiceError
from ..services import questionnaire as engine


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
def question_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def question_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def question_move(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    question, owner = question_owner(request, pk)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse("Move a question up or down.", status=400)
    engine.move_question(question=question, offset=offset)
    return redirect(f"{owner.builder_url}#question-{question.pk}")


@organizer_required
@require_POST
def question_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    question, owner = question_owner(request, pk)
    try:
        engine.remove_question(question=question)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Removed “{question.label}”.")
    return redirect(f"{owner.builder_url}#questions")
