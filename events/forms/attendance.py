"""The walk-in form at the door: an email (required, it identifies the person) and a name."""

from django import forms
from django.utils.translation import gettext_lazy as _


class WalkInForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("Used for a new account only; an existing account keeps its name."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
