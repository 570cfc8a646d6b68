from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from ..models import Event
from ..services.registration import SignUpInput
from ..services.screening import clean_answers
from .answers import field_for


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
                label=_("I accept the confidentiality terms above (version %(version)s)")
                % {"version": event.terms_version},
                error_messages={"required": _("You need to accept the terms to sign up.")},
            )
        for question in self.questions:
            # The answers form's field for its kind (choices named by id), as every page
            # that asks questions builds it.
            self.fields[f"q{question.pk}"] = field_for(question)

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
                clean_answers(event=self.event, raw=self.answers(), questions=self.questions)
            except ValidationError as error:
                for key, messages in error.message_dict.items():
                    self.add_error(key if key in self.fields else None, messages)
        return cleaned
