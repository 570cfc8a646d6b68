"""An event's follow-up survey: its questionnaire, when it is sent and to whom, and one row
per person it was sent to (the link, opened, answered, reminded)."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .event import Event, Session
from .questionnaire import Questionnaire, Response


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class Survey(models.Model):
    class Audience(models.TextChoices):
        AUTO = "auto", _("Attendees checked in (everyone confirmed when the event skips check-in)")
        CONFIRMED = "confirmed", _("Everyone confirmed, checked in or not")

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="survey")
    questionnaire = models.OneToOneField(
        Questionnaire, on_delete=models.PROTECT, related_name="survey"
    )
    intro = models.TextField(
        _("introduction"), blank=True, help_text=_("Shown above the questions. Markdown.")
    )
    # Sending starts only once the organizers turn it on (a survey being built is not sent).
    is_active = models.BooleanField(_("sending on"), default=False)
    send_after_hours = models.PositiveIntegerField(
        default=2, help_text=_("Hours after each session ends.")
    )
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.AUTO)
    reminder_after_days = models.PositiveIntegerField(
        default=3,
        help_text=_("Days after sending, to those who have not answered. 0: no reminder."),
    )
    closes_at = models.DateTimeField(help_text=_("After this, links stop working."))
    anonymous = models.BooleanField(
        _("anonymous results"),
        default=False,
        help_text=_("Organizers never see who answered what; groups under 3 are not shown."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Survey for {self.event}"


class SurveySending(models.Model):
    """When a session's survey is due, and when it went out. Rescheduling the session or the
    survey's delay moves `due_at` (an UPDATE; nothing waits in a broker)."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="sendings")
    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="survey_sending")
    due_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"])]

    def __str__(self) -> str:
        return f"Survey for session {self.session_id}"


class SurveyRecipient(models.Model):
    """One person a survey was sent to: exactly one per person per survey, whichever
    session of the event they attended."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_invites"
    )
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    # The link carries the nonce: a new nonce makes every link mailed before stop working.
    # Resending keeps it (services.surveys.resend): the first mail's link still works.
    nonce = models.CharField(max_length=32, default=new_nonce)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    resent = models.PositiveIntegerField(default=0)
    response = models.OneToOneField(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_recipient"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "user"], name="one_survey_per_person")
        ]
        indexes = [models.Index(fields=["remind_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.survey}"
