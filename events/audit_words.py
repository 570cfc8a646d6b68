"""The audit log in words, in the reader's language: what each action code means, what each
object and detail is called, and one line for an entry's summary. The log stores codes and
JSON (services.audit); it is put in words here, when it is read, so a page in French reads
French whatever language the organizer who acted used."""

from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from .models import (
    ApiToken,
    AuditEntry,
    ContactBlock,
    Draw,
    Event,
    Invitation,
    Membership,
    Notification,
    OpenCall,
    Question,
    Registration,
    Role,
    Segment,
    Session,
    Submission,
    Survey,
    Team,
    TeamInvitation,
    WebhookEndpoint,
)
from .models.api import AREA_LABELS, SCOPES

# Every action code services record, with what it says on the page (and in the filter).
ACTIONS: dict[str, Promise] = {
    "team.created": pgettext_lazy("audit action", "Team created"),
    "team.updated": pgettext_lazy("audit action", "Team settings changed"),
    "member.added": pgettext_lazy("audit action", "Member added"),
    "member.role_changed": pgettext_lazy("audit action", "Member's role changed"),
    "member.removed": pgettext_lazy("audit action", "Member removed"),
    "member.left": pgettext_lazy("audit action", "Member left the team"),
    "team_invitation.sent": pgettext_lazy("audit action", "Invitation to the team sent"),
    "team_invitation.resent": pgettext_lazy("audit action", "Invitation to the team sent again"),
    "team_invitation.revoked": pgettext_lazy("audit action", "Invitation to the team revoked"),
    "api_token.created": pgettext_lazy("audit action", "API token created"),
    "api_token.revoked": pgettext_lazy("audit action", "API token revoked"),
    "webhook.created": pgettext_lazy("audit action", "Webhook endpoint added"),
    "webhook.updated": pgettext_lazy("audit action", "Webhook endpoint changed"),
    "webhook.secret_rotated": pgettext_lazy("audit action", "Webhook secret rotated"),
    "webhook.deleted": pgettext_lazy("audit action", "Webhook endpoint deleted"),
    "webhook.disabled": pgettext_lazy("audit action", "Webhook endpoint disabled"),
    "webhook.enabled": pgettext_lazy("audit action", "Webhook endpoint enabled"),
    "webhook.test_sent": pgettext_lazy("audit action", "Webhook test event sent"),
    "webhook.message_resent": pgettext_lazy("audit action", "Webhook message sent again"),
    "event.created": pgettext_lazy("audit action", "Event created"),
    "event.updated": pgettext_lazy("audit action", "Event changed"),
    "event.published": pgettext_lazy("audit action", "Event published"),
    "event.unpublished": pgettext_lazy("audit action", "Event unpublished"),
    "event.cancelled": pgettext_lazy("audit action", "Event cancelled"),
    "session.created": pgettext_lazy("audit action", "Session added"),
    "session.updated": pgettext_lazy("audit action", "Session changed"),
    "session.cancelled": pgettext_lazy("audit action", "Session cancelled"),
    "screening.question_added": pgettext_lazy("audit action", "Applicants' question added"),
    "screening.question_edited": pgettext_lazy("audit action", "Applicants' question changed"),
    "screening.question_moved": pgettext_lazy("audit action", "Applicants' question moved"),
    "screening.question_removed": pgettext_lazy("audit action", "Applicants' question removed"),
    "registration.approved": pgettext_lazy("audit action", "Application approved"),
    "registration.approved_to_waitlist": pgettext_lazy(
        "audit action", "Application approved onto the waitlist"
    ),
    "registration.rejected": pgettext_lazy("audit action", "Registration turned down"),
    "registration.moved_in": pgettext_lazy("audit action", "Moved in from the waitlist"),
    "registration.cancelled": pgettext_lazy("audit action", "Registration cancelled by the team"),
    "lottery.drawn": pgettext_lazy("audit action", "Lottery drawn"),
    "attendance.checked_in": pgettext_lazy("audit action", "Checked in"),
    "attendance.check_in_undone": pgettext_lazy("audit action", "Check-in undone"),
    "attendance.corrected": pgettext_lazy("audit action", "Attendance corrected"),
    "attendance.walk_in": pgettext_lazy("audit action", "Walk-in let in"),
    "invitation.batch_sent": pgettext_lazy("audit action", "Invitations sent"),
    "invitation.revoked": pgettext_lazy("audit action", "Invitation revoked"),
    "invitation.extended": pgettext_lazy("audit action", "Invitation extended"),
    "invitation.resent": pgettext_lazy("audit action", "Invitation sent again"),
    "message.resent": pgettext_lazy("audit action", "Email sent again"),
    "survey.created": pgettext_lazy("audit action", "Survey created"),
    "survey.settings_changed": pgettext_lazy("audit action", "Survey settings changed"),
    "survey.sending_started": pgettext_lazy("audit action", "Survey sending turned on"),
    "survey.sending_stopped": pgettext_lazy("audit action", "Survey sending turned off"),
    "survey.resent": pgettext_lazy("audit action", "Survey sent again"),
    "themes.recompute_requested": pgettext_lazy("audit action", "Themes recomputed"),
    "themes.configured": pgettext_lazy("audit action", "Theme settings changed"),
    "theme.renamed": pgettext_lazy("audit action", "Theme renamed"),
    "theme.pinned": pgettext_lazy("audit action", "Theme pinned"),
    "theme.unpinned": pgettext_lazy("audit action", "Theme unpinned"),
    "theme.merged": pgettext_lazy("audit action", "Themes merged"),
    "question.added": pgettext_lazy("audit action", "Question added"),
    "question.edited": pgettext_lazy("audit action", "Question changed"),
    "question.moved": pgettext_lazy("audit action", "Question moved"),
    "question.removed": pgettext_lazy("audit action", "Question removed"),
    "question.keep_text_changed": pgettext_lazy(
        "audit action", "Question's words kept, or no longer kept, when anonymised"
    ),
    "call.created": pgettext_lazy("audit action", "Open call created"),
    "call.updated": pgettext_lazy("audit action", "Open call changed"),
    "call.published": pgettext_lazy("audit action", "Open call published"),
    "call.unpublished": pgettext_lazy("audit action", "Open call unpublished"),
    "call.rules_changed": pgettext_lazy("audit action", "Screening rules changed"),
    "call.quotas_changed": pgettext_lazy("audit action", "Quotas changed"),
    "call.rescore_restarted": pgettext_lazy("audit action", "Re-scoring restarted"),
    "call.tagged_many": pgettext_lazy("audit action", "Tag added to several submissions"),
    "submission.tagged": pgettext_lazy("audit action", "Submission's tags changed"),
    "submission.reviewed": pgettext_lazy("audit action", "Submission scored"),
    "contact.blocked": pgettext_lazy("audit action", "Address put on the do-not-contact list"),
    "contact.unblocked": pgettext_lazy("audit action", "Address taken off the do-not-contact list"),
    "panel.attribute_added": pgettext_lazy("audit action", "Panel attribute added"),
    "panel.attribute_removed": pgettext_lazy("audit action", "Panel attribute removed"),
    "segment.created": pgettext_lazy("audit action", "Segment created"),
    "segment.updated": pgettext_lazy("audit action", "Segment changed"),
    "segment.deleted": pgettext_lazy("audit action", "Segment deleted"),
    "draw.made": pgettext_lazy("audit action", "Sample drawn from the panel"),
    "draw.rerun": pgettext_lazy("audit action", "Draw run again"),
    "team.retention_changed": pgettext_lazy("audit action", "Retention policy changed"),
    "event.retention_changed": pgettext_lazy("audit action", "Event's retention changed"),
    "call.retention_changed": pgettext_lazy("audit action", "Open call's retention changed"),
    "event.anonymised": pgettext_lazy("audit action", "Event's personal data anonymised early"),
    "panel.person_forgotten": pgettext_lazy("audit action", "Person forgotten at their request"),
}

