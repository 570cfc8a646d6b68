from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.conf import settings

from .middleware import browser_zone
from .models import User

EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.ACCOUNT_ALLOW_SIGNUP

    def clean_email(self, email: str) -> str:
        # allauth's form takes any length; the column holds 254 (RFC 5321), and PostgreSQL
        # would refuse a longer value with an error instead of a message.
        if len(email) > EMAIL_MAX_LENGTH:
            raise forms.ValidationError(
                f"An email address has at most {EMAIL_MAX_LENGTH} characters."
            )
        return email

    def save_user(self, request, user, form, commit=True):
        start_in_browser_zone(request, user)
        return super().save_user(request, user, form, commit=commit)


def start_in_browser_zone(request, user) -> None:
    """A new account starts in the zone the browser reported (static/js/tz.js), so that pages
    and emails show the person's own times before they ever open their profile."""
    zone = browser_zone(request)
    if zone:
        user.timezone = zone


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        """Take the display name and GitHub handle from GitHub, so the profile starts filled."""
        user = super().populate_user(request, sociallogin, data)
        extra = sociallogin.account.extra_data or {}
        if sociallogin.account.provider == "github":
            user.github_handle = (extra.get("login") or "")[:39]
            user.display_name = (extra.get("name") or "")[:100]
            user.affiliation = (extra.get("company") or "")[:200]
        start_in_browser_zone(request, user)
        return user
