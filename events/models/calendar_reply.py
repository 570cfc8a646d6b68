from django.db import models

from .registration import Registration


class CalendarReply(models.Model):
    """One inbound message read as a calendar answer (services/calendar_replies.py), kept by
    its Message-ID: a copy delivered again (a webhook retried, a mailbox polled twice, two
    deliveries at once) finds its row and changes nothing. What it did, or why it did
    nothing, stays with it."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"

    message_id = models.CharField(max_length=255, unique=True)
    source = models.CharField(max_length=40)  # "imap", or the provider of the webhook
    sender = models.EmailField(max_length=254, blank=True)
    uid = models.CharField(max_length=255, blank=True)
    sequence = models.IntegerField(null=True, blank=True)
    partstat = models.CharField(max_length=20, blank=True)
    registration = models.ForeignKey(
        Registration,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calendar_replies",
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True)  # in English, for the log
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.message_id} · {self.outcome}"
