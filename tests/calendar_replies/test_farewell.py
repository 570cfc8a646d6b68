"""The CANCEL kept for someone erased (their account deleted, or a team forgetting them) is
sent after their registration is gone, yet must come from the organizer of the entry it
removes: a calendar drops a CANCEL whose ORGANIZER or sender differs from the invite's
(DESIGN, invariant 4), and the erased person would keep the entry, place and link."""

from email.utils import parseaddr

import pytest

from accounts import services as accounts
from events.models import Notification, PanelMember
from events.services import erasure, panel
from events.services.registration import register
from tests.calendar_replies.conftest import REPLY_ADDRESS, SECRET_ADDRESS
from tests.factories import OrganizerFactory, SessionFactory, UserFactory, team_of
from tests.notifications.helpers import deliver_pending, invites

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["replies read", "no replies"])
def replies(request, settings) -> bool:
    """With replies configured each entry's organizer is its own secret reply address;
    without, the site's From address."""
    if request.param == "replies read":
        settings.CALENDAR_REPLY_ADDRESS = REPLY_ADDRESS
        settings.CALENDAR_REPLIES_WEBHOOK = "mailgun"
        settings.CALENDAR_REPLIES_IMAP_URL = ""
        settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "a-key"}
        return True
    settings.CALENDAR_REPLY_ADDRESS = ""
    return False


def organizer_and_sender(message) -> tuple[str, str, str]:
    [calendar] = invites([message])
    return calendar.method, calendar.organizer.lower(), parseaddr(message["From"])[1].lower()


def assert_cancel_comes_from_the_invites_organizer(smtp, address: str, replies: bool, settings):
    request, cancel = smtp.to(address)
    method, organizer, sender = organizer_and_sender(request)
    assert method == "REQUEST" and organizer == f"mailto:{sender}"
    if replies:
        assert SECRET_ADDRESS.fullmatch(sender)
    else:
        assert sender == parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()
    assert organizer_and_sender(cancel) == ("CANCEL", organizer, sender)
    # Sent, the kept row (and the secret in it) goes at the next purge.
    assert accounts.purge_farewells() == 1
    assert not Notification.objects.filter(email__iexact=address).exists()


def test_the_cancel_kept_after_an_account_deletion_comes_from_the_invites_organizer(
    replies, smtp, settings
):
    ada = UserFactory()
    register(user=ada, session=SessionFactory())
    deliver_pending()

    accounts.delete_account(user=ada)
    deliver_pending()

    assert_cancel_comes_from_the_invites_organizer(smtp, ada.email, replies, settings)


def test_the_cancel_kept_after_a_team_forgets_someone_comes_from_the_invites_organizer(
    replies, smtp, settings
):
    owner = OrganizerFactory()
    team = team_of(owner)
    ada = UserFactory()
    register(user=ada, session=SessionFactory(event__organizer=owner))
    deliver_pending()
    panel.refresh(team=team)

    erasure.forget(team=team, member=PanelMember.objects.get(team=team, user=ada), actor=owner)
    deliver_pending()

    assert_cancel_comes_from_the_invites_organizer(smtp, ada.email, replies, settings)
