"""Tombstones: that a row the API shows went, for the integrations that copied it.

A client syncing by `updated_since` sees what changed, never what vanished: without these it
would keep its copies of people erased or anonymised here. A tombstone says which object
(kind and id), of which team, went when and why (erased, anonymised, deleted), and nothing
else: no name, no address, no link to a user. Written by `services.tombstones.bury` in the
transaction that removes the rows, read by `GET /api/v1/deletions/`, purged after
`services.tombstones.KEEP_DAYS`."""

from django.db import models
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from .team import Team


class Tombstone(models.Model):
    class Kind(models.TextChoices):
        # The API's names of the objects (its resources), never renamed: clients match them.
        REGISTRATION = "registration", pgettext_lazy("deleted object", "Registration")
        INVITATION = "invitation", pgettext_lazy("deleted object", "Invitation")
        SUBMISSION = "submission", pgettext_lazy("deleted object", "Open-call submission")
        SURVEY_RESPONSE = "survey_response", pgettext_lazy("deleted object", "Survey response")
        PANEL_MEMBER = "panel_member", pgettext_lazy("deleted object", "Panel member")
        SEGMENT = "segment", pgettext_lazy("deleted object", "Segment")

    class Reason(models.TextChoices):
        ERASED = "erased", pgettext_lazy("deletion reason", "The person was erased")
        ANONYMISED = (
            "anonymised",
            pgettext_lazy("deletion reason", "Anonymised by the retention policy"),
        )
        DELETED = "deleted", pgettext_lazy("deletion reason", "Deleted or withdrawn")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.BigIntegerField()
    reason = models.CharField(max_length=12, choices=Reason.choices)
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["removed_at", "pk"]
        indexes = [
            # The endpoint's read (a team's, since a time, in order) and the purge's.
            models.Index(fields=["team", "removed_at", "id"], name="tombstone_team_removed"),
            models.Index(fields=["removed_at"], name="tombstone_removed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} {self.reason}"
