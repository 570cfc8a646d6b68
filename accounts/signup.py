"""Sign-up's form: allauth's, with both of its branches doing the same work.

With ACCOUNT_PREVENT_ENUMERATION, signing up with an address that already has an account
answers exactly as for a new one (the same redirect) and mails the owner instead of
creating anything. The page is the same, but the work was not: a new account hashes its
password (PBKDF2, most of a second by design) and an existing address skipped it, so the
time of the answer told which addresses have accounts. Both branches now hash the password
they were given and owe their one mail through the adapter's `send_mail`, which writes one
outbox row (a mail worker sends it; neither branch talks to the relay), so both take the
same time within the few milliseconds of a row or two written.
"""

from allauth.account.forms import SignupForm as AllauthSignupForm
from django.contrib.auth.hashers import make_password


class SignupForm(AllauthSignupForm):
    def try_save(self, request):
        if self.account_already_exists:
            # The hash the new account would have stored, thrown away: the same hasher,
            # the same cost, whatever the address.
            make_password(self.cleaned_data.get("password1") or "")
        return super().try_save(request)
