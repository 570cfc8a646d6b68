"""Deleting an account: the calendar entries the person holds are cancelled in their calendar
(the CANCEL outlives the account), and nothing with their address or name stays in other
teams' pools, invitations, the outbox or survey answers. And the export shows all of it."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from events.ics import uid_for
from events.invite_parsing import Row
from events.models import (
    Answer,
    Invitation,
    Notification,
    Question,
    Registration,
    Response,
    Submission,
    SurveyRecipient,
)
from events.outbox import delivery
from events.services import attendance
from events.services import invitations as invitation_service
from events.services.registration import cancel, register
from events.services.scheduling import cancel_session
from tests.factories import (
    PASSWORD,
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    UserFactory,
    organizer_of,
)
from tests.notifications.helpers import deliver_pending, invites
from tests.open_calls.conftest import in_pool, make_call
from tests.surveys.conftest import answer, end, field, invite, questions_of, survey_for

pytestmark = pytest.mark.django_db

Kind = Question.Kind
EMAIL = "leaving@example.com"
NAME = "Lea Leaving"
WORDS = "only Lea would write this sentence"


@pytest.fixture
def person():
    return UserFactory(email=EMAIL, display_name=NAME)


def delete(client_for, person) -> None:
    response = client_for(person).post(reverse("accounts:delete"), {"confirmation": PASSWORD})
    assert response.status_code == 302
    assert not User.objects.filter(pk=person.pk).exists()


def test_deleting_an_account_sends_a_cancel_for_every_calendar_entry_after_the_deletion(
    smtp, person, client_for
):
    full = SessionFactory(capacity=1, location="Room 4, Example HQ")
    other = SessionFactory(online_url="https://meet.example.com/secret-room")
    for session in (full, other):
        register(user=person, session=session)
    waiting = register(user=UserFactory(), session=full)
    deliver_pending()
    assert [i.method for i in invites(smtp.to(EMAIL))] == ["REQUEST", "REQUEST"]

    delete(client_for, person)
    deliver_pending()

    cancels = invites(smtp.to(EMAIL))[2:]
    assert sorted((c.method, c.uid, c.status) for c in cancels) == sorted(
        ("CANCEL", uid_for(s), "CANCELLED") for s in (full, other)
    )
    assert all(c.attendees == [f"mailto:{EMAIL}"] for c in cancels)
    assert all("secret-room" not in c.raw.decode() for c in cancels)
    # The seat went to the next person in line.
    full.refresh_from_db()
    assert full.seats_taken == 1
    assert Registration.objects.get(pk=waiting.pk).status == Registration.Status.OFFERED
    # Sent, the CANCELs leave the outbox at the next purge: no address of theirs stays.
    assert accounts.purge_farewells() == 2
    assert not Notification.objects.filter(email__iexact=EMAIL).exists()


def test_a_cancel_kept_for_a_deleted_account_names_nobody_but_the_address(smtp, person, client_for):
    session = SessionFactory()
    register(user=person, session=session)
    deliver_pending()

    delete(client_for, person)

    [kept] = Notification.objects.filter(email=EMAIL)
    assert (kept.recipient_id, kept.registration_id, kept.status) == (None, None, "pending")
    assert f"user{person.pk}" not in kept.key
    deliver_pending()
    [_confirmation, farewell] = smtp.to(EMAIL)
    text = smtp.text(farewell)
    assert "Your account is deleted" in text
    assert NAME not in text and "None" not in text


def test_a_cancel_not_sent_within_thirty_days_is_purged_anyway(person, client_for):
    register(user=person, session=SessionFactory())
    Registration.objects.filter(user=person).update(calendar_sequence=0)

    delete(client_for, person)
    [kept] = Notification.objects.filter(email=EMAIL, status="pending")

    assert accounts.purge_farewells() == 0
    assert accounts.purge_farewells(now=kept.created_at + accounts.FAREWELL_MAX_AGE * 1.01) == 1
    assert not Notification.objects.filter(email=EMAIL).exists()


def everything_about(person) -> dict:
    """A person with a row of every kind the deletion used to leave behind: a submission in
    another team's open call, an invitation (holding a seat), mail owed to their address,
    answers to a named and to an anonymous survey, and attendance."""
    other_team = OrganizerFactory()
    call = make_call(other_team, slug="other-team")
    submission = in_pool(call, EMAIL, name=NAME, affiliation="Leaving Labs")

    event = EventFactory(organizer=other_team)
    held = SessionFactory(event=event, capacity=1)
    [invitation] = invitation_service.create_batch(
        event=event,
        session=held,
        rows=[Row(line=1, email=EMAIL.upper(), name=NAME)],
        actor=other_team,
        holds_seat=True,
        message="We would love to hear from you.",
    )

    questions = [(Kind.RATING, "How was it?", None, True), (Kind.LONG_TEXT, "Tell us", None, False)]
    answered = {}
    for anonymous in (False, True):
        attended = SessionFactory(event=EventFactory(organizer=other_team), capacity=5)
        registration = register(user=person, session=attended)
        end(attended)
        registration.refresh_from_db()
        attendance.check_in(registration=registration, actor=other_team)
        survey = survey_for(attended.event, questions, anonymous=anonymous)
        rating, text = questions_of(survey)
        recipient = invite(survey, person, attended)
        answered[anonymous] = answer(
            recipient=recipient, data={field(rating): "4", field(text): WORDS}
        )
    return {
        "submission": submission,
        "invitation": invitation,
        "held": held,
        "named_response": answered[False],
        "anonymous_response": answered[True],
    }


def test_deleting_an_account_leaves_nothing_of_the_person_in_pools_invitations_outbox_or_surveys(
    person,
    client_for,
):
    rows = everything_about(person)
    assert Notification.objects.filter(email__iexact=EMAIL).exists()
    rows["held"].refresh_from_db()
    assert rows["held"].seats_taken == 1

    delete(client_for, person)

    named = Q(email__icontains="leaving@") | Q(name__icontains="Leaving")
    assert not Submission.objects.filter(named).exists()
    assert not Invitation.objects.filter(named).exists()
    assert not Notification.objects.filter(
        Q(email__icontains="leaving@") | Q(key__icontains="leaving")
    ).exists()
    assert not Response.objects.filter(pk=rows["named_response"].pk).exists()
    assert not Answer.objects.filter(text__icontains="Lea").exists()
    assert not Response.objects.filter(respondent=f"user{person.pk}").exists()
    assert not SurveyRecipient.objects.filter(user_id=person.pk).exists()
    # The anonymous survey keeps the rating (no one can tell whose), without the words.
    kept = Response.objects.get(pk=rows["anonymous_response"].pk)
    assert list(kept.answers.values_list("number", "text")) == [(4, "")]
    # The seat the invitation held went back.
    rows["held"].refresh_from_db()
    assert rows["held"].seats_taken == 0


def test_the_export_has_survey_answers_submissions_invitations_emails_and_attendance(
    person, client_for
):
    everything_about(person)

    data = json.loads(client_for(person).get(reverse("accounts:export")).content)

    [named, anonymous] = data["survey_answers"]
    assert named["answers"] == {"How was it?": "4", "Tell us": WORDS}
    assert anonymous["anonymous_survey"] is True
    assert anonymous["answered_at"] and anonymous["answers"] == {}  # no link to the answers
    [submission] = data["open_call_submissions"]
    assert submission["email"] == EMAIL
    assert submission["answers"]["Name"] == NAME
    assert submission["answers"]["Affiliation"] == "Leaving Labs"
    [invitation] = data["invitations"]
    assert (invitation["name"], invitation["status"]) == (NAME, "pending")
    assert invitation["message"] == "We would love to hear from you."
    about = {e["about"] for e in data["emails"]}
    assert {"Invitation", "Registration confirmed", "Open call: confirm your email"} <= about
    assert all(e["to"].lower() == EMAIL for e in data["emails"])
    assert len(data["attendance"]) == 2
    assert all(a["checked_in_at"] for a in data["attendance"])


def staff_client(client_for):
    return client_for(UserFactory(is_staff=True, is_superuser=True))


def test_deleting_a_user_in_the_admin_is_the_same_deletion(person, client_for):
    session = SessionFactory()
    register(user=person, session=session)
    # Their invite went out: their calendar has an entry for the CANCEL to remove.
    Notification.objects.filter(recipient=person, payload__calendar="REQUEST").update(
        status=Notification.Status.SENT
    )
    in_pool(make_call(OrganizerFactory(), slug="pool"), EMAIL, name=NAME)

    response = staff_client(client_for).post(
        reverse("admin:accounts_user_delete", args=[person.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk=person.pk).exists()
    assert not Submission.objects.filter(email=EMAIL).exists()
    # The admin's log of the account (its deletion included) does not keep their name.
    assert not LogEntry.objects.filter(object_repr__icontains="Lea").exists()
    [kept] = Notification.objects.filter(email=EMAIL)
    assert kept.payload["calendar"] == "CANCEL"
    session.refresh_from_db()
    assert session.seats_taken == 0


def test_the_admin_keeps_the_only_owner_of_a_team_with_a_live_event_and_says_why(client_for):
    organizer = OrganizerFactory()
    event = EventFactory(organizer=organizer, title="Model launch feedback")
    event.team.name = "Model launch team"
    event.team.save()
    client = staff_client(client_for)

    one = client.post(reverse("admin:accounts_user_delete", args=[organizer.pk]), {"post": "yes"})
    bulk = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [organizer.pk], "post": "yes"},
        follow=True,
    )

    assert one.status_code == 302
    assert "only owner of the team Model launch team" in bulk.content.decode()
    assert User.objects.filter(pk=organizer.pk).exists()


def test_a_person_whose_invite_never_left_gets_the_news_without_a_calendar_cancel(
    person, client_for
):
    register(user=person, session=SessionFactory())  # the "you're in" with its invite is owed...

    # ...and the account goes before it left: their calendar has no entry.
    delete(client_for, person)

    [kept] = Notification.objects.filter(email=EMAIL, status="pending")
    assert kept.kind == Notification.Kind.CANCELLED
    assert "calendar" not in kept.payload


def test_an_invite_on_its_way_when_the_account_goes_is_cancelled_in_the_calendar_after_it(
    smtp, person, client_for
):
    """A worker holds the "you're in" and is handing it to the relay when the account goes:
    it lands in their calendar, so the kept CANCEL must carry the calendar part, and leave
    only once that send is over (sent at the same moment, it could arrive first, find no
    entry, and the invite would then stay for good)."""
    register(user=person, session=SessionFactory())
    [on_its_way] = Notification.objects.all()
    assert delivery.claim(on_its_way.pk, token="worker-a")  # being sent right now

    delete(client_for, person)

    [kept] = Notification.objects.filter(email=EMAIL, status="pending")
    assert kept.payload["calendar"] == "CANCEL"
    deliver_pending()
    assert smtp.to(EMAIL) == []  # not while the invite may still be on its way
    Notification.objects.filter(pk=kept.pk).update(next_attempt_at=timezone.now())
    deliver_pending()
    [cancel] = invites(smtp.to(EMAIL))
    assert cancel.method == "CANCEL"


@pytest.mark.parametrize("how", ["session_cancelled", "cancelled_by_organizer"])
def test_a_cancel_the_organizer_caused_and_still_owed_at_deletion_reads_well(
    smtp, person, how, client_for
):
    """Kept CANCELs of every origin, not only the person's own cancellations, read well
    with no user or registration left behind them."""
    session = SessionFactory(location="Room 4")
    registration = register(user=person, session=session)
    deliver_pending()
    organizer = organizer_of(session.event)
    if how == "session_cancelled":
        cancel_session(session=session, actor=organizer)
    else:
        cancel(registration=registration, actor=organizer, by_organizer=True)

    delete(client_for, person)  # before that CANCEL left
    deliver_pending()

    [_invite, farewell] = smtp.to(EMAIL)
    text = smtp.text(farewell)
    assert "None" not in text and NAME not in text
    assert invites([farewell])[0].method == "CANCEL"
