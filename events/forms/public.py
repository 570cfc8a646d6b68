from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from ..models import Event, ScreeningQuestion
from ..services.registration import SignUpInput
from ..services.screening import MAX_LENGTH, clean_answers

Kind = ScreeningQuestion.Kind


def question_field(question: ScreeningQuestion) -> forms.Field:
    label, required = question.label, question.required
    if question.kind == Kind.SHORT_TEXT:
        return forms.CharField(
            label=label, required=required, max_length=MAX_LENGTH[Kind.SHORT_TEXT]
        )
    if question.kind == Kind.LONG_TEXT:
        return forms.CharField(
            label=label,
            required=required,
            max_length=MAX_LENGTH[Kind.LONG_TEXT],
            widget=forms.Textarea(attrs={"rows": 4}),
        )
    choices = [(c, c) for c in question.choices]
    if question.kind == Kind.SINGLE:
        return forms.ChoiceField(
            label=label, required=required, choices=choices, widget=forms.RadioSelect
        )
    return forms.MultipleChoiceField(
        label=label, required=required, choices=choices, widget=forms.CheckboxSelectMultiple
    )


class SignUpForm(forms.Form):
    """What signing up for a session asks, beyond the click: acceptance of the current
    confidentiality terms (when not yet given) and the screening answers (applications)."""

    def __init__(self, *args, event: Event, needs_terms: bool, questions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        self.questions = list(questions)
        if needs_terms:
            self.fields["terms_version"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=event.terms_version
            )
            self.fields["accept_terms"] = forms.BooleanField(
                label=f"I accept the confidentiality terms above (version {event.terms_version})",
                error_messages={"required": "You need to accept the terms to sign up."},
            )
        for question in self.questions:
            self.fields[f"q{question.pk}"] = question_field(question)

    @staticmethod
    def sent(data: QueryDict) -> SignUpInput:
        """What the page posted, as the sign-up service reads it (it knows the questions)."""
        return SignUpInput(
            terms_version=data.get("terms_version"),
            # Read as the form's own checkbox reads it ("on", "true"; not "false", "0").
            accepted_terms=forms.BooleanField().to_python(
                forms.CheckboxInput().value_from_datadict(data, MultiValueDict(), "accept_terms")
            ),
            answers={
                key[1:]: data.getlist(key)
                for key in data
                if key.startswith("q") and key[1:].isdigit()
            },
        )

    def answers(self) -> dict:
        return {str(q.pk): self.cleaned_data.get(f"q{q.pk}") for q in self.questions}

    def clean(self):
        cleaned = super().clean()
        if self.questions and not self.errors:
            try:
                clean_answers(event=self.event, raw=self.answers())
            except ValidationError as error:
                for key, messages in error.message_dict.items():
                    self.add_error(key if key in self.fields else None, messages)
        return cleaned
