"""Door staff on the check-in pages: they check people in and see nothing else, so those pages
offer them no link to the event's pages, which would only answer 404."""

import re

import pytest
from django.urls import reverse

from events.models import Registration
from tests.factories import EventFactory, TeamFactory, UserFactory, add_to_team

from .conftest import door_session, seat

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def session(team):
    return door_session(event=EventFactory(team=team, title="Prototype demo"), title="Evening")


def manage_links(response) -> set[str]:
    """Every organizer-area address the page links to (forms' actions are not links)."""
    return set(re.findall(r'<a [^>]*href="(/manage/[^"]*)"', response.content.decode()))


def member(team, role: str):
    user = UserFactory()
    add_to_team(team, user, role=role)
    return user


def test_the_check_in_page_links_door_staff_only_to_what_they_may_open(team, session, client_for):
    seat(session)
    client = client_for(member(team, "door"))

    response = client.get(reverse("manage:checkin", args=[session.pk]))

    assert response.status_code == 200
    assert "Prototype demo" in response.content.decode()  # where they are, as words
    links = manage_links(response)
    assert links  # the dashboard, "show everyone"...
    for link in links:
        assert client.get(link).status_code == 200, link


def test_the_check_in_page_links_organizers_to_the_event_and_its_lists(team, session, client_for):
    response = client_for(member(team, "organizer")).get(
        reverse("manage:checkin", args=[session.pk])
    )

    links = manage_links(response)
    assert reverse("manage:event", args=[session.event_id]) in links
    assert reverse("manage:registrations", args=[session.pk]) in links
    assert reverse("manage:attendance", args=[session.pk]) in links


def test_the_qr_page_links_door_staff_only_to_what_they_may_open(team, session, client_for):
    (registration,) = seat(session)
    client = client_for(member(team, "door"))

    response = client.get(
        reverse("events:checkin_qr", args=[registration.checkin_token]),
        HTTP_SEC_FETCH_SITE="none",
    )

    assert response.status_code == 200
    assert Registration.objects.get(pk=registration.pk).checked_in_at is not None
    links = manage_links(response)
    assert reverse("manage:event", args=[session.event_id]) not in links
    for link in links:
        assert client.get(link).status_code == 200, link
