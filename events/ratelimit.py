"""Rate limits for our own endpoints (allauth limits login, signup and password reset).

Counters live in the shared cache (Redis in production), in fixed windows, so every web
process sees the same count."""

import hashlib
import time
from collections.abc import Callable, Iterable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise

from .speed.fastcache import hit


def now() -> float:
    return time.time()


def by_user_or_ip(request: HttpRequest) -> str:
    if request.user.is_authenticated:
        return f"user{request.user.pk}"
    return by_ip(request)


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind TRUSTED_PROXY_COUNT proxies it is the one the outermost
    trusted proxy saw (X-Forwarded-For, counted from the right: entries further left are
    whatever the client claimed); with none, the socket's address."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def by_ip(request: HttpRequest) -> str:
    return f"ip{client_ip(request)}"


def by_posted(field: str) -> Callable[[HttpRequest], str]:
    """Key by a posted value (the account a login form names), case-folded, so that one
    account counts once however it is spelled, and hashed: a key holds no personal data."""

    def key(request: HttpRequest) -> str:
        value = request.POST.get(field, "").strip().casefold()
        return f"{field}{hashlib.sha256(value.encode()).hexdigest()[:32]}"

    return key


def rate_limit(
    scope: str,
    *,
    per_minute: int,
    methods: Iterable[str] = ("POST",),
    key: Callable[[HttpRequest], str] = by_user_or_ip,
    reason: str | Promise = "",
):
    """At most `per_minute` requests with one of `methods` per key; beyond that a 429 page
    that says why (`reason`, or "a lot of requests") and when to try again. Every request
    counts, refused ones too, so a limit on password attempts refuses every attempt until the
    window ends, the right password included."""
    methods = frozenset(methods)

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method in methods:
                window = int(now() // 60)
                count = hit(f"ratelimit:{scope}:{key(request)}:{window}", timeout=120)
                if count > per_minute:
                    wait = 60 - int(now()) % 60
                    response = render(
                        request, "429.html", {"wait": wait, "reason": reason}, status=429
                    )
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
