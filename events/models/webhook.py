"""Webhooks: a team's endpoints, and the outbox's second channel, one row per (endpoint,
event) owed to it.

A WebhookMessage is to an endpoint what a Notification is to an address: written in the same
transaction as the change, claimed under a lease before it is sent, retried with backoff,
and recorded with what the receiver answered (events.outbox.webhooks)."""

import base64
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    team = models.ForeignKey("events.Team", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # The event types it hears (events.outbox.registry: the types the domains registered).
    event_types = models.JSONField(default=list)
    # Shown once, when created or rotated; kept in clear because every delivery signs with it.
    secret = models.CharField(max_length=100, default=new_secret)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Disabled by an owner, by a 410 Gone, or after failing for 24 hours; why, in words.
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Since when every delivery has failed (None: the last one succeeded, or none was tried).
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["team", "disabled_at"], name="webhook_team_enabled")]

    def __str__(self) -> str:
        return self.url

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class WebhookMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    # The `webhook-id`: one per event, the same on every attempt and every "send again", so
    # receivers can drop a copy.
    webhook_id = models.CharField(max_length=64)
    type = models.CharField(max_length=60)
    # The body as sent: {"type", "timestamp", "data"}, decided when the event happened.
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Retries stop here: 24 hours after it was owed (or sent again by hand).
    give_up_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The last attempt: when, the receiver's status code (None: no answer), how long it took,
    # and what went wrong in words.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "webhook_id"], name="webhook_once"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_log"),
            # The backlog for /metrics (config/metrics.py): only the rows still owed.
            models.Index(
                fields=["created_at"],
                name="webhook_owed",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_id}"
