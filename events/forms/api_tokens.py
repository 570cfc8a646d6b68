"""The team owners' form for a new API token: a name, what it may do per area, an expiry."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models.api import AREA_LABELS, AREAS

ACCESS = [
    ("", _("No access")),
    ("read", _("Read")),
    ("write", _("Read and change")),
]
EXPIRY = [
    ("30", _("In 30 days")),
    ("90", _("In 90 days")),
    ("365", _("In a year")),
    ("never", _("Never")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, such as “CRM sync”."),
    )
    expires = forms.ChoiceField(label=_("Expires"), choices=EXPIRY, initial="90")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for area in AREAS:
            self.fields[f"area_{area}"] = forms.ChoiceField(
                label=AREA_LABELS[area], choices=ACCESS, required=False
            )

    def area_fields(self) -> list:
        return [self[f"area_{area}"] for area in AREAS]

    def scopes(self) -> list[str]:
        return [
            f"{area}:{self.cleaned_data[f'area_{area}']}"
            for area in AREAS
            if self.cleaned_data.get(f"area_{area}")
        ]

    def expires_at(self) -> datetime | None:
        choice = self.cleaned_data["expires"]
        return None if choice == "never" else timezone.now() + timedelta(days=int(choice))
