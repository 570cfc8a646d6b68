"""Each domain's kinds of message, registered with the outbox at app start
(`EventsConfig.ready`): what the templates need, whether the news is still true when the mail
leaves, the calendar part, what to record once it is sent. One module per domain; adding a
kind of email is one `register` call here and its three templates.

Programme or transactional: every kind is one or the other, and a new kind must choose.

- Programme mail, registered with `programme=` (the team it is sent for): invitation,
  invitation_reminder (messages/invitations.py), survey, survey_reminder
  (messages/surveys.py). It carries the team's unsubscribe link and List-Unsubscribe
  headers, and is never sent to an address on the team's do-not-contact list (checked by the
  outbox just before it leaves, services/contact.py keeps the list). The team has no
  announcements or newsletters; one would be programme mail.
- Transactional mail, everything else: news of a seat the person holds, applied for or was
  offered (confirmed, applied, approved, rejected, waitlisted, offered, offer_expired,
  cancelled, cancelled_by_organizer, session_changed, session_cancelled, reminder, with their
  calendar updates), their own open-call submission (call_confirm, call_received), and an
  invitation to join a team as a member (team_invitation: an owner asking a colleague, not the
  programme asking a participant), and the owners' notice that a webhook endpoint was
  disabled (webhook_disabled, messages/webhooks.py), and a panel member's "stay on the
  panel?" before removal (panel_renewal, messages/retention.py; the sweep never asks an
  address on the do-not-contact list), and allauth's own mail about a person's account
  (account: address confirmation, password reset, messages/accounts.py). It goes out
  whatever the do-not-contact list says.
"""

from ..outbox.registry import Registry
from ..services import contact


def register_all(registry: Registry) -> None:
    from . import (
        accounts,
        invitations,
        open_calls,
        registrations,
        retention,
        surveys,
        teams,
        webhooks,
    )

    registry.set_do_not_contact(blocked=contact.is_blocked, unsubscribe_url=contact.unsubscribe_url)
    for domain in (
        registrations,
        invitations,
        surveys,
        open_calls,
        teams,
        webhooks,
        retention,
        accounts,
    ):
        domain.register(registry)
