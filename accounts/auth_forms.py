"""allauth's forms with our words. (Kept apart from accounts.forms: allauth imports that module
for ACCOUNT_SIGNUP_FORM_CLASS while its own forms module loads, so importing allauth's forms
there would be circular.)"""

from allauth.account.forms import LoginForm as AllauthLoginForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AllauthLoginForm):
    """The site says "Log in" and sentence case everywhere; allauth says "Remember Me"."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label = _("Remember me")
