"""The respondent's form, built from the questions they are asked (as pretix's
`BaseQuestionsForm` is): one Django field per question, chosen by its kind, so validation,
messages and what is shown again after an error all come from Django. Every page that asks
questions uses it (a survey's link, an open call's page, where the profile fields join it).

It reads input and nothing else: the engine (services.questionnaire) keeps the answers and
the rules on them."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models.questionnaire import Question
from ..services.questionnaire import MAX_TEXT, SCALES, field_name

Kind = Question.Kind
REQUIRED = _("This question needs an answer.")
FOREIGN = _("This form has changed or the answers do not belong to it. Reload it.")


class _OneValue:
    """A widget that hands every posted value to its field, so that several values for a
    one-answer question are refused ("Pick only one") instead of silently keeping the last."""

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if isinstance(values, list | tuple):
            return list(values) if len(values) > 1 else (values[0] if values else None)
        return values


class OneRadio(_OneValue, forms.RadioSelect):
    pass


class OneText(_OneValue, forms.TextInput):
    pass


class OneTextarea(_OneValue, forms.Textarea):
    pass


class TextAnswer(forms.CharField):
    def to_python(self, value):
        if isinstance(value, list):
            raise forms.ValidationError(_("Give one answer."), code="several")
        return super().to_python(value)


class OneChoice(forms.TypedChoiceField):
    """A scale or a single choice: one number among those offered."""

    def to_python(self, value):
        if isinstance(value, list):
            raise forms.ValidationError(_("Pick only one."), code="several")
        return super().to_python(value.strip() if isinstance(value, str) else value)


class SomeChoices(forms.TypedMultipleChoiceField):
    """A multiple choice: each chosen id once, in the order of the ids."""

    def clean(self, value):
        values = [value] if isinstance(value, str | int) else list(value or [])
        picked = super().clean([str(v).strip() for v in values if str(v).strip()])
        return sorted(set(picked)) or None


def field_for(question: Question) -> forms.Field:
    kind = question.kind
    messages = {"required": REQUIRED}
    # What every kind's field takes from its question.
    asked: dict[str, Any] = {
        "label": question.label,
        "help_text": question.help_text,
        "required": question.required,
    }
    if kind in MAX_TEXT:
        return TextAnswer(
            **asked,
            max_length=MAX_TEXT[kind],
            empty_value=None,
            widget=OneTextarea if kind == Kind.LONG_TEXT else OneText,
            error_messages={
                **messages,
                "max_length": _(
                    "At most %(limit_value)d characters, please (this has %(show_value)d)."
                ),
                "null_characters_not_allowed": _(
                    "This answer contains characters that cannot be kept."
                ),
            },
        )
    if kind in SCALES:
        scale = SCALES[kind]
        options = [(n, str(n)) for n in scale]
        wrong = gettext("Pick a number from %(low)d to %(high)d.") % {
            "low": scale.start,
            "high": scale.stop - 1,
        }
    else:
        options = question.offered_choices
        wrong = gettext("Pick one of the choices offered.")
    if kind == Kind.MULTIPLE:
        return SomeChoices(
            **asked,
            choices=options,
            coerce=int,
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                **messages,
                "invalid_choice": _("Pick among the choices offered."),
                "invalid_list": _("Pick among the choices offered."),
            },
        )
    return OneChoice(
        **asked,
        choices=options,
        coerce=int,
        empty_value=None,
        widget=OneRadio,
        error_messages={**messages, "invalid_choice": wrong},
    )


class AnswersForm(forms.Form):
    """One field per question (`q<id>`), given in their order. `answers()`: {question id:
    value or None} once valid, as `services.questionnaire.save_response` takes them."""

    def __init__(
        self,
        data=None,
        *,
        questions: Iterable[Question],
        answers: dict[int, Any] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(data, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            name = field_name(question)
            self.fields[name] = field_for(question)
            if answers and answers.get(question.pk) is not None:
                self.initial[name] = answers[question.pk]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        # Answers to questions this form does not ask (another form's, or made up) refuse
        # the whole submission: they mean the page is stale or was not ours.
        asked = {field_name(q) for q in self.questions}
        posted = {k for k in self.data if k.startswith("q") and k[1:].isdigit()}
        if posted - asked:
            self.add_error(None, forms.ValidationError(FOREIGN, code="foreign"))
        return cleaned

    def answers(self) -> dict[int, Any]:
        return {q.pk: self.cleaned_data.get(field_name(q)) for q in self.questions}

    def question_errors(self) -> dict[int | None, str]:
        """The first message for each question that has one, and the form's own (None)."""
        errors: dict[int | None, str] = {}
        for question in self.questions:
            if field_name(question) in self.errors:
                errors[question.pk] = str(self.errors[field_name(question)][0])
        if self.non_field_errors():
            errors[None] = str(self.non_field_errors()[0])
        return errors

    @property
    def question_fields(self) -> list["ShownQuestion"]:
        """The questions as the template shows them (templates/questionnaire/_questions.html)."""
        return [ShownQuestion(q, self[field_name(q)]) for q in self.questions]


@dataclass(frozen=True)
class ShownChoice:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class ShownQuestion:
    """One question on the page: what the person typed or picked (as posted, so nothing is
    lost when another answer is missing, or their saved answer) and its message."""

    question: Question
    field: forms.BoundField

    @property
    def name(self) -> str:
        return self.field.html_name

    @property
    def error(self) -> str:
        return str(self.field.errors[0]) if self.field.errors else ""

    def _picked(self) -> set[str]:
        value = self.field.value()
        values = value if isinstance(value, list | tuple) else [value]
        return {str(v).strip() for v in values if v is not None}

    @property
    def text(self) -> str:
        value = self.field.value()
        if isinstance(value, list):
            value = value[0] if value else ""
        return "" if value is None else str(value)

    @property
    def choices(self) -> list[ShownChoice]:
        picked = self._picked()
        # Asked only of scale and choice questions: their fields are choice fields, given
        # (number, words) pairs by field_for, which Django keeps as a list.
        field = cast(forms.ChoiceField, self.field.field)
        options = cast(list[tuple[int, str]], field.choices)
        return [ShownChoice(str(value), label, str(value) in picked) for value, label in options]

    @property
    def is_text(self) -> bool:
        return self.question.kind in MAX_TEXT

    @property
    def max_length(self) -> int:
        return MAX_TEXT.get(self.question.kind, 0)

    @property
    def input_type(self) -> str:
        return "checkbox" if self.question.kind == Kind.MULTIPLE else "radio"

    @property
    def is_scale(self) -> bool:
        return self.question.kind in SCALES
