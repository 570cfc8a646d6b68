"""What personal data the team holds, by kind: the words of the data inventory pages and of
the retention log (services.retention counts rows under these keys). One map, so a page and
the log name a kind the same way.

Not listed because it is not kept: IP addresses are only in the rate limits' counters in the
cache, which expire within the hour; nothing in the database is derived from them."""

from django.utils.translation import gettext_lazy as _

KINDS = {
    # An event's attendees.
    "registrations": _("Registrations: who signed up, their answers, check-in"),
    "registration_history": _("Registration history entries and their notes"),
    "invitations": _("Invitations: addresses, names, notes, messages"),
    "terms_acceptances": _("Acceptances of the confidentiality terms"),
    "survey_recipients": _("Survey links: who was asked and who answered"),
    "survey_responses": _("Survey responses tied to a person"),
    "free_text_answers": _("Free-text answers"),
    "messages": _("Emails in the outbox: addresses and contents"),
    "webhook_payloads": _("Webhook deliveries' contents"),
    "calendar_answers": _("Calendar answers: who answered an invite, and how"),
    # An open call.
    "submissions": _("Submissions: addresses, profiles, answers, reviews"),
    # The panel.
    "panel_members": _("Panel members"),
    # Not data: what the sweep could not do this time (retried at its next run).
    "failed": _("Items that failed, retried at the next sweep"),
}


# What anonymising an event keeps per session, for statistics (Session.kept_counts).
KEPT = {
    "registrations": _("Registrations"),
    "confirmed": _("Confirmed"),
    "cancelled": _("Cancelled"),
    "waitlisted": _("Waitlisted at some point"),
    "attended": _("Attended"),
    "no_shows": _("Did not come"),
    "walk_ins": _("Walk-ins"),
    "invited": _("Invited"),
    "surveyed": _("Sent the survey"),
    "opened": _("Opened the survey"),
    "answered": _("Answered the survey"),
}


def kept_label(name: str) -> str:
    return str(KEPT.get(name, name))


def label(kind: str) -> str:
    return str(KINDS.get(kind, kind))
