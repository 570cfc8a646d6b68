"""API tokens: a team owner makes one (its secret shown once), revokes it; a request's
Bearer secret finds its token. And the responses kept for idempotent retries of POSTs.

A token acts for its team only, with its scopes, and through the person who made it: the
API calls the same services the pages do with that person as the actor, so every rule
(and its record of who did what) holds. It stops working when it expires, is revoked, or
its maker is no longer an owner of the team (ownership is what let them make it)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from ..models import ApiToken, IdempotentRequest, Team
from ..models.api import SCOPES
from ..permissions import may
from . import ServiceError, audit

SECRET_PREFIX = "fbt_"  # noqa: S105 (what every secret starts with, not a secret)
PREFIX_SHOWN = 12  # "fbt_" and 8 characters of the secret
# last_used_at is written at most this often per token: not a write on every request.
LAST_USED_EVERY = timedelta(minutes=1)
# How long a kept response answers a retry; older keys may be used again.
IDEMPOTENCY_KEPT = timedelta(hours=24)
# A request in flight longer than this has died (requests time out well before): its key
# may be claimed again.
IN_FLIGHT_LEASE = timedelta(minutes=2)
NAME_MAX = 100


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Created:
    token: ApiToken
    secret: str  # shown once; never stored


@transaction.atomic
def create_token(
    *,
    team: Team,
    actor: User,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> Created:
    """A new token of `team` with `scopes`; only the team's owners may make one. Returns the
    secret once: only its digest is kept."""
    if not may(actor, "team.manage", team):
        raise ServiceError(_("Only the team's owners can create API tokens."))
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the token a name, to tell it apart from the others."))
    if len(name) > NAME_MAX or "\x00" in name:
        raise ServiceError(_("A token's name is one line of at most 100 characters."))
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ServiceError(_("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)})
    if not scopes:
        raise ServiceError(_("Choose at least one thing the token may read or change."))
    if expires_at is not None and expires_at <= timezone.now():
        raise ServiceError(_("The expiry must be in the future."))
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        team=team,
        name=name,
        prefix=secret[:PREFIX_SHOWN],
        hashed=digest(secret),
        scopes=sorted(set(scopes), key=SCOPES.index),
        expires_at=expires_at,
        created_by=actor,
    )
    # Its name and scopes, never the secret (only its digest is kept anyway).
    audit.record(
        actor=actor,
        action="api_token.created",
        team=team,
        target=token,
        summary={"title": name, "scopes": token.scopes, "expires_at": expires_at},
    )
    return Created(token=token, secret=secret)


@transaction.atomic
def revoke_token(*, token: ApiToken, actor: User) -> ApiToken:
    """Revoke a token at once (a second revocation changes nothing)."""
    if not may(actor, "team.manage", token.team):
        raise ServiceError(_("Only the team's owners can revoke API tokens."))
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor
    )
    if revoked:
        audit.record(actor=actor, action="api_token.revoked", team=token.team_id, target=token)
    token.refresh_from_db()
    return token


def is_expired(token: ApiToken, *, now: datetime | None = None) -> bool:
    return token.expires_at is not None and token.expires_at <= (now or timezone.now())


def why_refused(token: ApiToken, *, now: datetime | None = None) -> str:
    """Why a token found by its secret may not be used ('' if it may)."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return _("This API token was revoked.")
    if is_expired(token, now=now):
        return _("This API token has expired.")
    if token.created_by is None or not may(token.created_by, "team.manage", token.team):
        return _("The person who created this API token is no longer an owner of its team.")
    return ""


def find(secret: str) -> ApiToken | None:
    """The token whose secret this is, with its team and maker, or None."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    return (
        ApiToken.objects.select_related("team", "created_by").filter(hashed=digest(secret)).first()
    )


def note_use(token: ApiToken, *, now: datetime | None = None) -> None:
    """Record that the token was used (at most once a minute: one conditional UPDATE)."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


# Idempotency keys


def claim_key(*, token: ApiToken, key: str, fingerprint: str) -> tuple[IdempotentRequest, bool]:
    """The row of an Idempotency-Key, and whether this request just claimed it. A claim is a
    row with `status` 0 (in flight), committed at once, outside the work's transaction, so a
    concurrent request with the same key sees it and is told so (409) rather than waiting or
    acting twice; the claimer then keeps its result with `keep_response` in the transaction
    that does the work, or gives the key back with `release_key`. Call it outside any
    transaction. A claim left in flight by a worker that died (its work rolled back with it)
    is taken over after IN_FLIGHT_LEASE; a kept result is forgotten after IDEMPOTENCY_KEPT."""
    now = timezone.now()
    IdempotentRequest.objects.filter(token=token, key=key).filter(
        Q(created_at__lt=now - IDEMPOTENCY_KEPT) | Q(status=0, created_at__lt=now - IN_FLIGHT_LEASE)
    ).delete()
    try:
        with transaction.atomic():
            made = IdempotentRequest.objects.create(token=token, key=key, fingerprint=fingerprint)
            return made, True
    except IntegrityError:
        found = IdempotentRequest.objects.filter(token=token, key=key).first()
        if found is None:  # given back in the meantime: ours is the first after all
            return claim_key(token=token, key=key, fingerprint=fingerprint)
        return found, False


def keep_response(*, kept: IdempotentRequest, status: int, data, location: str = "") -> None:
    """Store the response of the request that claimed the key (in the work's transaction:
    the result is kept if and only if the work is)."""
    kept.status, kept.data, kept.location = status, data, location
    kept.save(update_fields=["status", "data", "location"])


def release_key(*, kept: IdempotentRequest) -> None:
    """The claimer failed on our side (5xx): the key is free again, and a retry runs."""
    IdempotentRequest.objects.filter(pk=kept.pk, status=0).delete()


def forget_old_responses(*, now: datetime | None = None) -> int:
    """Delete kept responses too old to answer a retry (a daily sweep)."""
    now = now or timezone.now()
    deleted, _counts = IdempotentRequest.objects.filter(
        created_at__lt=now - IDEMPOTENCY_KEPT
    ).delete()
    return deleted
