"""Forms of open calls: the organizer's settings, and the public submission form: the
standard profile fields, then the call's questions (an AnswersForm), validated together."""

from typing import Any

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from .answers import AnswersForm

HONEYPOT = "website"


class CallForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    slug = forms.SlugField(
        label=_("Short name"),
        max_length=60,
        help_text=_("The public address is /call/<short name>/. Letters, numbers and hyphens."),
    )
    intro = forms.CharField(
        label=_("Introduction"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What the call is for, what happens next. Markdown."),
    )
    opens_at = forms.DateTimeField(
        label=_("Opens"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("In your time zone. Empty: as soon as it is published."),
    )
    closes_at = forms.DateTimeField(
        label=_("Closes"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("In your time zone. Empty: open until you unpublish it."),
    )
    ask_join = forms.BooleanField(
        label=_("Ask whether they would join a feedback session or a prototype demo"),
        required=False,
        initial=True,
    )
    consent_text = forms.CharField(
        label=_("Consent to be contacted"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The checkbox people tick to agree to be contacted."),
    )

    def clean_slug(self) -> str:
        return slugify(self.cleaned_data["slug"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("The call must close after it opens."))
        return cleaned

    @classmethod
    def for_call(cls, call, data=None) -> "CallForm":
        names = ["title", "slug", "intro", "opens_at", "closes_at", "ask_join", "consent_text"]
        return cls(data, initial={name: getattr(call, name) for name in names})


class SubmissionForm(AnswersForm):
    """The standard profile fields every call asks, prefilled for a logged-in person, then
    one field per question of the call. The `website` field is a honeypot: hidden from
    people, filled by bots."""

    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We send you a link to confirm it; nothing is kept until you do."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    name = forms.CharField(
        label=_("Name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    role = forms.ChoiceField(
        label=_("You are a"), choices=User.Role.choices, widget=forms.RadioSelect
    )
    affiliation = forms.CharField(
        label=_("Affiliation"),
        max_length=200,
        required=False,
        help_text=_("Company, lab, project or community. Optional."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    github_handle = forms.RegexField(
        label=_("GitHub handle"),
        regex=r"^@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
        max_length=40,
        required=False,
        error_messages={"invalid": _("A GitHub handle has letters, numbers and hyphens only.")},
        help_text=_("Optional."),
    )
    location = forms.CharField(
        label=_("Country or time zone"),
        max_length=64,
        required=False,
        help_text=_("So that sessions can be planned at a good time for you. Optional."),
    )
    join_feedback = forms.BooleanField(
        label=_("I would join a small feedback session"), required=False
    )
    join_demo = forms.BooleanField(label=_("I would join a prototype demo"), required=False)
    consent = forms.BooleanField(required=False)
    website = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, call, **kwargs) -> None:
        kwargs.setdefault("questions", call.questionnaire.questions.all())
        super().__init__(*args, **kwargs)
        self.call = call
        if not call.ask_join:
            for name in ("join_feedback", "join_demo", "consent"):
                del self.fields[name]
        else:
            self.fields["consent"].label = call.consent_text or _("I agree to be contacted.")

    def clean_github_handle(self) -> str:
        return self.cleaned_data["github_handle"].lstrip("@")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        wants = cleaned.get("join_feedback") or cleaned.get("join_demo")
        if self.call.ask_join and wants and not cleaned.get("consent"):
            self.add_error(
                "consent", _("To be invited, we need your agreement to contact you by email.")
            )
        return cleaned

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT))

    def profile(self) -> dict:
        fields = ["name", "role", "affiliation", "github_handle", "location"]
        if self.call.ask_join:
            fields += ["join_feedback", "join_demo", "consent"]
        return {name: self.cleaned_data[name] for name in fields}

    def visible_profile_fields(self):
        return [self[name] for name in self.base_fields if name in self.fields and name != HONEYPOT]


class ReviewForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Score"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Private note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only the call's organizers see it."),
    )


class TagsForm(forms.Form):
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=500,
        help_text=_("Separated by commas, e.g. “fine-tuning, eu”."),
    )

    def names(self) -> list[str]:
        return [t for t in self.cleaned_data["tags"].split(",") if t.strip()]
