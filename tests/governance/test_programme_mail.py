"""Programme mail, in one place: a kind registered with `programme=` (invitation, its
reminder, survey, its reminder) carries the unsubscribe link and headers and is checked
against the team's do-not-contact list just before it leaves, whoever owed it and whenever
the person unsubscribed; every other kind is transactional and goes out. Through the real
outbox and a real SMTP server."""

import pytest
from django.db import transaction

from events.models import ContactBlock, Notification
from events.outbox import delivery, owe
from events.outbox.registry import Registry, kinds
from events.services import ServiceError, contact, notices, surveys
from tests.factories import EventFactory, SessionFactory, UserFactory
from tests.invitations.helpers import invite_one
from tests.surveys.conftest import Kind, end, seat, survey_for

pytestmark = pytest.mark.django_db
SITE = "https://feedback.example.org"
BLOCKED = "They unsubscribed from the team's mail, or the team blocked them."
PROGRAMME = {"invitation", "invitation_reminder", "survey", "survey_reminder"}


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def deliver(row: Notification) -> Notification:
    delivery.deliver(notification_id=row.pk)
    row.refresh_from_db()
    return row


def test_exactly_the_invitations_and_surveys_are_programme_mail():
    programme = {kind for kind in Notification.Kind if kinds.get(kind).programme is not None}

    assert programme == PROGRAMME


@pytest.fixture
def surveyed(owner):
    """Two attendees of an ended session, their survey owed (not sent yet)."""
    event = EventFactory(organizer=owner, checkin_enabled=False)
    session = SessionFactory(event=event, capacity=10)
    people = seat(session, 2)
    survey = survey_for(event, [(Kind.RATING, "How was it?", None, True)])
    surveys.start_sending(survey=survey, actor=None)
    end(session)
    assert surveys.queue_due() == 2
    return event, [r.user.email for r in people]


def test_someone_who_unsubscribes_after_the_survey_was_owed_does_not_get_it(surveyed, smtp):
    event, (ann, bob) = surveyed

    contact.unsubscribe(team=event.team, email=ann)
    outcome = {
        row.email: (deliver(row).status, row.last_error)
        for row in Notification.objects.filter(kind="survey")
    }

    assert outcome == {ann: ("skipped", BLOCKED), bob: ("sent", "")}
    assert smtp.to(ann) == []


def test_a_survey_reminder_to_an_address_blocked_meanwhile_is_skipped(surveyed, smtp):
    event, (ann, _bob) = surveyed
    row = Notification.objects.get(kind="survey", email=ann)
    with transaction.atomic():
        reminder = owe.owe(
            kind="survey_reminder",
            about=("test", ann),
            email=ann,
            survey_recipient_id=row.survey_recipient_id,
            defer=True,
        )

    contact.block(team=event.team, actor=event.team.members.first(), email=ann)

    assert (deliver(row).status, deliver(reminder).status) == ("skipped", "skipped")
    assert reminder.last_error == BLOCKED
    assert smtp.to(ann) == []


def test_send_again_cannot_override_do_not_contact(event, session, smtp):
    invitation = invite_one(session, "ann@example.com")
    ContactBlock.objects.create(team=event.team, email="ann@example.com", reason="blocked")
    [row] = Notification.objects.filter(invitation=invitation)
    assert deliver(row).status == "skipped"

    notices.resend(notification=row, actor=event.team.members.first())

    assert (deliver(row).status, row.last_error) == ("skipped", BLOCKED)
    assert smtp.to("ann@example.com") == []
    # The invitation itself cannot be sent again either.
    with pytest.raises(ServiceError, match="do-not-contact"):
        from events.services import invitations

        invitations.resend(invitation=invitation, actor=event.team.members.first())


def test_a_kind_is_programme_mail_by_its_registration_alone(event, session, smtp, monkeypatch):
    # A new kind (say, a team announcement) needs nothing but `programme=` to get the link,
    # the headers and the check.
    registry = Registry()
    registry.register(
        "announcement_for_a_test", template="applied", programme=lambda n: event.team_id
    )
    monkeypatch.setitem(
        kinds._kinds, "announcement_for_a_test", registry.get("announcement_for_a_test")
    )
    ContactBlock.objects.create(team=event.team, email="bo@example.com", reason="unsubscribed")
    rows = {}
    for email in ("ann@example.com", "bo@example.com"):
        user = UserFactory(email=email)
        with transaction.atomic():
            rows[email] = owe.owe(
                kind="announcement_for_a_test",
                about=("news", email),
                email=email,
                recipient=user,
                session=session,
                defer=True,
            )

    assert deliver(rows["ann@example.com"]).status == "sent"
    assert (deliver(rows["bo@example.com"]).status, rows["bo@example.com"].last_error) == (
        "skipped",
        BLOCKED,
    )
    [message] = smtp.messages
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The link is the recipient's own for this team (its signature carries the second it was
    # made, so it is compared by what it says, not letter by letter).
    link = str(message["List-Unsubscribe"]).strip()
    assert link.startswith(f"<{SITE}/unsubscribe/") and link.endswith("/>")
    token = link.removeprefix(f"<{SITE}/unsubscribe/").removesuffix("/>")
    team, email = contact.from_unsubscribe_token(token)
    assert (team.pk, email) == (event.team_id, "ann@example.com")


def test_programme_mail_is_never_sent_unchecked():
    from django.core.exceptions import ImproperlyConfigured

    registry = Registry()  # nobody told it how to check
    kind = registry.register("unchecked", programme=lambda n: 1)

    with pytest.raises(ImproperlyConfigured):
        registry.do_not_contact(kind, Notification(email="ann@example.com"))
