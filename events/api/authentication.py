"""Bearer tokens: `Authorization: Bearer fbt_...` finds the team's token by the digest of
its secret. No header: not authenticated (a 401 from the permission check). A header that
names no usable token: a 401 saying why (unknown, expired, revoked, its maker no longer an
owner). The request then acts as the token's maker, on the token's team only."""

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..models import ApiToken
from ..services import api_tokens


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _space, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise exceptions.AuthenticationFailed(
                _("Use the Bearer scheme: Authorization: Bearer <token>.")
            )
        token = api_tokens.find(secret.strip())
        if token is None:
            raise exceptions.AuthenticationFailed(_("No API token has this secret."))
        refused = api_tokens.why_refused(token)
        if refused:
            raise exceptions.AuthenticationFailed(refused, code=_code(token))
        api_tokens.note_use(token)
        return (token.created_by, token)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def _code(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "token_revoked"
    if token.expires_at is not None and api_tokens.is_expired(token):
        return "token_expired"
    return "token_orphaned"


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "events.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A team's API token (made by an owner on the team page).",
        }
