"""The organizer's form for one question of any questionnaire (survey, open call, an event's
screening). It only reads input; the services (the engine, services.questionnaire, and for
screening services.screening) decide what is allowed."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models.questionnaire import Question
from ..services.questionnaire import MAX_CHOICE_LENGTH, MAX_HELP, MAX_LABEL, ChoiceInput


class QuestionForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Question"), max_length=MAX_LABEL)
    kind = forms.ChoiceField(label=gettext_lazy("Kind of answer"), choices=Question.Kind.choices)
    choices = forms.CharField(
        label=gettext_lazy("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "One per line; single and multiple choice questions only (two or more)."
        ),
    )
    help_text = forms.CharField(
        label=gettext_lazy("Help text"),
        required=False,
        max_length=MAX_HELP,
        help_text=gettext_lazy("Optional, shown under the question."),
    )
    required = forms.BooleanField(label=gettext_lazy("An answer is required"), required=False)
    keep_text = forms.BooleanField(
        label=gettext_lazy("Keep the words when personal data is anonymised"),
        required=False,
        help_text=gettext_lazy(
            "Text questions only. Off: the answers go with the rest of the respondent's data "
            "(words can name their writer). On: they stay, without the respondent."
        ),
    )

    def __init__(
        self, *args: Any, kinds: list[str] | None = None, keeps_text: bool = True, **kwargs: Any
    ) -> None:
        """`kinds`: the kinds its owner may ask, offered in the list (all by default); the
        service refuses any other kind too. `keeps_text`: whether its owner's answers follow
        the retention policy's "keep the words" (an event's screening answers do not: they
        live on the registrations)."""
        super().__init__(*args, **kwargs)
        if not keeps_text:
            del self.fields["keep_text"]
        if kinds is not None:
            field = cast(forms.ChoiceField, self.fields["kind"])
            field.choices = [(v, label) for v, label in Question.Kind.choices if v in kinds]

    def clean_choices(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["choices"].splitlines() if line.strip()]

    @classmethod
    def for_question(
        cls,
        question: Question,
        data=None,
        *,
        kinds: list[str] | None = None,
        keeps_text: bool = True,
    ) -> "QuestionForm":
        """The form to edit a question. Its existing choices are edited row by row in a
        ChoicesForm (so each keeps its id); the box here only adds new ones."""
        initial = {
            "label": question.label,
            "kind": question.kind,
            "help_text": question.help_text,
            "required": question.required,
            "keep_text": question.keep_text,
        }
        form = cls(data, initial=initial, kinds=kinds, keeps_text=keeps_text)
        if question.offered_choices or question.removed_choices:
            form.fields["choices"].label = _("New choices")
            form.fields["choices"].help_text = _("One per line, listed after the others.")
        return form


class ChoicesForm(forms.Form):
    """An existing question's choices, one row each: its words, its place in the list and a
    box to remove it; and each removed choice with a box to offer it again. Rows are named
    by the choice's id (`choice_<id>`, `order_<id>`, `remove_<id>`, `restore_<id>`), so
    rewording or moving a choice never gives its answers to another one."""

    def __init__(self, data=None, *, question: Question) -> None:
        if data is not None:
            # A row missing from the post keeps its choice as it is (and shows it so again).
            data = data.copy()
            for place, (pk, label) in enumerate(question.offered_choices, start=1):
                data.setdefault(f"choice_{pk}", label)
                data.setdefault(f"order_{pk}", str(place))
        super().__init__(data)
        self.question = question
        self.rows = []
        for place, (pk, label) in enumerate(question.offered_choices, start=1):
            self.fields[f"choice_{pk}"] = forms.CharField(
                label=_("Choice {place}").format(place=place),
                required=False,
                max_length=MAX_CHOICE_LENGTH,
                initial=label,
            )
            self.fields[f"order_{pk}"] = forms.IntegerField(
                label=_("Place of choice {place}").format(place=place),
                required=False,
                min_value=1,
                max_value=999,
                initial=place,
            )
            self.fields[f"remove_{pk}"] = forms.BooleanField(
                label=_("Remove choice {place}").format(place=place), required=False
            )
            self.rows.append((self[f"choice_{pk}"], self[f"order_{pk}"], self[f"remove_{pk}"]))
        self.removed = []
        for pk, label in question.removed_choices:
            name = f"restore_{pk}"
            self.fields[name] = forms.BooleanField(
                label=_("Offer “{label}” again").format(label=label), required=False
            )
            self.removed.append(self[name])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for pk, _label in self.question.offered_choices:
            name = f"choice_{pk}"
            if name in cleaned and not cleaned[name] and not cleaned.get(f"remove_{pk}"):
                self.add_error(name, _("A choice cannot be empty: tick Remove to remove it."))
        return cleaned

    def choices(self, new: list[str]) -> list[ChoiceInput]:
        """The offered choices for the engine, in their new order: the kept ones by their
        place (ties keep the old order), the ones offered again, then `new` words."""
        kept = []
        for index, (pk, label) in enumerate(self.question.offered_choices):
            if self.cleaned_data.get(f"remove_{pk}"):
                continue
            words = self.cleaned_data.get(f"choice_{pk}")
            order = self.cleaned_data.get(f"order_{pk}")
            kept.append(((index + 1 if order is None else order, index), (pk, words or label)))
        restored = [
            (pk, label)
            for pk, label in self.question.removed_choices
            if self.cleaned_data.get(f"restore_{pk}")
        ]
        return [choice for _key, choice in sorted(kept)] + restored + list(new)
