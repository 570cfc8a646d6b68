"""A team: the people who run a feedback programme together. It owns events and open calls;
each member has one role in it, and every change of membership is kept in its history.

What each role may do is not here but in events.permissions (ROLE_ACTIONS): one place."""

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import validate_timezone


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ORGANIZER = "organizer", _("Organizer")
    REVIEWER = "reviewer", _("Reviewer")
    DOOR = "door", _("Door staff")


# One line each, shown beside the role wherever one is chosen.
ROLE_HELP = {
    Role.OWNER: _("Everything, including members, roles and deleting the team."),
    Role.ORGANIZER: _("Creates and runs events, sessions, invitations, surveys and open calls."),
    Role.REVIEWER: _("Reads open-call submissions and the pool, scores and notes them. No emails."),
    Role.DOOR: _("Checks people in at the team's sessions, and nothing else."),
}


class Team(models.Model):
    class Language(models.TextChoices):
        # Translators: each language in its own words, whatever the page's language: English
        # stays "English", French is "Français".
        ENGLISH = "en", pgettext_lazy("language name", "English")
        FRENCH = "fr", pgettext_lazy("language name", "French")

    name = models.CharField(max_length=100)
    slug = models.SlugField(
        _("short name"),
        max_length=50,
        unique=True,
        help_text=_("Letters, numbers and hyphens; used in the organizer area's addresses."),
    )
    timezone = models.CharField(
        _("default time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    language = models.CharField(
        _("default language"), max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    # Reviewers read the pool and score it; exporting people's data is the owner's call.
    reviewers_may_export = models.BooleanField(
        _("reviewers may export personal data"), default=False
    )
    # Up to when the panel (services.panel) has taken in changes of its source rows: the
    # minute's refresh looks for changes from a little before this. None: rebuild it whole.
    panel_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Contact rules, enforced by services.invitations (0 turns a rule off).
    invite_cooldown_days = models.PositiveIntegerField(
        _("days between invitations"),
        default=30,
        help_text=_("Nobody is invited again within this many days of an invitation. 0: no rule."),
    )
    attended_cooldown_days = models.PositiveIntegerField(
        _("days of rest after attending"),
        default=60,
        help_text=_("Nobody is invited within this many days of attending a session. 0: no rule."),
    )
    max_invitations_per_90_days = models.PositiveIntegerField(
        _("invitations per person in 90 days"),
        default=3,
        help_text=_("At most this many invitations per person in any 90 days. 0: no limit."),
    )
    # Retention policy (services.retention; events and calls may override the first two).
    retention_attendee_days = models.PositiveIntegerField(
        _("attendees' data: days kept after the event"),
        default=365,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Attendees' personal data is anonymised this many days after the last session."
        ),
    )
    retention_submission_days = models.PositiveIntegerField(
        _("unconfirmed or disqualified submissions: days kept"),
        default=90,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Open-call submissions never confirmed, or disqualified, go after this many days."
        ),
    )
    retention_panel_days = models.PositiveIntegerField(
        _("panel: days without contact"),
        default=730,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Panel members not contacted for this many days are removed unless they renew "
            "their consent (they are asked 30 days before)."
        ),
    )
    retention_audit_days = models.PositiveIntegerField(
        _("audit log: days kept"),
        default=730,
        validators=[MinValueValidator(1)],
        help_text=_("Entries of the audit log older than this many days are deleted."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_once_per_team"),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.team}"


class TeamInvitation(models.Model):
    """An invitation to join a team with a role, sent by email. Its link carries a signed
    (id, nonce): single use (accepted_at), expiring (expires_at), revocable (revoked_at)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=20, choices=Role.choices)
    nonce = models.CharField(max_length=32, default=new_nonce)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.email} to {self.team} as {self.get_role_display()}"


class TeamHistory(models.Model):
    """Who changed what in a team, and when: members, roles, invitations."""

    class Action(models.TextChoices):
        CREATED = "created", pgettext_lazy("team history", "created the team")
        JOINED = "joined", pgettext_lazy("team history", "joined")
        ADDED = "added", pgettext_lazy("team history", "added")
        ROLE_CHANGED = "role_changed", pgettext_lazy("team history", "changed the role of")
        REMOVED = "removed", pgettext_lazy("team history", "removed")
        LEFT = "left", pgettext_lazy("team history", "left")
        INVITED = "invited", pgettext_lazy("team history", "invited")
        INVITATION_RESENT = (
            "invitation_resent",
            pgettext_lazy("team history", "sent the invitation again to"),
        )
        INVITATION_REVOKED = (
            "invitation_revoked",
            pgettext_lazy("team history", "revoked the invitation of"),
        )
        SETTINGS_CHANGED = (
            "settings_changed",
            pgettext_lazy("team history", "changed the team's settings"),
        )
        WEBHOOKS_CHANGED = (
            "webhooks_changed",
            pgettext_lazy("team history", "changed the team's webhooks"),
        )
        RETENTION_CHANGED = (
            "retention_changed",
            pgettext_lazy("team history", "changed the retention policy"),
        )

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=30, choices=Action.choices)
    # Whom it was about, by email: kept readable after the person's account is gone.
    subject_email = models.EmailField(max_length=254, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    previous_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = _("team history")

    def __str__(self) -> str:
        return f"{self.actor} {self.get_action_display()} {self.subject_email}".strip()
