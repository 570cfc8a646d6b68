import zoneinfo
from functools import cache

from django import forms

from .models import User


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class SignupForm(forms.Form):
    """Extra fields on allauth's signup form: sign-up stays one short form."""

    display_name = forms.CharField(
        max_length=100,
        required=False,
        label="Your name",
        help_text="Shown to organizers of the sessions you join. Optional.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.save(update_fields=["display_name"])


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=timezone_choices,
        help_text="Session times are shown in this zone.",
    )

    class Meta:
        model = User
        fields = [
            "display_name",
            "github_handle",
            "affiliation",
            "role",
            "timezone",
            "what_i_build",
        ]
        widgets = {
            "display_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "affiliation": forms.TextInput(attrs={"autocomplete": "organization"}),
            "what_i_build": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {"display_name": "Display name"}

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
            field.label = "Your password"
            field.widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})
        else:
            field.label = "Type your email address to confirm"

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"]
        if self.user.has_usable_password():
            if not self.user.check_password(value):
                raise forms.ValidationError("That password is not correct.")
        elif value.strip().lower() != self.user.email.lower():
            raise forms.ValidationError("That is not your email address.")
        return value
