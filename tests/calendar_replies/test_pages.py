"""Organizers see the calendar answers: Yes / Maybe beside the status on the session's
registrations and on the person's registration page, in the reader's language; a "No"
shows as the cancellation it caused, in the history."""

import email

import pytest
from django.urls import reverse

from events.services import calendar_replies
from events.services.registration import register
from tests import factories
from tests.calendar_replies.helpers import reply_mail
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending, invites

pytestmark = pytest.mark.django_db


def answer(invite, partstat: str, sender: str) -> None:
    raw = reply_mail(invite, partstat=partstat, sender=sender)
    calendar_replies.take(message=email.message_from_bytes(raw), raw=raw, source="imap")


def test_organizers_see_each_persons_calendar_answer(replies_by_webhook, smtp, client_for):
    session = SessionFactory(capacity=5)
    ada, bob, cy = UserFactory(), UserFactory(), UserFactory()
    rows = {user: register(user=user, session=session) for user in (ada, bob, cy)}
    deliver_pending()
    answer(invites(smtp.to(ada.email))[0], "ACCEPTED", ada.email)
    answer(invites(smtp.to(bob.email))[0], "TENTATIVE", bob.email)
    answer(invites(smtp.to(cy.email))[0], "DECLINED", cy.email)
    organizer = client_for(factories.organizer_of(session.event))

    page = organizer.get(reverse("manage:registrations", args=[session.pk])).content.decode()
    assert page.count("Calendar: Accepted") == 1
    assert page.count("Calendar: Maybe") == 1
    ada_page = organizer.get(reverse("manage:registration", args=[rows[ada].pk])).content.decode()
    assert "Their calendar's answer" in ada_page
    assert "Accepted" in ada_page
    cy_page = organizer.get(reverse("manage:registration", args=[rows[cy].pk])).content.decode()
    assert "Declined in their calendar" in cy_page

    french = organizer.get(reverse("manage:registrations", args=[session.pk]) + "?lang=fr")
    assert "Agenda\u00a0: Accepté" in french.content.decode()
    assert "Agenda\u00a0: Peut-être" in french.content.decode()