# The kinds of object an entry is about (object_type: a model's name), and their models (for
# the names of their fields, already translated as the forms show them).
OBJECTS: dict[str, tuple[Promise, type[models.Model] | None]] = {
    "team": (pgettext_lazy("audit object", "team"), Team),
    "membership": (pgettext_lazy("audit object", "membership"), Membership),
    "teaminvitation": (pgettext_lazy("audit object", "invitation to the team"), TeamInvitation),
    "apitoken": (pgettext_lazy("audit object", "API token"), ApiToken),
    "webhookendpoint": (pgettext_lazy("audit object", "webhook endpoint"), WebhookEndpoint),
    "event": (pgettext_lazy("audit object", "event"), Event),
    "session": (pgettext_lazy("audit object", "session"), Session),
    "question": (pgettext_lazy("audit object", "question"), Question),
    "registration": (pgettext_lazy("audit object", "registration"), Registration),
    "invitation": (pgettext_lazy("audit object", "invitation"), Invitation),
    "notification": (pgettext_lazy("audit object", "email"), None),
    "survey": (pgettext_lazy("audit object", "survey"), Survey),
    "themeset": (pgettext_lazy("audit object", "themes"), None),
    "theme": (pgettext_lazy("audit object", "theme"), None),
    "opencall": (pgettext_lazy("audit object", "open call"), OpenCall),
    "submission": (pgettext_lazy("audit object", "submission"), Submission),
    "contactblock": (pgettext_lazy("audit object", "do-not-contact entry"), ContactBlock),
    "segment": (pgettext_lazy("audit object", "segment"), Segment),
    "panelattribute": (pgettext_lazy("audit object", "panel attribute"), None),
    "draw": (pgettext_lazy("audit object", "draw"), Draw),
    "panelerasure": (pgettext_lazy("audit object", "erasure from the panel"), None),
}


