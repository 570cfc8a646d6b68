import zoneinfo
from collections.abc import Callable
from functools import cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


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
