from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Notification(models.Model):
    """The outbox: one row per email the system owes, written in the same transaction as the
    change that caused it. `key` (kind, recipient, object, version) makes it owed only once."""

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", _("Registration confirmed")
        APPLIED = "applied", _("Application received")
        APPROVED = "approved", _("Application approved")
        REJECTED = "rejected", _("Application not selected")
        WAITLISTED = "waitlisted", _("Waitlisted")
        OFFERED = "offered", _("Seat offered")
        OFFER_EXPIRED = "offer_expired", _("Offer expired")
        CANCELLED = "cancelled", _("Registration cancelled")
        CANCELLED_BY_ORGANIZER = "cancelled_by_organizer", _("Cancelled by the organizer")
        SESSION_CHANGED = "session_changed", _("Session changed")
        SESSION_CANCELLED = "session_cancelled", _("Session cancelled")
        REMINDER = "reminder", _("Reminder")
        INVITATION = "invitation", _("Invitation")
        INVITATION_REMINDER = "invitation_reminder", _("Invitation reminder")
        SURVEY = "survey", _("Survey")
        SURVEY_REMINDER = "survey_reminder", _("Survey reminder")
        CALL_CONFIRM = "call_confirm", _("Open call: confirm your email")
        CALL_RECEIVED = "call_received", _("Open call: submission received")
        TEAM_INVITATION = "team_invitation", _("Invitation to join a team")
        WEBHOOK_DISABLED = "webhook_disabled", _("Webhook endpoint disabled")
        PANEL_RENEWAL = "panel_renewal", _("Panel: keep me on the panel?")
        ACCOUNT = "account", _("Account: address confirmation, password reset, notices")

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("message status", "Pending")
        SENDING = "sending", pgettext_lazy("message status", "Sending")
        SENT = "sent", pgettext_lazy("message status", "Sent")
        FAILED = "failed", pgettext_lazy("message status", "Failed")
        SKIPPED = "skipped", pgettext_lazy("message status", "Not needed any more")

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="notifications"
    )
    email = models.EmailField(max_length=254)
    registration = models.ForeignKey(
        "events.Registration", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session = models.ForeignKey(
        "events.Session", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    invitation = models.ForeignKey(
        "events.Invitation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    survey_recipient = models.ForeignKey(
        "events.SurveyRecipient",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    submission = models.ForeignKey(
        "events.Submission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team_invitation = models.ForeignKey(
        "events.TeamInvitation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    panel_renewal = models.ForeignKey(
        "events.PanelRenewal",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a failed attempt may be tried again (exponential backoff with jitter).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a worker claimed the row (last claim).
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The claim is a lease: the worker holding `lease_token` may send the row and mark it, and
    # renews `lease_expires_at` while it works; once that passes, the sweep takes the row back
    # and the old holder's final update no longer matches (see events.outbox.delivery).
    lease_token = models.CharField(max_length=32, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["session", "recipient"]),
            # What is still owed, per kind and oldest first: the metrics scrape and the
            # readiness check read it on every call, and it stays as small as the backlog
            # however many sent rows the table keeps (config/metrics.py).
            models.Index(
                fields=["kind", "created_at"],
                name="notification_owed_kind",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return self.key


class DeliveryCount(models.Model):
    """How many emails the outbox's delivery has sent, failed, retried or skipped since the
    database began: Prometheus counters that every worker process, on any machine, adds to
    in the same transaction as the row's own change (`events.outbox.delivery`), so a scrape
    of any web process reads the one total. A few rows per outcome (`shard`, picked by
    process) keep workers from queueing on one row's lock."""

    class Outcome(models.TextChoices):
        SENT = "sent"
        FAILED = "failed"
        RETRIED = "retried"
        SKIPPED = "skipped"

    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    shard = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["outcome", "shard"], name="delivery_count_once")
        ]

    def __str__(self) -> str:
        return f"{self.outcome}[{self.shard}]: {self.count}"