# The summary's own keys (a model's fields are named by the model).
DETAILS: dict[str, Promise] = {
    "user": pgettext_lazy("audit detail", "person (id)"),
    "rows": pgettext_lazy("audit detail", "rows removed or anonymised"),
    "session": pgettext_lazy("audit detail", "session (id)"),
    "registration": pgettext_lazy("audit detail", "registration (id)"),
    "recipient": pgettext_lazy("audit detail", "recipient (id)"),
    "owner": pgettext_lazy("audit detail", "first owner (id)"),
    "role": pgettext_lazy("audit detail", "role"),
    "registrations_closed": pgettext_lazy("audit detail", "registrations closed"),
    "sessions_cancelled": pgettext_lazy("audit detail", "sessions cancelled (ids)"),
    "attended": pgettext_lazy("audit detail", "attended"),
    "was": pgettext_lazy("audit detail", "status before"),
    "rules": pgettext_lazy("audit detail", "rules (before, after)"),
    "quotas": pgettext_lazy("audit detail", "quotas (before, after)"),
    "version": pgettext_lazy("audit detail", "rules version"),
    "invitations_withdrawn": pgettext_lazy("audit detail", "invitations withdrawn"),
    "suppressions_lifted": pgettext_lazy(
        "audit detail", "block kept after the person's erasure, lifted too"
    ),
    "segment": pgettext_lazy("audit detail", "segment (id)"),
    "call": pgettext_lazy("audit detail", "open call (id)"),
    "size": pgettext_lazy("audit detail", "size asked"),
    "picked": pgettext_lazy("audit detail", "people picked"),
    "candidates": pgettext_lazy("audit detail", "candidates"),
    "rerun_of": pgettext_lazy("audit detail", "draw run again (id)"),
    "invited": pgettext_lazy("audit detail", "people invited"),
    "overridden": pgettext_lazy("audit detail", "contact rules set aside"),
    "holds_seat": pgettext_lazy("audit detail", "holds a seat"),
    "expires_in_days": pgettext_lazy("audit detail", "days to answer"),
    "invitations": pgettext_lazy("audit detail", "invitations (first and last id)"),
    "expires_at": pgettext_lazy("audit detail", "expires"),
    "days": pgettext_lazy("audit detail", "days added"),
    "applicants": pgettext_lazy("audit detail", "applicants"),
    "winners": pgettext_lazy("audit detail", "winners"),
    "seed": pgettext_lazy("audit detail", "seed"),
    "kind": pgettext_lazy("audit detail", "kind"),
    "tags": pgettext_lazy("audit detail", "tags"),
    "tag": pgettext_lazy("audit detail", "tag"),
    "submissions": pgettext_lazy("audit detail", "submissions"),
    "added": pgettext_lazy("audit detail", "newly tagged"),
    "score": pgettext_lazy("audit detail", "score"),
    "question": pgettext_lazy("audit detail", "question (id)"),
    "label": pgettext_lazy("audit detail", "wording"),
    "title": pgettext_lazy("audit detail", "title"),
    "name": pgettext_lazy("audit detail", "name"),
    "description": pgettext_lazy("audit detail", "description"),
    "invitation_reminder_hours": pgettext_lazy(
        "audit detail", "invitation reminder (hours before expiry)"
    ),
    "lottery_reserved_shares": pgettext_lazy("audit detail", "lottery's reserved shares"),
    "offer_hours": pgettext_lazy("audit detail", "hours to take an offered seat"),
    "registration_mode": pgettext_lazy("audit detail", "registration mode"),
    "registration_opens_at": pgettext_lazy("audit detail", "registration opens"),
    "registration_closes_at": pgettext_lazy("audit detail", "registration closes"),
    "reminder_hours": pgettext_lazy("audit detail", "reminders (hours before)"),
    "terms_version": pgettext_lazy("audit detail", "terms version"),
    "timezone": pgettext_lazy("audit detail", "time zone"),
    "translations": pgettext_lazy("audit detail", "translations"),
    "visibility": pgettext_lazy("audit detail", "visibility"),
    "capacity": pgettext_lazy("audit detail", "capacity"),
    "starts_at": pgettext_lazy("audit detail", "starts"),
    "ends_at": pgettext_lazy("audit detail", "ends"),
    "location": pgettext_lazy("audit detail", "location"),
    "waitlist_enabled": pgettext_lazy("audit detail", "waitlist"),
    "opens_at": pgettext_lazy("audit detail", "opens"),
    "closes_at": pgettext_lazy("audit detail", "closes"),
    "audience": pgettext_lazy("audit detail", "audience"),
    "reminder_after_days": pgettext_lazy("audit detail", "reminder after (days)"),
    "send_after_hours": pgettext_lazy("audit detail", "sent after (hours)"),
    "required": pgettext_lazy("audit detail", "required"),
    "keep_text": pgettext_lazy("audit detail", "words kept when anonymised"),
    "conditions": pgettext_lazy("audit detail", "conditions"),
    "on": pgettext_lazy("audit detail", "filters on"),
    "host": pgettext_lazy("audit detail", "host"),
    "url_digest": pgettext_lazy("audit detail", "address fingerprint"),
    "event_types": pgettext_lazy("audit detail", "event types"),
    "message": pgettext_lazy("audit detail", "message (id)"),
    "into": pgettext_lazy("audit detail", "merged into (id)"),
    "scopes": pgettext_lazy("audit detail", "scopes"),
    "min_themes": pgettext_lazy("audit detail", "fewest themes"),
    "max_themes": pgettext_lazy("audit detail", "most themes"),
    "status": pgettext_lazy("audit detail", "status"),
}

