"""The owners' retention forms: the team's policy, an event's or a call's own number of
days. Each value is checked by the service's own rule (services.retention.check_days), so a
page and the service refuse with the same words."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..services import ServiceError, retention


def _days(value: Any, *, optional: bool = False) -> int | None:
    try:
        return retention.check_days(value, optional=optional)
    except ServiceError as error:
        raise forms.ValidationError(error.message) from None


class DaysField(forms.CharField):
    """Typed as text, so "0", "-3" or "soon" reach the service's rule and its message."""

    def __init__(self, *, optional: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "size": 6}))
        super().__init__(required=not optional, max_length=7, **kwargs)
        self.optional = optional

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        return _days(text, optional=self.optional)


class PolicyForm(forms.Form):
    attendee_days = DaysField(
        label=_("Attendees' data: days kept after an event's last session"),
        help_text=_("Then names, addresses and free text go; counts and ratings stay."),
    )
    submission_days = DaysField(
        label=_("Unconfirmed or disqualified open-call submissions: days kept"),
    )
    panel_days = DaysField(
        label=_("Panel members: days without contact before removal"),
        help_text=_("Those who agreed to be contacted are asked 30 days before."),
    )
    audit_days = DaysField(
        optional=True,
        label=_("Audit log of organizer actions: days kept"),
        help_text=_("Two years (730 days) unless you change it."),
    )


class OwnDaysForm(forms.Form):
    days = DaysField(
        optional=True,
        label=_("Days kept (empty: the team's policy)"),
    )
