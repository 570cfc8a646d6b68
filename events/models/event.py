import re
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import validate_timezone

from .changes import StampsChanges
from .questionnaire import Question

# Control characters (line breaks and tabs among them) and the Unicode line and paragraph
# separators: a title or place is one line on pages, in mail subjects and in calendar files.
NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def validate_one_line(value: str) -> None:
    if NOT_ONE_LINE.search(value or ""):
        raise ValidationError(
            _(
                "Use one line of plain text: line breaks, tabs and other control characters "
                "are not allowed."
            ),
            code="not_one_line",
        )


# A join window reaches at most a day before the start (when check-in opens: a join checks
# the person in) and a day after the end.
JOIN_WINDOW_MAX = 24 * 60


def list_of_default_reminders() -> list[int]:
    return [24, 1]


class Event(StampsChanges):
    """A feedback session or prototype demo, with one or more sessions (time slots)."""

    class Kind(models.TextChoices):
        FEEDBACK = "feedback", _("Feedback session")
        DEMO = "demo", _("Prototype demo")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public (listed)")
        UNLISTED = "unlisted", _("Unlisted (only people with the link)")

    class Mode(models.TextChoices):
        OPEN = "open", _("Open: first come, first served")
        APPROVAL = "approval", _("Approval: organizers choose applicants")
        INVITATION = "invitation", _("Invitation only")
        LOTTERY = "lottery", _("Lottery: seats drawn when registration closes")

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("event status", "Draft")
        PUBLISHED = "published", pgettext_lazy("event status", "Published")
        CANCELLED = "cancelled", pgettext_lazy("event status", "Cancelled")

    title = models.CharField(max_length=200, validators=[validate_one_line])
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.FEEDBACK)
    description = models.TextField(blank=True, help_text=_("Markdown."))
    # Optional versions of the title and description in other languages, shown to readers of
    # that language: {"fr": {"title": "...", "description": "..."}}. The organizer's own text
    # stays the reference; a language without an entry reads it.
    translations = models.JSONField(default=dict, blank=True)
    visibility = models.CharField(
        max_length=20, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    registration_mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.OPEN)
    # The questions applicants answer (approval and lottery modes), on the question engine;
    # made with the first question. Their answers are kept on each registration.
    screening = models.OneToOneField(
        "events.Questionnaire",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="screened_event",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    registration_opens_at = models.DateTimeField(null=True, blank=True)
    registration_closes_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    terms_text = models.TextField(_("confidentiality terms"), blank=True)
    terms_version = models.PositiveIntegerField(
        default=0, help_text=_("Raise it when the terms change: everyone accepts the new version.")
    )
    offer_hours = models.PositiveIntegerField(
        default=24, help_text=_("How long a waitlisted person has to accept a freed seat.")
    )
    reminder_hours = models.JSONField(
        default=list_of_default_reminders,
        blank=True,
        help_text=_("Hours before each session when confirmed attendees get a reminder."),
    )
    lottery_reserved_shares = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('Seats reserved per role in a lottery, in percent, e.g. {"researcher": 30}.'),
    )
    checkin_enabled = models.BooleanField(
        _("check people in at the door"),
        default=True,
        help_text=_("Off: everyone confirmed counts as an attendee (surveys go to all of them)."),
    )
    invitation_reminder_hours = models.PositiveIntegerField(
        default=48,
        help_text=_("Remind pending invitees this many hours before their link expires."),
    )
    # When an online or hybrid session's personal join links open the meeting: from this many
    # minutes before the start to this many after the end (a session may set its own).
    join_opens_before = models.PositiveIntegerField(
        _("join links open (minutes before the start)"),
        default=15,
        validators=[MaxValueValidator(JOIN_WINDOW_MAX)],
        help_text=_("Online sessions: how early a personal join link opens the meeting."),
    )
    join_closes_after = models.PositiveIntegerField(
        _("join links close (minutes after the end)"),
        default=0,
        validators=[MaxValueValidator(JOIN_WINDOW_MAX)],
        help_text=_("Online sessions: how long after the end a join link still opens it."),
    )
    team = models.ForeignKey("events.Team", on_delete=models.PROTECT, related_name="events")
    # The team's retention of attendees' data, for this event only (None: the team's).
    retention_attendee_days = models.PositiveIntegerField(
        _("attendees' data: days kept after the event"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: the team's policy."),
    )
    # When a published event stopped being public (cancelled or unpublished); None while
    # published or never published. Its public feed keeps showing subscribers the
    # cancellation for a while after (views.calendar.event_feed).
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(registration_closes_at__isnull=True)
                | Q(registration_opens_at__isnull=True)
                | Q(registration_closes_at__gt=F("registration_opens_at")),
                name="event_registration_window_ordered",
                violation_error_message=_("Registration must close after it opens."),
            ),
        ]
        # The API's incremental sync (`updated_since`) of a team's events.
        indexes = [models.Index(fields=["team", "updated_at"], name="event_team_updated")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("events:detail", args=[self.pk])

    def _in_reader_language(self, field: str) -> str:
        version = (self.translations or {}).get((get_language() or "en").split("-")[0]) or {}
        return version.get(field) or getattr(self, field)

    @property
    def shown_title(self) -> str:
        """The title as the active language's reader sees it (its version when there is one)."""
        return self._in_reader_language("title")

    @property
    def shown_description(self) -> str:
        return self._in_reader_language("description")

    @property
    def is_confidential(self) -> bool:
        return bool(self.terms_text) and self.terms_version > 0

    @property
    def questions(self) -> "models.QuerySet[Question]":
        """The questions applicants answer, in order (none until the first is added)."""
        # Through the questionnaire's side: right even on a copy of the event read before
        # its first question was added.
        return Question.objects.filter(questionnaire__screened_event__pk=self.pk)

    @property
    def uses_applications(self) -> bool:
        return self.registration_mode in {self.Mode.APPROVAL, self.Mode.LOTTERY}

    def registration_is_open(self, now=None) -> bool:
        now = now or timezone.now()
        if self.registration_opens_at and now < self.registration_opens_at:
            return False
        return not (self.registration_closes_at and now >= self.registration_closes_at)


class Session(StampsChanges):
    """A time slot of an event. `seats_taken` counts confirmed + offered (+ held) seats and is
    changed only by a conditional UPDATE (see services.seats); the CHECK is the backstop."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", pgettext_lazy("session status", "Scheduled")
        CANCELLED = "cancelled", pgettext_lazy("session status", "Cancelled")

    class Format(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        ONLINE = "online", _("Online")
        HYBRID = "hybrid", _("Hybrid: in person and online")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=200, blank=True, validators=[validate_one_line])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField()
    seats_taken = models.PositiveIntegerField(default=0)
    waitlist_enabled = models.BooleanField(default=True)
    location = models.CharField(max_length=300, blank=True, validators=[validate_one_line])
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.IN_PERSON)
    # The meeting's real address. Never sent to anyone: attendees of an online or hybrid
    # session get a personal join link (services.joining) that redirects here, so the
    # organizer may change it at any time without owing anyone a message.
    online_url = models.URLField(_("online link"), max_length=500, blank=True)
    # The event's join window, unless set here (minutes; None: the event's).
    join_opens_before = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(JOIN_WINDOW_MAX)]
    )
    join_closes_after = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(JOIN_WINDOW_MAX)]
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    # Calendar identity: one UID for the session's whole life; SEQUENCE rises with each change
    # of time, place or status (RFC 5545), in the same transaction as the change.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    attendance_closed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the no-show sweep marked this session.")
    )
    lottery_seed = models.CharField(max_length=64, blank=True)
    lottery_drawn_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What statistics keep once the attendees' data is anonymised (services.retention): counts
    # by kind ({"registrations": 12, "attended": 9, ...}), added to at each anonymisation.
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    kept_counts = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(seats_taken__lte=F("capacity")),
                name="session_never_overbooked",
                violation_error_message=_("The capacity cannot be below the seats already given."),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="session_ends_after_start",
                violation_error_message=_("A session must end after it starts."),
            ),
        ]
        indexes = [
            models.Index(fields=["starts_at"]),
            # The API's incremental sync (`updated_since`) of an event's sessions.
            models.Index(fields=["event", "updated_at", "id"], name="session_event_updated"),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.event.title} ({self.starts_at:%Y-%m-%d %H:%M} UTC)"

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def has_started(self) -> bool:
        return self.starts_at <= timezone.now()

    @property
    def is_online(self) -> bool:
        """Attended online, at least in part: its attendees get personal join links."""
        return self.format in (self.Format.ONLINE, self.Format.HYBRID)

    @property
    def join_window(self) -> tuple[datetime, datetime]:
        """From when to when a personal join link opens the meeting."""
        before = self.join_opens_before
        after = self.join_closes_after
        before = self.event.join_opens_before if before is None else before
        after = self.event.join_closes_after if after is None else after
        return (
            self.starts_at - timedelta(minutes=before),
            self.ends_at + timedelta(minutes=after),
        )


class TermsAcceptance(models.Model):
    """Who accepted which version of an event's confidentiality terms, and when."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="terms_acceptances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="terms_acceptances"
    )
    version = models.PositiveIntegerField()
    accepted_at = models.DateTimeField(default=timezone.now)

    class Via(models.TextChoices):
        SITE = "site", _("On the site, signed in")
        JOIN_LINK = "join_link", _("From their personal join link, not signed in")

    # How they accepted: signed in (signing up, an invitation), or through the personal join
    # link, whose token stands for them without a login (services.joining). '' for those
    # recorded before this was kept (migration 0036): not known.
    via = models.CharField(max_length=20, choices=Via.choices, default=Via.SITE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user", "version"], name="terms_accepted_once_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} accepted v{self.version} of {self.event}"
