"""An open call: a public form whose confirmed submissions become the pool organizers invite
from. The questions and answers are the question engine's; this adds the standard profile
fields, double opt-in, withdrawal, tags and reviews."""

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User

from .questionnaire import Questionnaire, Response


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class OpenCall(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("call status", "Draft")
        PUBLISHED = "published", pgettext_lazy("call status", "Published")

    title = models.CharField(max_length=200)
    slug = models.SlugField(
        _("short name"),
        max_length=60,
        unique=True,
        help_text=_("The public address: /call/<short name>/. Letters, numbers and hyphens."),
    )
    intro = models.TextField(_("introduction"), blank=True, help_text=_("Markdown."))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    ask_join = models.BooleanField(
        _("ask whether they would join a session or a demo"), default=True
    )
    consent_text = models.TextField(
        _("consent to be contacted"),
        blank=True,
        default="I agree to be contacted by email about feedback sessions and prototype demos.",
    )
    questionnaire = models.OneToOneField(
        Questionnaire, on_delete=models.PROTECT, related_name="open_call"
    )
    team = models.ForeignKey("events.Team", on_delete=models.PROTECT, related_name="calls")
    # The team's retention of unconfirmed and disqualified submissions, for this call only.
    retention_submission_days = models.PositiveIntegerField(
        _("unconfirmed or disqualified submissions: days kept"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: the team's policy."),
    )
    # Moved by every change to the screening rules: a submission whose `screened_version`
    # is behind it has not been scored under the rules as they are (services.call_screening
    # re-scores them in the background, and progress is the share that caught up).
    rules_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("events:call", args=[self.slug])


class PoolTag(models.Model):
    call = models.ForeignKey(OpenCall, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["call", "name"], name="one_tag_name_per_call")
        ]

    def __str__(self) -> str:
        return self.name


class CallRule(models.Model):
    """A screening rule on one choice of a call's question: choosing it qualifies or
    disqualifies the person, or the question must be answered with one of the choices so
    marked. Rules are the organizers'; scoring them is services.call_screening's."""

    class Effect(models.TextChoices):
        QUALIFY = "qualify", _("Qualifies")
        DISQUALIFY = "disqualify", _("Disqualifies")
        REQUIRE = "require", _("Must include one of")

    call = models.ForeignKey(OpenCall, on_delete=models.CASCADE, related_name="rules")
    choice = models.ForeignKey("events.Choice", on_delete=models.CASCADE, related_name="call_rules")
    effect = models.CharField(max_length=20, choices=Effect.choices)

    class Meta:
        ordering = ["call", "choice__question__position", "choice__position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["call", "choice"], name="one_rule_per_choice"),
        ]

    def __str__(self) -> str:
        return f"{self.choice} {self.get_effect_display().lower()}"


class CallQuota(models.Model):
    """A quota on the people chosen from a call, by one attribute: "at least 30% researchers"
    (a value), "at most 40% from one company" (no value: any one of them)."""

    class Bound(models.TextChoices):
        AT_LEAST = "at_least", _("At least")
        AT_MOST = "at_most", _("At most")

    call = models.ForeignKey(OpenCall, on_delete=models.CASCADE, related_name="quotas")
    field = models.CharField(max_length=60)  # role, affiliation, location
    value = models.CharField(max_length=200, blank=True)  # blank: any one value
    bound = models.CharField(max_length=10, choices=Bound.choices)
    percent = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["call", "field", "bound", "value", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "field", "value", "bound"], name="one_quota_per_value"
            ),
            models.CheckConstraint(
                condition=models.Q(percent__gte=1, percent__lte=100), name="quota_1_to_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_bound_display()} {self.percent}% {self.field} {self.value}".strip()


class Submission(models.Model):
    """One person's submission to a call (one per email). It joins the pool when its email
    is confirmed; a new submission from the same address waits in `pending` until that
    address confirms it too, so nobody can overwrite someone else's answers."""

    class Screening(models.TextChoices):
        QUALIFIED = "qualified", pgettext_lazy("screening verdict", "Qualified")
        DISQUALIFIED = "disqualified", pgettext_lazy("screening verdict", "Disqualified")

    call = models.ForeignKey(OpenCall, on_delete=models.CASCADE, related_name="submissions")
    email = models.EmailField(max_length=254)
    # The language the form was filled in: the call's mails are written in it.
    language = models.CharField(max_length=12, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=User.Role.choices, blank=True)
    affiliation = models.CharField(max_length=200, blank=True)
    github_handle = models.CharField(_("GitHub handle"), max_length=39, blank=True)
    location = models.CharField(_("country or time zone"), max_length=64, blank=True)
    join_feedback = models.BooleanField(default=False)
    join_demo = models.BooleanField(default=False)
    consent = models.BooleanField(default=False)
    response = models.OneToOneField(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="submission"
    )
    # What was submitted and not confirmed yet (profile fields and answers), when, and the
    # nonce its confirmation link carries.
    pending = models.JSONField(null=True, blank=True)
    pending_at = models.DateTimeField(null=True, blank=True)
    nonce = models.CharField(max_length=32, default=new_nonce)
    # When the submission in the pool was sent: moved only by a confirmation (anyone can
    # submit with any address; until that mailbox confirms, nothing about it changes).
    submitted_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField(PoolTag, blank=True, related_name="submissions")
    # When the team last changed its tags on it: a change of a many-to-many leaves no time of
    # its own, and the panel's minute refresh finds what changed by time (services.panel).
    tags_changed_at = models.DateTimeField(null=True, blank=True)
    # The call's screening rules' verdict on the confirmed answers: blank until scored, and
    # under which version of the rules (OpenCall.rules_version). A disqualified person keeps
    # their answers but is not invitable from this call; `screening_reason` is the rule that
    # decided, in words.
    screening = models.CharField(max_length=20, choices=Screening.choices, blank=True)
    screening_reason = models.CharField(max_length=300, blank=True)
    screened_version = models.PositiveIntegerField(default=0)
    # When a re-score (services.call_screening.rescore) last set the verdict: the panel's
    # minute refresh finds the people whose verdict changed by it (scoring at confirmation
    # is found by `confirmed_at` and the response's time).
    screened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["call", "email"], name="one_submission_per_email")
        ]
        indexes = [
            models.Index(fields=["confirmed_at", "submitted_at"]),
            models.Index(fields=["call", "screening"]),
            models.Index(fields=["call", "screened_version"]),
        ]

    def __str__(self) -> str:
        return f"{self.email} · {self.call}"


class Review(models.Model):
    """An organizer's score (1-5) and private note on a submission."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    score = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "reviewer"], name="one_review_per_reviewer"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="review_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} scored {self.submission}: {self.score}"