ROLES: dict[str, Promise] = {
    **{role.value: role.label for role in Role},
    "staff": pgettext_lazy("audit role", "Staff"),
    "system": pgettext_lazy("audit role", "System"),
    "none": pgettext_lazy("audit role", "No role"),
}


def action_words(code: str) -> str:
    words = ACTIONS.get(code)
    return str(words) if words is not None else code


def object_words(entry: AuditEntry) -> str:
    kind = OBJECTS.get(entry.object_type)
    name = str(kind[0]) if kind else entry.object_type
    if entry.object_id is None:
        return name
    # Translators: an object of the audit log and its number: "session #12".
    return pgettext("audit object", "%(object)s #%(id)s") % {"object": name, "id": entry.object_id}


def role_words(role: str) -> str:
    words = ROLES.get(role)
    return str(words) if words is not None else role


def actor_words(entry: AuditEntry) -> str:
    """Who acted: their name and role; once their account is gone, only the role."""
    role = role_words(entry.actor_role)
    if entry.actor is None:
        if entry.actor_role == "system":
            return role
        # Translators: an audit entry whose author's account was deleted: "a former Owner".
        return pgettext("audit actor", "a former member (%(role)s)") % {"role": role}
    return pgettext("audit actor", "%(name)s (%(role)s)") % {"name": entry.actor.name, "role": role}


