import zoneinfo
from collections.abc import Callable
from functools import cache
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header


class UserTimezoneMiddleware:
    """Show times in the viewer's own zone: the profile's zone when logged in, else the
    browser's (a `tz` cookie set by static/js/tz.js), else UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            name = user.timezone
        else:
            name = browser_zone(request)
        if name in available_zones():
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        return self.get_response(request)


def browser_zone(request: HttpRequest) -> str:
    """The zone the browser reported in the `tz` cookie, if it is a real one; else ""."""
    name = unquote(request.COOKIES.get("tz", ""))
    return name if name in available_zones() else ""


@cache
def available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class UserLanguageMiddleware:
    """Pages in the reader's language, with the same URLs for everyone (no /fr/ prefix):
    `?lang=` (a shared link; remembered in the cookie), then the profile's language for a
    logged-in person, then the `django_language` cookie (the footer's switcher), then the
    browser's Accept-Language. When none of them names a language we have,
    `request.language_chosen` is False and pages about one team's event or call show it in
    that team's default language (`prefer_team_language`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        shared = supported(request.GET.get("lang", ""))
        language = shared or chosen_language(request)
        request.language_chosen = bool(language)  # type: ignore[attr-defined]
        translation.activate(language or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        if shared and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != shared:
            remember_language(response, shared)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


def supported(code: str | None) -> str:
    """`code` as one of settings.LANGUAGES ("fr-CA" reads French), or "" when we have none."""
    if not code or len(code) > 35:
        return ""
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return ""


def chosen_language(request: HttpRequest) -> str:
    """The language this reader asked for, or "" when nothing they sent names one we have."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and supported(user.language):
        return supported(user.language)
    cookie = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if cookie:
        return cookie
    header = request.headers.get("Accept-Language", "")
    for code, _quality in parse_accept_lang_header(header[:1000]):
        if code != "*" and supported(code):
            return supported(code)
    return ""


def prefer_team_language(request: HttpRequest, team_language: str) -> None:
    """On a page about one team's event or call: when the reader named no language we have,
    show it in the team's default one."""
    if not getattr(request, "language_chosen", True) and supported(team_language):
        translation.activate(supported(team_language))
        request.LANGUAGE_CODE = translation.get_language()


def reader_language(request: HttpRequest) -> str:
    """The language this reader chose (?lang=, profile, cookie or browser), or "" when they
    named none we have and the page fell back to a default: what to record on an invitation
    or a submission, where "" means "the team's language"."""
    if not getattr(request, "language_chosen", False):
        return ""
    return supported(translation.get_language())


def remember_language(response: HttpResponse, code: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=False,
    )
