"""The organizer's form for one question of any questionnaire (survey, open call). It only
reads input; the engine (services.questionnaire) decides what is allowed."""

from django import forms

from ..models import Question
from ..services.questionnaire import MAX_HELP, MAX_LABEL


class QuestionForm(forms.Form):
    label = forms.CharField(label="Question", max_length=MAX_LABEL)
    kind = forms.ChoiceField(label="Kind of answer", choices=Question.Kind.choices)
    choices = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line; single and multiple choice questions only (two or more).",
    )
    help_text = forms.CharField(
        label="Help text",
        required=False,
        max_length=MAX_HELP,
        help_text="Optional, shown under the question.",
    )
    required = forms.BooleanField(label="An answer is required", required=False)

    def clean_choices(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["choices"].splitlines() if line.strip()]

    @classmethod
    def for_question(cls, question: Question, data=None) -> "QuestionForm":
        initial = {
            "label": question.label,
            "kind": question.kind,
            "choices": "\n".join(question.choices),
            "help_text": question.help_text,
            "required": question.required,
        }
        return cls(data, initial=initial)