def _model_field(entry: AuditEntry, key: str) -> Any:
    kind = OBJECTS.get(entry.object_type)
    model = kind[1] if kind else None
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except Exception:  # noqa: BLE001 - not a field of the model: a key of the summary
        return None


def _field(entry: AuditEntry, key: str) -> str:
    """A field's name as the forms show it (its translated verbose name), else the summary
    key's words here."""
    name = getattr(_model_field(entry, key), "verbose_name", None)
    if isinstance(name, Promise):
        return str(name)
    words = DETAILS.get(key)
    return str(words) if words is not None else key.replace("_", " ")


def _scope(code: str) -> str:
    area, _colon, level = code.partition(":")
    words = AREA_LABELS.get(area)
    if words is None:
        return code
    if level == "write":
        # Translators: an API token's access to one area: "Invitations (read and write)".
        return pgettext("audit value", "%(area)s (read and write)") % {"area": words}
    return pgettext("audit value", "%(area)s (read)") % {"area": words}


def _labels(entry: AuditEntry, key: str) -> dict[str, str]:
    """The words of a stored code: a model field's choices, else what the key holds."""
    if key == "role":
        return {code: str(words) for code, words in ROLES.items()}
    choices = getattr(_model_field(entry, key), "flatchoices", None)
    if choices:
        return {str(code): str(words) for code, words in choices}
    if key == "was":
        return {str(code): str(words) for code, words in Registration.Status.choices}
    if key == "kind":
        return {str(code): str(words) for code, words in Notification.Kind.choices}
    if key == "scopes":
        return {code: _scope(code) for code in SCOPES}
    return {}


def _value(value: Any, labels: dict[str, str] | None = None) -> str:
    if value is True:
        return pgettext("audit value", "yes")
    if value is False:
        return pgettext("audit value", "no")
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(_value(v, labels) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items()) or "—"
    text = str(value)
    return (labels or {}).get(text, text)


def details(entry: AuditEntry) -> str:
    """The summary in one line: "title: “Before” → “After”; capacity: 10 → 12"."""
    parts: list[str] = []
    summary = entry.summary if isinstance(entry.summary, dict) else {}
    for key, value in summary.items():
        if key == "changes" and isinstance(value, dict):
            for field, pair in value.items():
                old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
                labels = _labels(entry, field)
                parts.append(
                    _("%(field)s: %(old)s → %(new)s")
                    % {
                        "field": _field(entry, field),
                        "old": _value(old, labels),
                        "new": _value(new, labels),
                    }
                )
        elif key == "fields" and isinstance(value, dict):
            parts.extend(
                f"{_field(entry, f)}: {_value(v, _labels(entry, f))}" for f, v in value.items()
            )
        else:
            parts.append(f"{_field(entry, key)}: {_value(value, _labels(entry, key))}")
    return "; ".join(parts)
