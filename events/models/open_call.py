"""An open call: a public form whose confirmed submissions become the pool organizers invite
from. The questions and answers are the question engine's; this adds the standard profile
fields, double opt-in, withdrawal, tags and reviews."""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import User

from .questionnaire import Questionnaire, Response


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class OpenCall(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(
        "short name",
        max_length=60,
        unique=True,
        help_text="The public address: /call/<short name>/. Letters, numbers and hyphens.",
    )
    intro = models.TextField("introduction", blank=True, help_text="Markdown.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    ask_join = models.BooleanField("ask whether they would join a session or a demo", default=True)
    consent_text = models.TextField(
        "consent to be contacted",
        blank=True,
        default="I agree to be contacted by email about feedback sessions and prototype demos.",
    )
    questionnaire = models.OneToOneField(
        Questionnaire, on_delete=models.PROTECT, related_name="open_call"
    )
    team = models.ForeignKey("events.Team", on_delete=models.PROTECT, related_name="calls")
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


class Submission(models.Model):
    """One person's submission to a call (one per email). It joins the pool when its email
    is confirmed; a new submission from the same address waits in `pending` until that
    address confirms it too, so nobody can overwrite someone else's answers."""

    call = models.ForeignKey(OpenCall, on_delete=models.CASCADE, related_name="submissions")
    email = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=User.Role.choices, blank=True)
    affiliation = models.CharField(max_length=200, blank=True)
    github_handle = models.CharField("GitHub handle", max_length=39, blank=True)
    location = models.CharField("country or time zone", max_length=64, blank=True)
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["call", "email"], name="one_submission_per_email")
        ]
        indexes = [models.Index(fields=["confirmed_at", "submitted_at"])]

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
