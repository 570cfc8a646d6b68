"""The person's data export lists the teams that send them no programme mail: those they
unsubscribed from and those that blocked them, since when, with the team's note about them
(but not who on the team wrote it)."""

import json

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from events.models import ContactBlock
from events.services import contact
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_export_lists_the_teams_they_unsubscribed_from_or_that_blocked_them(
    team, owner, client_for
):
    ann = UserFactory(email="ann@example.com")
    EmailAddress.objects.create(user=ann, email="Ann.Work@Example.org", verified=True)
    EmailAddress.objects.create(user=ann, email="not-yet-hers@example.org", verified=False)
    blocking = TeamFactory(name="Strict team")
    contact.unsubscribe(team=team, email="ann@example.com")
    contact.block(team=blocking, actor=owner, email="ann.work@example.org", note="No-show twice.")
    contact.block(team=blocking, actor=owner, email="not-yet-hers@example.org", note="Someone.")
    contact.block(team=blocking, actor=owner, email="bo@example.com", note="Not Ann.")

    data = json.loads(client_for(ann).get(reverse("accounts:export")).content)

    entries = [{k: v for k, v in e.items() if k != "since"} for e in data["do_not_contact"]]
    assert entries == [
        {"team": team.name, "email": "ann@example.com", "why": "Unsubscribed", "note": ""},
        {
            "team": "Strict team",
            "email": "ann.work@example.org",
            "why": "Blocked by the team",
            "note": "No-show twice.",
        },
    ]
    since = {e["email"]: e["since"] for e in data["do_not_contact"]}
    assert (
        since["ann@example.com"]
        == ContactBlock.objects.get(email="ann@example.com").created_at.isoformat()
    )
    assert owner.email not in json.dumps(data["do_not_contact"])
