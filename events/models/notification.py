from django.conf import settings
from django.db import models


class Notification(models.Model):
    """The outbox: one row per email the system owes, written in the same transaction as the
    change that caused it. `key` (kind, recipient, object, version) makes it owed only once."""

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", "Registration confirmed"
        APPLIED = "applied", "Application received"
        APPROVED = "approved", "Application approved"
        REJECTED = "rejected", "Application not selected"
        WAITLISTED = "waitlisted", "Waitlisted"
        OFFERED = "offered", "Seat offered"
        OFFER_EXPIRED = "offer_expired", "Offer expired"
        CANCELLED = "cancelled", "Registration cancelled"
        CANCELLED_BY_ORGANIZER = "cancelled_by_organizer", "Cancelled by the organizer"
        SESSION_CHANGED = "session_changed", "Session changed"
        SESSION_CANCELLED = "session_cancelled", "Session cancelled"
        REMINDER = "reminder", "Reminder"
        INVITATION = "invitation", "Invitation"
        INVITATION_REMINDER = "invitation_reminder", "Invitation reminder"
        SURVEY = "survey", "Survey"
        SURVEY_REMINDER = "survey_reminder", "Survey reminder"
        CALL_CONFIRM = "call_confirm", "Open call: confirm your email"
        CALL_RECEIVED = "call_received", "Open call: submission received"
        TEAM_INVITATION = "team_invitation", "Invitation to join a team"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook endpoint disabled"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not needed any more"

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
        ]

    def __str__(self) -> str:
        return self.key
