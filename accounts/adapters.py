from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

from .middleware import browser_zone, reader_language
from .models import EMAIL_MAX_LENGTH, User


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.ACCOUNT_ALLOW_SIGNUP

    def clean_email(self, email: str) -> str:
        # allauth's form takes any length; the column holds 254 (RFC 5321), and PostgreSQL
        # would refuse a longer value with an error instead of a message.
        if len(email) > EMAIL_MAX_LENGTH:
            raise forms.ValidationError(
                _("An email address has at most %(count)d characters.")
                % {"count": EMAIL_MAX_LENGTH}
            )
        return email

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Every message of allauth's (confirmation, password reset, "an account already
        exists", notices) is owed through the outbox instead of sent here: the request writes
        a row and answers, however slow the relay, and a mail worker sends it once
        (events/messages/accounts.py)."""
        from . import services

        services.owe_account_mail(template=template_prefix, email=email, context=context)

    def save_user(
        self, request: HttpRequest, user: User, form: forms.Form, commit: bool = True
    ) -> User:
        start_in_browser_zone(request, user)
        start_in_reader_language(request, user)
        return super().save_user(request, user, form, commit=commit)


def start_in_browser_zone(request: HttpRequest, user: User) -> None:
    """A new account starts in the zone the browser reported (static/js/tz.js), so that pages
    and emails show the person's own times before they ever open their profile."""
    zone = browser_zone(request)
    if zone:
        user.timezone = zone


def start_in_reader_language(request: HttpRequest, user: User) -> None:
    """A new account keeps the language it was created in (the switcher's, the link's or the
    browser's), so that its mail is written in it from the first confirmation on; the
    profile can change it, or set it back to "same as my browser"."""
    language = reader_language(request)
    if language:
        user.language = language


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> User:
        """Take the display name and GitHub handle from GitHub, so the profile starts filled."""
        user = super().populate_user(request, sociallogin, data)
        extra = sociallogin.account.extra_data or {}
        if sociallogin.account.provider == "github":
            user.github_handle = (extra.get("login") or "")[:39]
            user.display_name = (extra.get("name") or "")[:100]
            user.affiliation = (extra.get("company") or "")[:200]
        start_in_browser_zone(request, user)
        start_in_reader_language(request, user)
        return user
