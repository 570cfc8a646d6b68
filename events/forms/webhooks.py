"""The webhook endpoint form: what was typed becomes a webhooks service call's keyword
arguments; the rules (http(s) only, a host, known event types) live in the service."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..outbox.registry import kinds


def event_type_choices() -> list[tuple[str, str]]:
    return [(event.name, f"{event.name}: {event.description}") for event in kinds.webhook_events()]


class EndpointForm(forms.Form):
    url = forms.CharField(
        max_length=500,
        label=_("Address (URL)"),
        help_text=_("An https:// address is best; the payload is signed either way."),
        error_messages={"required": _("Enter the address that should receive the webhooks.")},
    )
    description = forms.CharField(max_length=200, required=False, label=_("Description"))
    event_types = forms.MultipleChoiceField(
        choices=event_type_choices,
        widget=forms.CheckboxSelectMultiple,
        label=_("Events to send"),
        error_messages={
            "required": _("Choose at least one event type."),
            "invalid_choice": _("Unknown event type: %(value)s."),
        },
    )

    def service_fields(self) -> dict:
        return {
            "url": self.cleaned_data["url"].strip(),
            "description": self.cleaned_data["description"],
            "event_types": list(self.cleaned_data["event_types"]),
        }
