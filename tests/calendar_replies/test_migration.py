"""Migration 0029 gives every registration made before it the site's From address as its
calendar ORGANIZER (""), even when replies are configured as it runs: their invites are out
already, and a calendar drops updates whose organizer changed."""

from email.utils import parseaddr

import pytest

from events.models import Registration
from tests.calendar_replies.conftest import REPLY_ADDRESS, SECRET_ADDRESS
from tests.factories import RegistrationFactory
from tests.migrations import migrate_to_latest, migrator  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_registrations_from_before_keep_the_from_address_as_organizer(
    migrator,  # noqa: F811 (the fixture imported above)
    settings,
):
    before = RegistrationFactory(calendar_sequence=2)
    migrator("events", "0028_webhooks")

    settings.CALENDAR_REPLY_ADDRESS = REPLY_ADDRESS
    settings.CALENDAR_REPLIES_WEBHOOK = "mailgun"
    migrate_to_latest()

    assert Registration.objects.get(pk=before.pk).calendar_organizer == ""
    after = RegistrationFactory()
    assert parseaddr(after.calendar_organizer)[0] == "Feedback Sessions"
    assert SECRET_ADDRESS.fullmatch(parseaddr(after.calendar_organizer)[1])
