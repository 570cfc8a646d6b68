from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Survey
from ..services.surveys import MAX_OPEN_DAYS, MAX_REMINDER_DAYS, MAX_SEND_AFTER_HOURS
from .manage import LocalDateTimeField, to_local, to_utc


class SurveySettingsForm(forms.Form):
    intro = forms.CharField(
        label=gettext_lazy("Introduction"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Shown above the questions. Markdown."),
    )
    send_after_hours = forms.IntegerField(
        label=gettext_lazy("Send this many hours after each session ends"),
        min_value=0,
        max_value=MAX_SEND_AFTER_HOURS,
    )
    audience = forms.ChoiceField(label=gettext_lazy("Send to"), choices=Survey.Audience.choices)
    reminder_after_days = forms.IntegerField(
        label=gettext_lazy("Remind those who have not answered after (days)"),
        min_value=0,
        max_value=MAX_REMINDER_DAYS,
        help_text=gettext_lazy("0: no reminder."),
    )
    closes_at = LocalDateTimeField(
        label=gettext_lazy("Closes"),
        help_text=format_lazy(
            gettext_lazy(
                "After this, links stop working. At most {days} days after the last session ends."
            ),
            days=MAX_OPEN_DAYS,
        ),
    )
    anonymous = forms.BooleanField(
        label=gettext_lazy("Anonymous results"),
        required=False,
        help_text=gettext_lazy(
            "You see answers without names; groups under 3 people are not shown."
        ),
    )

    def __init__(self, *args, zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["closes_at"].help_text = _(
            "In the event's time zone, {zone}. After this, links stop working."
        ).format(zone=zone)

    @classmethod
    def for_survey(cls, survey: Survey, data=None) -> "SurveySettingsForm":
        fields = ["intro", "send_after_hours", "audience", "reminder_after_days", "anonymous"]
        initial = {name: getattr(survey, name) for name in fields}
        initial["closes_at"] = to_local(survey.closes_at, survey.event.timezone)
        return cls(data, initial=initial, zone=survey.event.timezone)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        cleaned["closes_at"] = to_utc(self, "closes_at", self.zone)
        return cleaned

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)
