"""What a token may do: scopes per area (read, or read and write), its team's objects only,
and a number of requests a minute.

`scoped(area)` is the permission of an endpoint about one area: a safe method (GET, HEAD)
needs `<area>:read` (or write), any other `<area>:write`; without it, a 403 problem that
names the scope missing. `of_team` narrows a queryset to the token's team by the same paths
the organizer pages use (`permissions.TEAM_PATHS`), so another team's object is a 404."""

import time
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.throttling import BaseThrottle

from ..models import ApiToken, Team
from ..permissions import TEAM_PATHS
from ..speed.fastcache import hit

M = TypeVar("M", bound=Model)


def token_of(request) -> ApiToken:
    token = getattr(request, "auth", None)
    if not isinstance(token, ApiToken):
        raise exceptions.NotAuthenticated()
    return token


class HasToken(BasePermission):
    """Every endpoint needs a usable token (the authentication refused the others)."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(getattr(request, "auth", None), ApiToken):
            raise exceptions.NotAuthenticated()
        return True


def scoped(area: str | None) -> type[BasePermission]:
    """The permission of an endpoint about `area` (None: about several, which checks the
    scopes itself; only a usable token is needed to reach it)."""
    if area is None:
        return HasToken

    class Scoped(HasToken):
        def has_permission(self, request, view) -> bool:
            super().has_permission(request, view)
            level = "read" if request.method in SAFE_METHODS else "write"
            if not request.auth.allows(area, level):
                raise exceptions.PermissionDenied(
                    _("This token lacks the scope %(scope)s.") % {"scope": f"{area}:{level}"}
                )
            return True

    Scoped.__name__ = f"Scoped_{area}"
    Scoped.area = area
    return Scoped


def of_team(request, queryset: QuerySet[M]) -> QuerySet[M]:
    """`queryset` narrowed to the objects of the token's team."""
    team: Team = token_of(request).team
    allowed = Q()
    for path in TEAM_PATHS[queryset.model]:
        allowed |= Q(**{path: team} if path else {"pk": team.pk})
    return queryset.filter(allowed)


def get_of_team_or_404(request, queryset: QuerySet[M], **lookup: Any) -> M:
    return get_object_or_404(of_team(request, queryset), **lookup)


def now() -> float:
    return time.time()


class PerTokenRate(BaseThrottle):
    """At most API_REQUESTS_PER_MINUTE requests per token in each minute (fixed windows in
    the shared cache, as events/ratelimit.py counts); beyond that a 429 with Retry-After."""

    def allow_request(self, request, view) -> bool:
        token = getattr(request, "auth", None)
        if not isinstance(token, ApiToken):
            return True
        moment = now()
        window = int(moment // 60)
        count = hit(f"ratelimit:api:{token.pk}:{window}", timeout=120)
        self.seconds_left = 60 - int(moment) % 60
        return count <= settings.API_REQUESTS_PER_MINUTE

    def wait(self) -> float:
        return float(getattr(self, "seconds_left", 60))
