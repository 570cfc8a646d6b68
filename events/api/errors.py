"""Every error of the API as an RFC 9457 problem detail (`application/problem+json`): a
stable `type` URI per kind of error, a `title` (the kind, in words), the `status`, a `detail`
(this occurrence, in words) and, for invalid input, `errors` by field.

`handle` is REST framework's exception handler: whatever a view raises (a validation error,
a 404, a ServiceError from a service, a throttle) comes out here. `not_found` answers the
addresses under /api/ that match no endpoint."""

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from ..services import ServiceError

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

logger = logging.getLogger("events.api")

PROBLEM = "application/problem+json"
BASE = "/api/problems/"

# type slug -> (status, title). The slugs are part of the API: never rename one.
KINDS: dict[str, tuple[int, "StrPromise"]] = {
    "malformed-request": (400, gettext_lazy("The request could not be read")),
    "invalid-input": (400, gettext_lazy("Some of the input is not valid")),
    "not-authenticated": (401, gettext_lazy("An API token is needed")),
    "invalid-token": (401, gettext_lazy("The API token is not valid")),
    "token-expired": (401, gettext_lazy("The API token has expired")),
    "token-revoked": (401, gettext_lazy("The API token was revoked")),
    "token-orphaned": (401, gettext_lazy("The API token's creator is no longer an owner")),
    "insufficient-scope": (403, gettext_lazy("The API token's scopes do not allow this")),
    "not-found": (404, gettext_lazy("Not found")),
    "method-not-allowed": (405, gettext_lazy("Method not allowed")),
    "not-acceptable": (406, gettext_lazy("Not acceptable")),
    "unsupported-media-type": (415, gettext_lazy("Unsupported media type")),
    "idempotency-key-in-use": (
        409,
        gettext_lazy("A request with this idempotency key is still under way"),
    ),
    "refused": (422, gettext_lazy("The request was refused")),
    "anonymous-survey": (422, gettext_lazy("The survey is anonymous")),
    "idempotency-key-reused": (
        422,
        gettext_lazy("The idempotency key was used for another request"),
    ),
    "rate-limited": (429, gettext_lazy("Too many requests")),
    "server-error": (500, gettext_lazy("Something went wrong on our side")),
}

AUTH_CODES = {
    "token_expired": "token-expired",
    "token_revoked": "token-revoked",
    "token_orphaned": "token-orphaned",
    "authentication_failed": "invalid-token",
}


class Problem(exceptions.APIException):
    """An error of one of KINDS, raised by the API's own code."""

    def __init__(self, kind: str, detail: str, **extra) -> None:
        self.kind = kind
        self.status_code = KINDS[kind][0]
        self.extra = extra
        super().__init__(detail)


def type_uri(kind: str) -> str:
    return f"{settings.SITE_URL}{BASE}{kind}"


def problem_body(kind: str, detail: str, **extra) -> dict:
    status, title = KINDS[kind]
    return {
        "type": type_uri(kind),
        "title": str(title),
        "status": status,
        "detail": detail,
        **extra,
    }


def problem(kind: str, detail: str, headers: dict | None = None, **extra) -> Response:
    body = problem_body(kind, detail, **extra)
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM)


def _field_errors(detail) -> dict[str, list[str]]:
    """REST framework's nested error details, flattened to {"field.sub": [messages]}."""
    flat: dict[str, list[str]] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                flat.setdefault(path or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, inner in enumerate(value):
                    walk(inner, f"{path}.{index}" if path else str(index))
        else:
            flat.setdefault(path or "non_field_errors", []).append(str(value))

    walk(detail, "")
    return flat


def handle(exc: Exception, context: dict) -> Response:
    """REST framework's exception handler: every error becomes a problem detail."""
    if isinstance(exc, Problem):
        return problem(exc.kind, str(exc.detail), **exc.extra)
    if isinstance(exc, ServiceError):
        return problem("refused", exc.message)
    if isinstance(exc, DjangoValidationError):
        errors = (
            {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"non_field_errors": [str(m) for m in exc.messages]}
        )
        return problem("invalid-input", _("Check the fields named in errors."), errors=errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return problem(
            "invalid-input",
            _("Check the fields named in errors."),
            errors=_field_errors(exc.detail),
        )
    if isinstance(exc, exceptions.Throttled):
        wait = max(int(exc.wait or 1), 1)
        return problem(
            "rate-limited",
            _("This token made too many requests. Try again in %(seconds)s seconds.")
            % {"seconds": wait},
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, exceptions.NotAuthenticated):
        return problem(
            "not-authenticated",
            _("Send an API token: Authorization: Bearer <token>."),
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(exc, exceptions.AuthenticationFailed):
        codes = exc.get_codes()
        kind = AUTH_CODES.get(codes if isinstance(codes, str) else "", "invalid-token")
        return problem(
            kind,
            str(exc.detail),
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
        )
    if isinstance(exc, exceptions.PermissionDenied):
        return problem("insufficient-scope", str(exc.detail))
    if isinstance(exc, exceptions.NotFound):
        return problem("not-found", _("There is nothing here, or not for this token."))
    if isinstance(exc, exceptions.MethodNotAllowed):
        view = context.get("view")
        allowed = ", ".join(view.allowed_methods) if view is not None else ""
        return problem(
            "method-not-allowed",
            _("This address does not take %(method)s.") % {"method": exc.args[0]},
            headers={"Allow": allowed},
        )
    if isinstance(exc, exceptions.NotAcceptable):
        return problem("not-acceptable", _("This API answers in JSON only."))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return problem("unsupported-media-type", _("Send the body as application/json."))
    if isinstance(exc, exceptions.ParseError):
        return problem("malformed-request", str(exc.detail))
    if isinstance(exc, exceptions.APIException):
        return problem("malformed-request", str(exc.detail))
    logger.exception("API error", exc_info=exc)
    return problem("server-error", _("The error was logged; please try again later."))


@csrf_exempt  # an API client sends no CSRF token: its 404 must not become a 403 page
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any address under /api/ that names no endpoint."""
    return JsonResponse(
        problem_body("not-found", _("There is no such API address.")),
        status=404,
        content_type=PROBLEM,
    )


class ProblemSerializer(serializers.Serializer):
    """The schema of every error response (RFC 9457)."""

    type = serializers.CharField(help_text="A stable URI for the kind of error.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For invalid input: messages by field.",
    )
