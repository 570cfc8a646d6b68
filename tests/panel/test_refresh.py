"""The panel is filled from the team's source rows: one row per person, every counter as the
attendance rules count it, consent, mapped attributes, nothing from another team, partial
refreshes that touch only their people, and a query count that does not grow with the panel."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from events.models import (
    Invitation,
    PanelAttribute,
    PanelMember,
    Registration,
    RegistrationChange,
    Submission,
    SurveyRecipient,
)
from events.services import ServiceError, attendance, open_calls, panel
from events.services import questionnaire as engine
from tests.factories import (
    InvitationFactory,
    OrganizerFactory,
    RegistrationFactory,
    SessionFactory,
    SurveyFactory,
    UserFactory,
    choice_id,
    team_of,
)

from .conftest import confirmed, emails, make_call, past_session, row

pytestmark = pytest.mark.django_db
Status = Registration.Status


def test_an_account_and_its_earlier_anonymous_submission_from_a_verified_address_are_one_person(
    team, call, event
):
    confirmed(call, "ada.work@example.com", name="Ada at work")
    ada = UserFactory(email="ada@example.com", display_name="Ada Lovelace")
    EmailAddress.objects.create(user=ada, email="ada.work@example.com", verified=True)
    RegistrationFactory(session=SessionFactory(event=event), user=ada)

    panel.refresh(team=team)

    assert emails(team) == {"ada@example.com"}
    ada_row = row(team, "ada@example.com")
    assert ada_row.user == ada
    assert (ada_row.calls_answered, ada_row.registrations) == (1, 1)
    assert ada_row.name == "Ada Lovelace"  # the account's profile wins


def test_an_unverified_address_is_another_person(team, call, event):
    confirmed(call, "ada.work@example.com")
    ada = UserFactory(email="ada@example.com")
    EmailAddress.objects.create(user=ada, email="ada.work@example.com", verified=False)
    RegistrationFactory(session=SessionFactory(event=event), user=ada)

    panel.refresh(team=team)

    assert emails(team) == {"ada@example.com", "ada.work@example.com"}
    assert row(team, "ada.work@example.com").user is None


def test_every_counter_follows_the_seeded_history(organizer, team, call, event):
    now = timezone.now()
    ada = UserFactory(email="ada@example.com")
    came, skipped, dropped, coming = (
        past_session(event, days_ago=9),
        past_session(event, days_ago=6),
        past_session(event, days_ago=1 / 24),
        SessionFactory(event=event),
    )
    RegistrationFactory(session=came, user=ada, checked_in_at=came.starts_at)
    RegistrationFactory(session=skipped, user=ada, no_show=True)
    late = RegistrationFactory(
        session=dropped,
        user=ada,
        status=Status.CANCELLED,
        confirmed_at=now - timedelta(days=5),
        cancelled_at=dropped.starts_at - timedelta(hours=2),
    )
    RegistrationChange.objects.create(
        registration=late, from_status=Status.CONFIRMED, to_status=Status.CANCELLED, actor=ada
    )
    RegistrationFactory(session=coming, user=ada)
    sent = now - timedelta(days=40)
    for status in ("accepted", "declined", "pending"):
        InvitationFactory(event=event, email="ada@example.com", status=status, sent_at=sent)
    Invitation.objects.filter(status="pending").update(sent_at=now - timedelta(days=2))
    survey = SurveyFactory(event=event, actor=organizer)
    SurveyRecipient.objects.create(survey=survey, user=ada, session=came, answered_at=now)

    panel.refresh(team=team)

    ada_row = row(team, "ada@example.com")
    record = attendance.history(user=ada, team=team)
    assert (ada_row.attended, ada_row.no_shows, ada_row.late_cancellations) == (1, 1, 1)
    assert (record.attended, record.no_shows, record.late_cancellations) == (1, 1, 1)
    assert ada_row.registrations == 4
    assert ada_row.last_attended_at == came.starts_at
    assert (ada_row.invitations, ada_row.invitations_accepted) == (3, 1)
    assert ada_row.invitations_declined == 1
    assert ada_row.last_contacted_at == now - timedelta(days=2)
    assert ada_row.surveys_answered == 1
    assert ada_row.calls_answered == 0


def test_a_cancellation_by_the_organizer_is_not_held_against_the_person(team, event):
    ada = UserFactory(email="ada@example.com")
    soon = past_session(event, days_ago=1 / 24)
    cancelled = RegistrationFactory(
        session=soon,
        user=ada,
        status=Status.CANCELLED,
        confirmed_at=timezone.now() - timedelta(days=5),
        cancelled_at=soon.starts_at - timedelta(hours=1),
    )
    RegistrationChange.objects.create(
        registration=cancelled,
        from_status=Status.CONFIRMED,
        to_status=Status.CANCELLED,
        actor=OrganizerFactory(),
    )

    panel.refresh(team=team)

    assert row(team, "ada@example.com").late_cancellations == 0


def test_consent_counts_if_any_of_the_teams_calls_has_it(organizer, team, call):
    second = make_call(organizer, team, slug="second")
    confirmed(call, "ada@example.com", consent=False)
    confirmed(second, "ada@example.com", consent=True)
    confirmed(call, "grace@example.com", consent=False)

    panel.refresh(team=team)

    assert row(team, "ada@example.com").consent is True
    assert row(team, "ada@example.com").calls_answered == 2
    assert row(team, "grace@example.com").consent is False


def test_the_latest_submission_gives_the_profile_without_an_account(organizer, team, call):
    second = make_call(organizer, team, slug="second")
    confirmed(call, "ada@example.com", affiliation="Old Labs", role="researcher", location="Paris")
    confirmed(second, "ada@example.com", affiliation="New Labs", role="developer")

    panel.refresh(team=team)

    ada = row(team, "ada@example.com")
    assert (ada.affiliation, ada.role, ada.location) == ("New Labs", "developer", "Paris")
    assert ada.user is None


def test_mapped_answers_become_attributes_with_the_choices_words_as_they_are_now(team, call):
    models, builds, line = call.questionnaire.questions.all()
    panel.add_attribute(team=team, question=models, name="models_used")
    panel.add_attribute(team=team, question=builds, name="builds")
    panel.add_attribute(team=team, question=line, name="tagline")
    confirmed(
        call,
        "ada@example.com",
        answers={
            models.pk: [choice_id(models, "Gemma"), choice_id(models, "Llama")],
            builds.pk: choice_id(builds, "RAG"),
            line.pk: "Small models, big ideas",
        },
    )
    confirmed(call, "grace@example.com", answers={builds.pk: choice_id(builds, "Agents")})
    builds.refresh_from_db()
    ids = builds.offered_choices
    engine.edit_question(
        question=builds,
        label=builds.label,
        kind=builds.kind,
        choices=[(n, "Retrieval (RAG)" if label == "RAG" else label) for n, label in ids],
        required=False,
        help_text="",
    )

    panel.refresh(team=team)

    assert row(team, "ada@example.com").attributes == {
        "models_used": ["Llama", "Gemma"],
        "builds": "Retrieval (RAG)",
        "tagline": "Small models, big ideas",
    }
    assert row(team, "grace@example.com").attributes == {"builds": "Agents"}


def test_removing_an_attribute_takes_it_out_of_everyones_attributes(team, call):
    _models, builds, _line = call.questionnaire.questions.all()
    confirmed(call, "ada@example.com", answers={builds.pk: choice_id(builds, "RAG")})
    attribute = panel.add_attribute(team=team, question=builds, name="builds")
    assert row(team, "ada@example.com").attributes == {"builds": "RAG"}

    panel.remove_attribute(attribute=attribute)

    assert row(team, "ada@example.com").attributes == {}


def test_another_teams_calls_and_events_never_count(team, call, event):
    other = OrganizerFactory()
    their_call = make_call(other, slug="theirs")
    their_event_session = past_session(SessionFactory().event)
    ada = UserFactory(email="ada@example.com")
    confirmed(call, "ada@example.com")
    confirmed(their_call, "ada@example.com", consent=True)
    RegistrationFactory(session=their_event_session, user=ada, checked_in_at=timezone.now())
    InvitationFactory(event=their_event_session.event, email="ada@example.com")
    confirmed(their_call, "grace@example.com")

    panel.refresh(team=team)

    assert emails(team) == {"ada@example.com"}
    ada_row = row(team, "ada@example.com")
    assert (ada_row.calls_answered, ada_row.consent) == (1, False)
    assert (ada_row.registrations, ada_row.attended, ada_row.invitations) == (0, 0, 0)
    assert team_of(other) != team


def test_a_refresh_of_some_addresses_leaves_the_others_untouched(team, call):
    confirmed(call, "ada@example.com", affiliation="Old Labs")
    confirmed(call, "grace@example.com", affiliation="Old Labs")
    panel.refresh(team=team)
    grace_before = row(team, "grace@example.com")
    Submission.objects.update(affiliation="New Labs")

    panel.refresh(team=team, emails=["ADA@example.com"])

    assert row(team, "ada@example.com").affiliation == "New Labs"
    grace = row(team, "grace@example.com")
    assert grace.affiliation == "Old Labs"
    assert grace.refreshed_at == grace_before.refreshed_at


def test_refreshing_by_any_of_an_accounts_addresses_refreshes_the_whole_person(team, call):
    confirmed(call, "ada.work@example.com")
    panel.refresh(team=team)
    ada = UserFactory(email="ada@example.com", affiliation="Example Labs")
    EmailAddress.objects.create(user=ada, email="ada.work@example.com", verified=True)

    panel.refresh(team=team, emails=["ada.work@example.com"])

    assert emails(team) == {"ada@example.com"}
    assert row(team, "ada@example.com").affiliation == "Example Labs"


@pytest.mark.parametrize("partial", [False, True], ids=["whole", "partial"])
def test_a_person_whose_last_source_row_goes_leaves_the_panel(team, call, partial):
    withdrawn = confirmed(call, "ada@example.com")
    confirmed(call, "grace@example.com")
    panel.refresh(team=team)

    open_calls.withdraw(submission=withdrawn)
    panel.refresh(team=team, emails=["ada@example.com"] if partial else None)

    assert emails(team) == {"grace@example.com"}


def test_invitations_alone_do_not_put_someone_in_the_panel(team, event):
    InvitationFactory(event=event, email="ada@example.com")

    panel.refresh(team=team)

    assert emails(team) == set()


def seed_people(team, call, event, count: int) -> None:
    """`count` people with an account, a confirmed submission, a registration and an
    invitation each, written as rows (fast)."""
    now = timezone.now()
    users = User.objects.bulk_create(
        User(email=f"bulk{n}@example.com", display_name=f"Bulk {n}") for n in range(count)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=u, email=f"alias{n}@example.com", verified=True)
        for n, u in enumerate(users)
    )
    Submission.objects.bulk_create(
        Submission(call=call, email=f"alias{n}@example.com", submitted_at=now, confirmed_at=now)
        for n in range(count)
    )
    session = SessionFactory(event=event, capacity=count)
    Registration.objects.bulk_create(
        Registration(session=session, user=u, status=Status.CONFIRMED, checkin_token=f"t{u.pk}")
        for u in users
    )
    Invitation.objects.bulk_create(
        Invitation(event=event, email=u.email, expires_at=now, sent_at=now) for u in users
    )


def refresh_queries(team, emails=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        panel.refresh(team=team, emails=emails)
    if connection.vendor == "sqlite":
        # SQLite takes at most 999 parameters a statement: Django splits the upserts there.
        return sum(not q["sql"].startswith('INSERT INTO "events_panelmember"') for q in queries)
    return len(queries)


def test_a_refresh_whole_or_by_address_takes_as_many_queries_for_500_people_as_for_5(
    team, call, event
):
    models, _builds, _line = call.questionnaire.questions.all()
    PanelAttribute.objects.create(team=team, question=models, name="models_used")
    seed_people(team, call, event, 5)
    small = refresh_queries(team)
    assert PanelMember.objects.filter(team=team).count() == 5
    small_partial = refresh_queries(team, [f"alias{n}@example.com" for n in range(5)])

    User.objects.filter(email__startswith="bulk").delete()
    Submission.objects.all().delete()
    Invitation.objects.all().delete()
    seed_people(team, call, event, 500)
    large = refresh_queries(team)
    large_partial = refresh_queries(team, [f"alias{n}@example.com" for n in range(500)])

    assert PanelMember.objects.filter(team=team).count() == 500
    assert (
        PanelMember.objects.filter(team=team, user__isnull=False, calls_answered=1).count() == 500
    )
    assert large == small
    assert large_partial == small_partial


def test_a_foreign_question_is_refused_and_nothing_is_written(team, call):
    their_call = make_call(OrganizerFactory(), slug="theirs")
    question = engine.add_question(
        questionnaire=their_call.questionnaire, label="Theirs", kind="short_text"
    )

    with pytest.raises(ServiceError, match="not in one of this team's open calls"):
        panel.add_attribute(team=team, question=question, name="theirs")

    assert not PanelAttribute.objects.exists()


@pytest.mark.parametrize("name", ["", "Models", "models used", "1models", "m" * 41, "mod-els"])
def test_a_bad_attribute_name_is_refused_and_nothing_is_written(team, call, name):
    question = call.questionnaire.questions.first()

    with pytest.raises(ServiceError, match="lower-case letters"):
        panel.add_attribute(team=team, question=question, name=name)

    assert not PanelAttribute.objects.exists()


def test_a_name_or_question_used_twice_is_refused_and_nothing_is_written(team, call):
    models, builds, _line = call.questionnaire.questions.all()
    panel.add_attribute(team=team, question=models, name="models_used")

    with pytest.raises(ServiceError, match="already has an attribute named models_used"):
        panel.add_attribute(team=team, question=builds, name="models_used")
    with pytest.raises(ServiceError, match="already the attribute models_used"):
        panel.add_attribute(team=team, question=models, name="models")

    assert list(PanelAttribute.objects.values_list("name", flat=True)) == ["models_used"]


def test_a_row_left_under_a_newly_verified_address_goes_when_the_account_is_refreshed(
    team, call, event
):
    confirmed(call, "ada.work@example.com")
    panel.refresh(team=team)
    ada = UserFactory(email="ada@example.com")
    EmailAddress.objects.create(user=ada, email="ada.work@example.com", verified=True)
    RegistrationFactory(session=SessionFactory(event=event), user=ada)

    panel.refresh(team=team, emails=["ada@example.com"])

    assert emails(team) == {"ada@example.com"}
    assert row(team, "ada@example.com").calls_answered == 1


def test_a_rebuild_leaves_rows_that_come_out_the_same_alone(team, call):
    confirmed(call, "ada@example.com")
    confirmed(call, "grace@example.com")
    panel.refresh(team=team)
    before = dict(PanelMember.objects.values_list("email", "refreshed_at"))
    Submission.objects.filter(email="grace@example.com").update(affiliation="New Labs")

    written = panel.refresh(team=team)

    after = dict(PanelMember.objects.values_list("email", "refreshed_at"))
    assert written == 1
    assert after["ada@example.com"] == before["ada@example.com"]
    assert after["grace@example.com"] > before["grace@example.com"]


def test_a_new_attribute_on_a_large_panel_is_left_to_the_next_minutes_rebuild(
    team, call, monkeypatch
):
    _models, builds, _line = call.questionnaire.questions.all()
    confirmed(call, "ada@example.com", answers={builds.pk: choice_id(builds, "RAG")})
    panel.refresh_team(team=team)
    monkeypatch.setattr(panel, "REFRESH_AT_ONCE", 0)

    panel.add_attribute(team=team, question=builds, name="builds")

    assert row(team, "ada@example.com").attributes == {}
    team.refresh_from_db()
    assert team.panel_refreshed_at is None
    panel.refresh_changed()
    assert row(team, "ada@example.com").attributes == {"builds": "RAG"}
