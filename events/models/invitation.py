import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .changes import StampsChanges


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class Invitation(StampsChanges):
    """An invitation of one email address to a session (or to an event, the invitee picking
    the session). Its link carries a signed token of (id, nonce): unguessable without the
    SECRET_KEY, scoped to this invitation, dead once used, revoked, expired or re-sent (a new
    nonce). A held seat counts in Session.seats_taken until the invitation is answered or lapses."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("invitation status", "Pending")
        ACCEPTED = "accepted", pgettext_lazy("invitation status", "Accepted")
        DECLINED = "declined", pgettext_lazy("invitation status", "Declined")
        EXPIRED = "expired", pgettext_lazy("invitation status", "Expired")
        REVOKED = "revoked", pgettext_lazy("invitation status", "Revoked")

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="invitations")
    session = models.ForeignKey(
        "events.Session",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
        help_text=_("Empty: the invitee picks a session of the event."),
    )
    email = models.EmailField(max_length=254)
    # The language the invitee last used on our pages ("" until then: the team's default).
    language = models.CharField(max_length=12, blank=True, default="")
    name = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=500, blank=True, help_text=_("From the organizer's list."))
    message = models.TextField(blank=True, help_text=_("The personal message of the batch."))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    holds_seat = models.BooleanField(default=False)
    seat_held = models.BooleanField(default=False)  # counted in the session's seats_taken now
    allow_any_account = models.BooleanField(default=False)
    nonce = models.CharField(max_length=32, default=new_nonce)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    registration = models.ForeignKey(
        "events.Registration", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why the team's cool-down or limit was set aside for this person ('' when it was not).
    override_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            # One live invitation per address and target (a session, or the whole event).
            models.UniqueConstraint(
                "session",
                "email",
                condition=Q(status="pending", session__isnull=False),
                name="one_pending_invitation_per_session",
            ),
            models.UniqueConstraint(
                "event",
                "email",
                condition=Q(status="pending", session__isnull=True),
                name="one_pending_invitation_per_event",
            ),
            models.CheckConstraint(
                condition=Q(seat_held=False) | Q(holds_seat=True, session__isnull=False),
                name="held_seat_needs_a_session",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["status", "remind_at"]),
            models.Index(fields=["event", "email"]),
            # The team's contact rules look people up by address, whatever its case.
            models.Index("event", Lower("email"), name="invitation_event_email_lower"),
            # The API's incremental sync (`updated_since`) of an event's invitations.
            models.Index(fields=["event", "updated_at", "id"], name="invitation_event_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.session or self.event}"
