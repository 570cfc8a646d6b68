import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import User


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def language_choices() -> list[tuple[str, str]]:
    # Each language named in itself ("Français"), as a reader looking for theirs knows it.
    from django.utils.translation import get_language_info

    return [("", _("Same as my browser"))] + [
        (code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES
    ]


class SignupForm(forms.Form):
    """Extra fields on allauth's signup form: sign-up stays one short form."""

    display_name = forms.CharField(
        max_length=100,
        required=False,
        label=_("Your name"),
        help_text=_("Shown to organizers of the sessions you join. Optional."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.save(update_fields=["display_name"])


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=timezone_choices,
        help_text=_("Session times are shown in this zone."),
    )
    # Only the languages we have a catalogue for (settings.LANGUAGES); "" follows the browser.
    language = forms.ChoiceField(
        label=_("Language"),
        choices=language_choices,
        required=False,
        help_text=_("The pages and the emails we send you are in this language."),
    )

    class Meta:
        model = User
        fields = [
            "display_name",
            "github_handle",
            "affiliation",
            "role",
            "timezone",
            "language",
            "what_i_build",
        ]
        widgets = {
            "display_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "affiliation": forms.TextInput(attrs={"autocomplete": "organization"}),
            "what_i_build": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {
            "display_name": _("Display name"),
            "github_handle": _("GitHub handle"),
            "affiliation": _("Company or affiliation"),
            "role": _("Role"),
            "what_i_build": _("What I build"),
        }

    def clean_github_handle(self) -> str:
        # People paste "@octocat" or a profile URL; keep just the handle.
        value = self.cleaned_data["github_handle"].strip()
        return value.removeprefix("https://github.com/").removeprefix("@").strip("/")


class DeleteAccountForm(forms.Form):
    """Deleting takes the password (or, with no password set, the email) to confirm."""

    confirmation = forms.CharField(max_length=254, strip=False)

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["confirmation"]
        if user.has_usable_password():
            field.label = _("Your password")
            field.widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})
        else:
            field.label = _("Type your email address to confirm")

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"]
        if self.user.has_usable_password():
            if not self.user.check_password(value):
                raise forms.ValidationError(_("That password is not correct."))
        elif value.strip().lower() != self.user.email.lower():
            raise forms.ValidationError(_("That is not your email address."))
        return value
