import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import pgettext_lazy

from .. import itip
from .changes import StampsChanges
from .event import Session


def new_checkin_token() -> str:
    return secrets.token_urlsafe(24)


def replies_configured() -> bool:
    """Whether calendar answers reach the app: a reply address, and mail taken from it (an
    IMAP folder polled, or a provider's inbound webhook). README, "Calendar replies"."""
    return bool(
        settings.CALENDAR_REPLY_ADDRESS
        and (settings.CALENDAR_REPLIES_IMAP_URL or settings.CALENDAR_REPLIES_WEBHOOK)
    )


def calendar_organizer_now() -> str:
    """The ORGANIZER a new calendar entry gets: while replies are read, the reply address
    with a new random secret as its sub-address (rsvp+<secret>@example.com, one per
    registration: an answer must come back to it to cancel), or the bare reply address with
    CALENDAR_REPLY_SUBADDRESS off; else '' (the site's From address, DEFAULT_FROM_EMAIL).
    A random secret rather than one derived from SECRET_KEY: it is stored with the entry's
    organizer, which never changes, so rotating the key cannot change or expose it."""
    if not replies_configured():
        return ""
    if settings.CALENDAR_REPLY_SUBADDRESS:
        return itip.with_secret(settings.CALENDAR_REPLY_ADDRESS, secrets.token_hex(12))
    return settings.CALENDAR_REPLY_ADDRESS


def first_invite_organizer(current: str) -> str:
    """The ORGANIZER fixed at a registration's first invite: the one the row already has if it
    is what calendar_organizer_now would give (the reply address, with a secret exactly when
    sub-addressing is on), so that its secret never changes once made (an .ics downloaded
    before the first mail names it too); else a new one."""
    if (
        replies_configured()
        and is_reply_address(current)
        and has_secret(current) == settings.CALENDAR_REPLY_SUBADDRESS
    ):
        return current
    return calendar_organizer_now()


def is_reply_address(address: str) -> bool:
    """Whether an entry's organizer is the configured reply address (with or without a
    secret sub-address)."""
    return itip.is_reply_address(address, settings.CALENDAR_REPLY_ADDRESS)


def has_secret(organizer: str) -> bool:
    """Whether an entry's organizer is a secret sub-address of the configured reply address
    (rsvp+<secret>@...): a `+tag` the configured address has itself is none."""
    return bool(itip.split_secret(organizer, settings.CALENDAR_REPLY_ADDRESS)[1])


def new_join_token() -> str:
    return secrets.token_urlsafe(24)


class Registration(StampsChanges):
    """One person's place (or wish for one) in one session.

    applied -> confirmed | rejected | waitlisted (approval / lottery)
    waitlisted -> offered -> confirmed | declined | expired
    confirmed | offered | waitlisted | applied -> cancelled
    """

    class Answer(models.TextChoices):
        ACCEPTED = "accepted", pgettext_lazy("calendar answer", "Accepted")
        TENTATIVE = "tentative", pgettext_lazy("calendar answer", "Maybe")

    class Status(models.TextChoices):
        APPLIED = "applied", pgettext_lazy("registration status", "Applied")
        CONFIRMED = "confirmed", pgettext_lazy("registration status", "Confirmed")
        WAITLISTED = "waitlisted", pgettext_lazy("registration status", "Waitlisted")
        OFFERED = "offered", pgettext_lazy("registration status", "Seat offered")
        REJECTED = "rejected", pgettext_lazy("registration status", "Not selected")
        DECLINED = "declined", pgettext_lazy("registration status", "Offer declined")
        EXPIRED = "expired", pgettext_lazy("registration status", "Offer expired")
        CANCELLED = "cancelled", pgettext_lazy("registration status", "Cancelled")

    # Statuses that hold a seat in Session.seats_taken.
    SEATED = (Status.CONFIRMED, Status.OFFERED)
    # Statuses of a person still in play for the session (one of these at most per person).
    ACTIVE = (Status.APPLIED, Status.CONFIRMED, Status.WAITLISTED, Status.OFFERED)

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registrations"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    answers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    waitlisted_at = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    lottery_rank = models.PositiveIntegerField(null=True, blank=True)
    # The SEQUENCE of the last calendar message this person was sent for the session; None
    # until they get an invite. Each later message for the same UID carries a higher one.
    calendar_sequence = models.PositiveIntegerField(null=True, blank=True)
    # When they first downloaded the session's .ics (the invite itself, a REQUEST): from then
    # their calendar may hold the entry even if no emailed invite ever reached them.
    calendar_downloaded_at = models.DateTimeField(null=True, blank=True)
    # The ORGANIZER (and From) of this person's calendar entry, fixed when the row is made
    # (or at their first invite): "" is the site's From address. It never changes after
    # their first invite, since calendars drop updates whose organizer differs; so turning
    # calendar replies on later leaves entries already sent as they were. With replies on,
    # it is this registration's own secret reply address (calendar_organizer_now).
    calendar_organizer = models.CharField(
        max_length=320, blank=True, default=calendar_organizer_now
    )
    # Their answer in their calendar (Yes / Maybe; a No cancels), for the invite of
    # `calendar_answer_sequence`: an answer to an older version says nothing of the current.
    calendar_answer = models.CharField(max_length=20, choices=Answer.choices, blank=True)
    calendar_answer_sequence = models.PositiveIntegerField(null=True, blank=True)
    calendar_answered_at = models.DateTimeField(null=True, blank=True)
    # When the next reminder is due (confirmed seats only); moved when the session moves.
    remind_at = models.DateTimeField(null=True, blank=True)
    # Attendance. The check-in token goes in the attendee's QR code; only an organizer of
    # the event can act on it.
    checkin_token = models.CharField(max_length=64, unique=True, default=new_checkin_token)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    no_show = models.BooleanField(default=False)
    walk_in = models.BooleanField(default=False)
    # The personal join link of an online or hybrid session (/join/<token>/), and when its
    # owner first and last opened the meeting through it.
    join_token = models.CharField(max_length=64, unique=True, default=new_join_token)
    first_joined_at = models.DateTimeField(null=True, blank=True)
    last_joined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="one_registration_per_session")
        ]
        indexes = [
            models.Index(fields=["session", "status"]),
            models.Index(fields=["status", "offer_expires_at"]),
            models.Index(fields=["status", "remind_at"]),
            # The API's incremental sync (`updated_since`).
            models.Index(fields=["updated_at", "id"], name="registration_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.session} · {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def current_calendar_answer(self) -> str:
        """Their calendar's answer to the invite they hold now ('' if none, or if it was to
        a version the session has since moved on from)."""
        if not self.calendar_answer or self.status != self.Status.CONFIRMED:
            return ""
        if (self.calendar_answer_sequence or 0) < (self.calendar_sequence or 0):
            return ""
        return self.calendar_answer

    def get_current_calendar_answer_display(self) -> str:
        answer = self.current_calendar_answer
        return str(self.Answer(answer).label) if answer else ""


class RegistrationChange(models.Model):
    """History: every status change of a registration, who made it and when."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} -> {self.to_status}"
