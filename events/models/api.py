"""API tokens (a team's key to the REST API) and the responses kept for idempotent retries.

A token's secret is shown once, at creation; only its SHA-256 is stored (a high-entropy
secret needs no slow hash: nobody can guess one from its digest), with a short visible
prefix so that owners can tell their tokens apart."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# What a token may touch: each area can be read, or read and written.
AREAS = ("events", "registrations", "invitations", "attendance", "surveys", "calls")
LEVELS = ("read", "write")
SCOPES = tuple(f"{area}:{level}" for area in AREAS for level in LEVELS)

AREA_LABELS = {
    "events": _("Events and sessions"),
    "registrations": _("Registrations and waitlists"),
    "invitations": _("Invitations"),
    "attendance": _("Attendance (check-in)"),
    "surveys": _("Surveys and their answers"),
    "calls": _("Open calls and the panel"),
}


class ApiToken(models.Model):
    team = models.ForeignKey("events.Team", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the secret, shown on the page to recognise a token by.
    prefix = models.CharField(max_length=16)
    hashed = models.CharField(max_length=64, unique=True, editable=False)
    # A list of SCOPES ("events:read", "registrations:write", ...); write includes read.
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def allows(self, area: str, level: str) -> bool:
        """Whether the token may `level` ("read" or "write") the `area`; write includes read."""
        scopes = set(self.scopes or ())
        if level == "read":
            return f"{area}:read" in scopes or f"{area}:write" in scopes
        return f"{area}:write" in scopes


class IdempotentRequest(models.Model):
    """The first response to a POST sent with an Idempotency-Key: a retry with the same key
    (and the same body) gets it again instead of acting twice. A row with `status` 0 is a
    request under way (its transaction holds the row)."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    data = models.JSONField(null=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_once_per_token")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
