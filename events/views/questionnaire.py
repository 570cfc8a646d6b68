"""Organizers editing the questions of any questionnaire (a survey's, an open call's, an
event's screening questions): one set of views for every owner. `owner_of`
(events/questionnaire_pages.py) finds what owns a questionnaire and asks
events/permissions.py whether the viewer may edit it; anyone else gets a 404. Every change
goes through the owner's editor, which calls the services that hold its rules."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedRequest

from ..forms.questionnaire import ChoicesForm, QuestionForm
from ..models import Question
from ..permissions import organizer_required
from ..questionnaire_pages import Owner, owner_of
from ..services import ServiceError


def question_owner(request: HttpRequest, pk: int) -> tuple[Question, Owner]:
    question = get_object_or_404(Question, pk=pk)
    return question, owner_of(request, question.questionnaire_id)


def _service_fields(form: QuestionForm) -> dict:
    data = form.cleaned_data
    fields = {
        "label": data["label"],
        "kind": data["kind"],
        "choices": data["choices"],
        "required": data["required"],
        "help_text": data["help_text"],
    }
    if "keep_text" in data:  # only owners whose answers follow the retention policy
        fields["keep_text"] = data["keep_text"]
    return fields


@organizer_required
@require_POST
def question_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    owner = owner_of(request, pk)
    form = QuestionForm(request.POST, kinds=owner.editor.kinds, keeps_text=owner.editor.keeps_text)
    if form.is_valid():
        try:
            owner.editor.add(request.user, **_service_fields(form))
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Question added."))
            return redirect(f"{owner.builder_url}#questions")
    # The form again, as typed, with what to fix: nothing was added.
    context = {
        **owner.context,
        "owner": owner,
        "form": form,
        "refusal": _first_error(form),
        "here": _("Add a question"),
    }
    return render(request, "questionnaire/question_new.html", context, status=400)


def _first_error(form: QuestionForm) -> str:
    """The first field's error, named by the field ("" when only the form as a whole was
    refused: the page shows that message above the fields)."""
    for field, errors in form.errors.items():
        if field in form.fields:
            return _("{field}: {error}").format(field=form.fields[field].label, error=errors[0])
    return ""


@organizer_required
@require_http_methods(["GET", "POST"])
def question_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    question, owner = question_owner(request, pk)
    data = request.POST if request.method == "POST" else None
    form = QuestionForm.for_question(
        question, data, kinds=owner.editor.kinds, keeps_text=owner.editor.keeps_text
    )
    choices_form = ChoicesForm(data, question=question)
    status = 200
    if request.method == "POST":
        # Both forms checked before anything is written; the engine then writes all or nothing.
        if form.is_valid() & choices_form.is_valid():
            fields = _service_fields(form)
            fields["choices"] = choices_form.choices(fields["choices"])
            try:
                owner.editor.edit(request.user, question, **fields)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Question saved."))
                return redirect(f"{owner.builder_url}#questions")
        status = 400
    context = {
        **owner.context,
        "owner": owner,
        "question": question,
        "form": form,
        "choices_form": choices_form,
        "answered": question.pk in owner.editor.answered([question]),
        "here": _("Edit a question"),
    }
    return render(request, "questionnaire/question_edit.html", context, status=status)


@organizer_required
@require_POST
def question_move(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    question, owner = question_owner(request, pk)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse(_("Move a question up or down."), status=400)
    owner.editor.move(request.user, question, offset)
    return redirect(f"{owner.builder_url}#question-{question.pk}")


@organizer_required
@require_POST
def question_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    question, owner = question_owner(request, pk)
    try:
        owner.editor.remove(request.user, question)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Removed “{label}”.").format(label=question.label))
    return redirect(f"{owner.builder_url}#questions")
