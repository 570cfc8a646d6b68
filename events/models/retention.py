"""The retention policy's records (services.retention): what each sweep or early
anonymisation removed, and the panel's consent renewals.

The log holds counts and the event's or call's title, never who was removed: nothing else is
kept about people whose data went."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import pgettext_lazy

from .team import Team


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


class RetentionLog(models.Model):
    class Kind(models.TextChoices):
        EVENT = "event", pgettext_lazy("retention log", "Event: attendees' data anonymised")
        CALL = "call", pgettext_lazy("retention log", "Open call: submissions removed")
        PANEL = "panel", pgettext_lazy("retention log", "Panel: members removed")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="retention_log")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call = models.ForeignKey(
        "events.OpenCall", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The event's or call's title at the time: the log stays readable if it goes.
    subject = models.CharField(max_length=200, blank=True)
    # Rows removed or anonymised, by kind of personal data (events.privacy.KINDS).
    counts = models.JSONField(default=dict)
    # What failed, by kind and id ("event:12", "submission:34", "panel_member:56", or a
    # whole "call:7" or team's "panel:3"): an item failing at every hourly run is one item
    # for the metric (config/metrics.py). Ids only, nothing personal.
    failed_items = models.JSONField(default=list, blank=True)
    # An owner who anonymised an event early; None for the sweep.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["team", "-at"], name="retention_log_team_at"),
            # The sweep's failure lines only (the metrics read them at each scrape).
            models.Index(
                fields=["-at"],
                condition=models.Q(counts__has_key="failed"),
                name="retention_log_failures",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} {self.counts}"


class PanelRenewal(models.Model):
    """A panel member asked to renew their consent before removal (by their lower-cased
    address, the panel's key). `renewed_at` counts as contact; the row goes with the person."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="panel_renewals")
    email = models.EmailField(max_length=254)
    # Changed at each new request: only the latest mail's link works.
    nonce = models.CharField(max_length=32, default=new_nonce)
    asked_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "email"], name="panel_renewal_once_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.email} in {self.team}"
