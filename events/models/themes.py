"""Themes over the free-text answers of one question (issue #23): what the themes engine
(events.themes) found, as rows the themes page lists, and what organizers did to them.

services.themes writes these; the question engine knows nothing of them (this module imports
it, never the reverse). A computation replaces a set's Theme and ThemeAnswer rows whole; the
organizers' renames, pins and merges are carried over to the themes that continue the old
ones (themes.match)."""

import secrets

from django.db import models
from django.utils.translation import pgettext_lazy

from .questionnaire import Answer, Question


def _new_seed() -> int:
    return secrets.randbelow(2**32)


class ThemeSet(models.Model):
    """One per text question: its settings, the last computation's model and its state."""

    class Status(models.TextChoices):
        IDLE = "idle", pgettext_lazy("themes status", "Up to date")
        QUEUED = "queued", pgettext_lazy("themes status", "Waiting to be computed")
        RUNNING = "running", pgettext_lazy("themes status", "Being computed")
        FAILED = "failed", pgettext_lazy("themes status", "Failed")

    question = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="theme_set")
    min_themes = models.PositiveSmallIntegerField(default=2)
    max_themes = models.PositiveSmallIntegerField(default=12)
    # Random at creation, then kept: the same answers give the same themes.
    seed = models.BigIntegerField(default=_new_seed)
    # themes.Model.to_bytes() (an .npz of plain arrays, no pickle); empty before the first run.
    model = models.BinaryField(default=b"", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    requested_at = models.DateTimeField(null=True, blank=True)  # the debounce reads it
    computed_at = models.DateTimeField(null=True, blank=True)
    answers_count = models.PositiveIntegerField(default=0)  # grouped by the last computation
    reason = models.CharField(max_length=300, blank=True)  # why fewer themes than asked
    error = models.CharField(max_length=500, blank=True)  # the last failure, kept until a success

    def __str__(self) -> str:
        return f"Themes of question {self.question_id}"


class Theme(models.Model):
    theme_set = models.ForeignKey(ThemeSet, on_delete=models.CASCADE, related_name="themes")
    position = models.PositiveSmallIntegerField()  # the engine's index (largest first)
    label = models.CharField(max_length=300)  # the engine's: its top three terms
    custom_name = models.CharField(max_length=120, blank=True)  # an organizer's rename
    terms = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=0)  # with the answers of themes merged into it
    pinned = models.BooleanField(default=False)
    quote_answer_ids = models.JSONField(default=list)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged"
    )

    class Meta:
        ordering = ["-pinned", "position"]
        constraints = [
            models.UniqueConstraint(fields=["theme_set", "position"], name="theme_position_once")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.custom_name or self.label


class ThemeAnswer(models.Model):
    """Where one answer was placed: a theme, or none (no clear theme)."""

    theme_set = models.ForeignKey(ThemeSet, on_delete=models.CASCADE, related_name="placements")
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="+")
    theme = models.ForeignKey(
        Theme, null=True, blank=True, on_delete=models.CASCADE, related_name="answers"
    )
    weight = models.FloatField(default=0.0)

    class Meta:
        indexes = [models.Index(fields=["theme", "answer"], name="theme_answers")]
        constraints = [
            models.UniqueConstraint(fields=["theme_set", "answer"], name="answer_placed_once")
        ]

    def __str__(self) -> str:
        return f"{self.answer_id} in {self.theme_id}"
