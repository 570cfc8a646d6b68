"""The question engine's tables: a questionnaire (an ordered list of typed questions), one
response per respondent, and answers as rows so that results are counted by the database.

Nothing here knows about events: a survey and an open call each own a questionnaire and say
who its respondents are."""

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Questionnaire(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Questionnaire {self.pk}"


class QuestionManager(models.Manager):
    """Every question is loaded with its choices (one more query per list of questions, not
    one per question): results, the CSV, the forms and the pool's filter all read them."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().prefetch_related("choices")


class Question(models.Model):
    class Kind(models.TextChoices):
        RATING = "rating", _("Rating (1 to 5)")
        NPS = "nps", _("Recommendation (0 to 10)")
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        SHORT_TEXT = "short_text", _("Short text")
        LONG_TEXT = "long_text", _("Long text")

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=300)
    help_text = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=False)
    # A text question's answers stay (without the respondent) when personal data is
    # anonymised; by default free text goes, since words can name their writer.
    keep_text = models.BooleanField(default=False)

    objects = QuestionManager()

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label

    @property
    def offered_choices(self) -> list[tuple[int, str]]:
        """(id, words) of each choice a respondent may pick, in order."""
        return [(c.number, c.label) for c in self.choices.all() if not c.removed]

    @property
    def removed_choices(self) -> list[tuple[int, str]]:
        """(id, words) of each choice no longer offered, in the order they were removed."""
        return [(c.number, c.label) for c in self.choices.all() if c.removed]

    @property
    def choice_ids(self) -> list[int]:
        """The ids of the offered choices, in order."""
        return [pk for pk, _label in self.offered_choices]

    @property
    def choice_labels(self) -> list[str]:
        """The words of the offered choices, in order."""
        return [label for _pk, label in self.offered_choices]

    @property
    def choice_options(self) -> list[tuple[int, str]]:
        """(id, name) of every choice answers may name: the offered ones, then the removed
        ones (for filtering on old answers)."""
        names = self.choice_names()
        return [(pk, names[pk]) for pk, _label in self.offered_choices + self.removed_choices]

    def choice_names(self) -> dict[int, str]:
        """Every choice's words by id, a removed one's marked as such: what results, charts,
        the CSV and the pool's filter call a choice."""
        names = {
            # Translators: a choice no longer offered, as results and exports name it.
            pk: gettext("%(choice)s (removed)") % {"choice": label}
            for pk, label in self.removed_choices
        }
        names.update(self.offered_choices)
        return names


class Choice(models.Model):
    """One choice of a choice question. Answers name it by `number`, its id within the
    question: kept through rewording and reordering, never reused (nothing is deleted), so a
    choice keeps its answers whatever happens to the others. A removed choice is no longer
    offered, but its answers keep its words (marked "removed" in results). The first ids of
    a question are the places its choices had before ids existed (migration 0004)."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    number = models.PositiveSmallIntegerField()
    # Not limited here: the engine limits new words (MAX_CHOICE_LENGTH), and choices written
    # before that limit keep their words as they are.
    label = models.TextField()
    # Place among the offered choices; among the removed ones, the order of removal.
    position = models.PositiveSmallIntegerField(default=0)
    removed = models.BooleanField(default=False)

    class Meta:
        ordering = ["removed", "position", "number"]
        constraints = [
            models.UniqueConstraint(fields=["question", "number"], name="choice_id_once"),
        ]

    def __str__(self) -> str:
        return self.label


class Response(models.Model):
    """One respondent's answers. `respondent` (e.g. `user42`, `email:ada@example.com`) is the
    owner's key for who answered: one response per respondent, answering again updates it."""

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="responses"
    )
    respondent = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "respondent"], name="one_response_per_respondent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.respondent} on {self.questionnaire_id}"


class Answer(models.Model):
    """One answer: a number (rating, NPS score or a choice's id) or a text. A multiple
    choice answer is one row per chosen id."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    number = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["question", "number"])]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question", "number"], name="answer_once_per_choice"
            )
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.text or self.number}"
