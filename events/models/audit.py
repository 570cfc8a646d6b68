"""The audit log: who among a team's members (or staff) did what to which object, and when.

One row per organizer or staff action, written by `services.audit.record` in the same
transaction as the change (a rolled-back change leaves no row). What a data protection officer
expects of it, and how it is kept:

- The actor is the member's account (`actor`, SET_NULL) and the role they acted in at the
  time (`actor_role`: owner, organizer, reviewer, door staff, staff, or system). No name or
  address is copied: once an account is erased the entry says "a former owner", and nothing
  more is left of that person here.
- Attendees and other people acted upon are named by id only (`object_id`, and ids in the
  summary: registration, user, submission, invitation); never a name, an email, a note or a
  free-text answer. `summary` holds the fields that changed, old and new, of organizer data.
- Rows are read by the team's owners (per team, per event) and deleted after the audit
  retention (the team's policy, `Team.retention_audit_days`, two years by default) by a beat
  task.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .event import Event
from .team import Team


class AuditEntry(models.Model):
    # No database foreign keys (db_constraint=False): an entry is written inside the change it
    # records, and a real foreign key would make that insert take a KEY SHARE lock on the
    # team, event and user rows, an extra lock the change's own lock order knows nothing of
    # (the retention sweep holding an event while an organizer's correction waited on it
    # deadlocked). Deleting a team, event or account still cascades or empties through
    # Django, as on_delete says.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="audit_entries", db_constraint=False
    )
    # Kept when the event goes: the team's log outlives the event it was about.
    event = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
        db_constraint=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_role = models.CharField(max_length=20)
    # A stable dotted code ("session.cancelled"): what the pages translate and filter on.
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["team", "-created_at", "-id"], name="audit_team_time"),
            models.Index(fields=["event", "-created_at", "-id"], name="audit_event_time"),
            # The retention purge walks the oldest rows first.
            models.Index(fields=["created_at"], name="audit_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id} by {self.actor_role}"
