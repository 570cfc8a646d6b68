"""`updated_since` sees every change, whichever service made it. Most services change rows
by QuerySet `.update()` (conditional UPDATEs), which Django's `auto_now` does not stamp, and
the seat counter by raw SQL: a client syncing sessions, invitations, registrations or events
must still get each changed row in its next page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event, Invitation, Registration, Session
from events.services import attendance, invitations, scheduling
from events.services import registration as registration_service
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(days=2)


def _sessions(w):
    return f"/api/v1/events/{w.event.pk}/sessions/", w.session.pk


def _invitations(w):
    return f"/api/v1/events/{w.event.pk}/invitations/", w.invitation.pk


def _registrations(w):
    return "/api/v1/registrations/", w.registration.pk


def _events(w):
    return "/api/v1/events/", w.event.pk


def _later(w) -> timezone.datetime:
    return timezone.now() + timedelta(days=30)


WRITERS = {
    # Sessions: the seat counter (raw SQL), save(update_fields=...), .update().
    "a sign-up takes a seat": (
        _sessions,
        lambda w: registration_service.register(user=UserFactory(), session=w.session),
    ),
    "a cancellation gives a seat back": (
        _sessions,
        lambda w: registration_service.cancel(registration=w.registration, actor=w.attendee),
    ),
    "the session is renamed": (
        _sessions,
        lambda w: scheduling.update_session(session=w.session, actor=w.owner, title="Renamed"),
    ),
    "the session is cancelled": (
        _sessions,
        lambda w: scheduling.cancel_session(session=w.session, actor=w.owner),
    ),
    "the session's attendance is closed": (
        _sessions,
        lambda w: attendance.mark_no_shows(now=w.session.ends_at + timedelta(minutes=1)),
    ),
    # Invitations: every organizer action, the invitee's answers and the sweeps.
    "an invitation is revoked": (
        _invitations,
        lambda w: invitations.revoke(invitation=w.invitation, actor=w.owner),
    ),
    "an invitation is sent again": (
        _invitations,
        lambda w: invitations.resend(invitation=w.invitation, actor=w.owner),
    ),
    "an invitation is extended": (
        _invitations,
        lambda w: invitations.extend(invitation=w.invitation, actor=w.owner, days=1),
    ),
    "an invitation is declined": (
        _invitations,
        lambda w: invitations.decline(invitation=w.invitation),
    ),
    "an invitee's language is noted": (
        _invitations,
        lambda w: invitations.note_language(invitation=w.invitation, language="fr"),
    ),
    "an invitation lapses": (_invitations, lambda w: invitations.expire_due(now=_later(w))),
    "a session's cancellation revokes its invitations": (
        _invitations,
        lambda w: scheduling.cancel_session(session=w.session, actor=w.owner),
    ),
    "an event's cancellation revokes its invitations": (
        _invitations,
        lambda w: scheduling.cancel_event(event=w.event, actor=w.owner),
    ),
    # Registrations.
    "a session moves and reminders move with it": (
        _registrations,
        lambda w: scheduling.update_session(
            session=w.session,
            actor=w.owner,
            starts_at=w.session.starts_at + timedelta(hours=1),
            ends_at=w.session.ends_at + timedelta(hours=1),
        ),
    ),
    "a calendar file is downloaded": (
        _registrations,
        lambda w: registration_service.note_calendar_download(registration=w.registration),
    ),
    "a session's cancellation cancels its registrations": (
        _registrations,
        lambda w: scheduling.cancel_session(session=w.session, actor=w.owner),
    ),
    # Events.
    "the event is published": (
        _events,
        lambda w: scheduling.publish_event(event=w.event, actor=w.owner),
    ),
}


@pytest.fixture
def long_ago(world):
    """Every row last changed two days ago; a client synced one day ago."""
    then = timezone.now() - LONG_AGO
    for model in (Event, Session, Invitation, Registration):
        model.objects.update(updated_at=then)
    return (timezone.now() - LONG_AGO / 2).isoformat()


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_each_service_s_change_is_in_the_next_updated_since_page(world, full, long_ago, writer):
    listing, action = WRITERS[writer]
    url, changed = listing(world)
    assert changed not in [
        row["id"] for row in full.get(url, {"updated_since": long_ago}).json()["results"]
    ]
    action(world)
    rows = full.get(url, {"updated_since": long_ago}).json()["results"]
    assert changed in [row["id"] for row in rows]
    stamps = [row["updated_at"] for row in rows]
    assert stamps == sorted(stamps)


def test_a_session_s_seats_as_synced_are_the_seats_now(world, full, long_ago):
    registration_service.register(user=UserFactory(), session=world.session)
    [row] = full.get(
        f"/api/v1/events/{world.event.pk}/sessions/", {"updated_since": long_ago}
    ).json()["results"]
    assert row["seats_taken"] == Session.objects.get(pk=world.session.pk).seats_taken == 2


def test_every_list_that_syncs_refuses_a_time_that_is_not_one(world, full):
    for url in (
        f"/api/v1/events/{world.event.pk}/sessions/",
        f"/api/v1/events/{world.event.pk}/invitations/",
        f"/api/v1/events/{world.event.pk}/survey/responses/",
        "/api/v1/calls/",
    ):
        response = full.get(url, {"updated_since": "yesterday"})
        assert response.status_code == 400, url
        assert "updated_since" in response.json()["errors"]


def test_a_survey_answered_again_is_in_the_next_updated_since_page(world, full):
    from events.models import SurveyRecipient
    from events.services import surveys

    recipient = SurveyRecipient.objects.create(
        survey=world.survey, user=world.attendee, session=world.session
    )
    rating = world.survey.questionnaire.questions.first()
    surveys.answer(recipient=recipient, answers={rating.pk: 2})
    url = f"/api/v1/events/{world.event.pk}/survey/responses/"
    mark = full.get(url).json()["results"][-1]["answered_at"]
    SurveyRecipient.objects.filter(pk=recipient.pk).update(answered_at=timezone.now() - LONG_AGO)
    assert full.get(url, {"updated_since": mark}).json()["results"] == []

    surveys.answer(recipient=recipient, answers={rating.pk: 5})

    [row] = full.get(url, {"updated_since": mark}).json()["results"]
    assert row["answers"][str(rating.pk)] == 5
