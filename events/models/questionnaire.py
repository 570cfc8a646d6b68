"""The question engine's tables: a questionnaire (an ordered list of typed questions), one
response per respondent, and answers as rows so that results are counted by the database.

Nothing here knows about events: a survey and an open call each own a questionnaire and say
who its respondents are."""

from django.db import models


class Questionnaire(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Questionnaire {self.pk}"


class Question(models.Model):
    class Kind(models.TextChoices):
        RATING = "rating", "Rating (1 to 5)"
        NPS = "nps", "Recommendation (0 to 10)"
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        SHORT_TEXT = "short_text", "Short text"
        LONG_TEXT = "long_text", "Long text"

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=300)
    help_text = models.CharField(max_length=500, blank=True)
    # Choice questions: the offered choices, in order. Answers store a choice's index, so a
    # choice may be reworded once answered, never removed or moved.
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "pk"]

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
    """One answer: a number (rating, NPS score or a choice's index) or a text. A multiple
    choice answer is one row per chosen index."""

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
