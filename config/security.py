"""Security headers Django does not set itself: a strict Content-Security-Policy (no inline
scripts or styles anywhere: every asset is a vendored static file) and a Permissions-Policy;
and a 400 for NUL bytes in a request."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def content_security_policy() -> str:
    form_action = ["'self'"]
    if settings.GITHUB_CLIENT_ID:
        # Logging in with GitHub posts to us, then redirects there; browsers apply
        # form-action to that redirect.
        form_action.append("https://github.com")
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": form_action,
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        return response


class RefuseNulBytes:
    """Answer our 400 page for a NUL byte in the path, in a query or form parameter (name or
    value) or in a cookie, before any view sees it. No browser sends one on its own; PostgreSQL
    refuses NUL in text, so one that reached a query was a 500, and Django's form fields
    catch it only where a form reads the value."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_nul(request):
            if request.path.startswith("/api/"):
                # The API answers every error as a problem detail (events/api/errors.py).
                return JsonResponse(
                    {
                        "type": f"{settings.SITE_URL}/api/problems/malformed-request",
                        "title": "The request could not be read",
                        "status": 400,
                        "detail": "The address or the body had a NUL character in it.",
                    },
                    status=400,
                    content_type="application/problem+json",
                )
            return render(
                request,
                "400.html",
                {"reason": _("The address or the form had a NUL character in it.")},
                status=400,
            )
        return self.get_response(request)


def has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    parameters = [request.GET]
    if request.method == "POST" and not _too_large(request):
        # The raw body first: parsing a multipart form consumes the stream, and a view may
        # still want the body (the open call measures it).
        _ = request.body
        parameters.append(request.POST)
    for query in parameters:
        for name, values in query.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return True
    return any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items())


def _too_large(request: HttpRequest) -> bool:
    # Left unread: the view answers it (a 413, or Django's own 400 when it reads the body).
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is not None and length > limit
