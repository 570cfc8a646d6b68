"""Do-not-contact: the addresses a team never invites nor sends programme mail to (invitations,
their reminders, surveys). Transactional mail about a seat someone holds still goes.

An entry is either the person's own wish (`unsubscribed`, from the link in every programme
email: only they can undo it) or the team's decision (`blocked`, from the team's blocklist
page: the team may lift it)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .team import Team


class ContactBlock(models.Model):
    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", pgettext_lazy("do-not-contact reason", "Unsubscribed")
        BLOCKED = "blocked", pgettext_lazy("do-not-contact reason", "Blocked by the team")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="contact_blocks")
    email = models.EmailField(max_length=254, help_text=_("Lower-cased."))
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "-created_at", "-pk"]
        constraints = [
            # Also the index of every "is this address blocked?" lookup.
            models.UniqueConstraint(fields=["team", "email"], name="contact_block_once_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_reason_display()}) in {self.team}"


class ContactSuppression(models.Model):
    """What stays of a do-not-contact entry once its person is erased (their account deleted,
    or forgotten by the team): a keyed hash of the team and the lower-cased address
    (`services.contact.suppression_digest`: HMAC-SHA256 under a key derived from
    CONTACT_SUPPRESSION_KEY, never rotated, for this one purpose), never the address. Nobody
    can read the address back, but an address typed again (an invitation, a call's draw, the
    panel) is recognised and refused, so erasing someone does not undo their wish not to be
    contacted."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="contact_suppressions")
    digest = models.CharField(max_length=64)
    # The erased entry's reason (unsubscribed or blocked): who wanted it, not who it was.
    reason = models.CharField(max_length=20, choices=ContactBlock.Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index of every "is this address suppressed?" lookup.
            models.UniqueConstraint(fields=["team", "digest"], name="contact_suppression_once"),
        ]

    def __str__(self) -> str:
        return f"suppressed {self.digest[:8]}… in {self.team}"
