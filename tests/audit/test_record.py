"""The audit log's own rules: an entry lives and dies with its change's transaction, holds
people only by id, keeps saying who acted (by role) after that person's account is erased, and
goes after the audit retention, in batches."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from events.models import AuditEntry
from events.services import ServiceError, audit, retention, scheduling
from events.services import registration as registration_service
from events.tasks import purge_audit_log
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory, add_to_team

pytestmark = pytest.mark.django_db


def test_a_change_rolled_back_leaves_no_entry():
    event = EventFactory(title="Before")
    organizer = UserFactory()
    add_to_team(event.team, organizer, role="organizer")
    with pytest.raises(RuntimeError), transaction.atomic():
        scheduling.update_event(event=event, actor=organizer, title="After")
        assert AuditEntry.objects.filter(action="event.updated").count() == 1
        raise RuntimeError("a later step of the same request failed")
    assert not AuditEntry.objects.filter(action="event.updated").exists()
    event.refresh_from_db()
    assert event.title == "Before"


def test_a_refused_change_leaves_no_entry():
    session = SessionFactory()
    organizer = UserFactory()
    add_to_team(session.event.team, organizer, role="organizer")
    scheduling.cancel_session(session=session, actor=organizer)
    with pytest.raises(ServiceError):
        scheduling.cancel_session(session=session, actor=organizer)
    assert AuditEntry.objects.filter(action="session.cancelled").count() == 1


def test_an_entry_says_what_changed_old_and_new():
    event = EventFactory(title="Before", offer_hours=24)
    organizer = UserFactory()
    add_to_team(event.team, organizer, role="organizer")
    scheduling.update_event(event=event, actor=organizer, title="After", offer_hours=24)
    entry = AuditEntry.objects.get(action="event.updated")
    assert entry.summary == {"changes": {"title": ["Before", "After"]}}
    assert (entry.team_id, entry.event_id, entry.object_type, entry.object_id) == (
        event.team_id,
        event.pk,
        "event",
        event.pk,
    )
    assert (entry.actor, entry.actor_role) == (organizer, "organizer")


def test_attendees_are_named_by_id_only():
    session = SessionFactory()
    organizer = UserFactory()
    add_to_team(session.event.team, organizer, role="organizer")
    attendee = UserFactory(email="ada@example.com", display_name="Ada Lovelace")
    registration = registration_service.register(user=attendee, session=session)
    registration_service.cancel(registration=registration, actor=organizer, by_organizer=True)
    entry = AuditEntry.objects.get(action="registration.cancelled")
    assert entry.summary == {"user": attendee.pk, "session": session.pk}
    assert entry.object_id == registration.pk
    assert "ada" not in str(entry.summary).lower()


def test_a_person_cancelling_their_own_place_is_not_an_organizer_action():
    session = SessionFactory()
    attendee = UserFactory()
    registration = registration_service.register(user=attendee, session=session)
    registration_service.cancel(registration=registration, actor=attendee)
    assert not AuditEntry.objects.filter(action="registration.cancelled").exists()


def test_a_summary_never_holds_a_persons_address_or_words():
    team = TeamFactory()
    with pytest.raises(ValueError, match="email"):
        audit.record(actor=None, action="x.y", team=team, summary={"email": "a@example.com"})
    with pytest.raises(ValueError, match="note"):
        audit.record(actor=None, action="x.y", team=team, summary={"c": {"note": "rude"}})
    # An address typed into the team's own text is masked, not kept.
    entry = audit.record(
        actor=None, action="x.y", team=team, summary={"description": "Ask bob@example.org!"}
    )
    assert entry.summary == {"description": "Ask [email]!"}


def test_recording_outside_a_transaction_is_a_programming_error(transactional_db):
    with pytest.raises(RuntimeError, match="transaction"):
        audit.record(actor=None, action="x.y", team=TeamFactory())


def test_an_erased_organizers_entries_stay_with_their_role_and_nothing_else():
    event = EventFactory()
    organizer = UserFactory(email="gone@example.com")
    add_to_team(event.team, organizer, role="organizer")
    scheduling.update_event(event=event, actor=organizer, title="Renamed")
    account_services.delete_account(user=organizer)
    entry = AuditEntry.objects.get(action="event.updated")
    assert entry.actor is None
    assert entry.actor_role == "organizer"


def test_staff_outside_the_team_act_as_staff():
    event = EventFactory()
    staff = UserFactory(is_staff=True)
    scheduling.update_event(event=event, actor=staff, title="Fixed by support")
    assert AuditEntry.objects.get(action="event.updated").actor_role == "staff"


def test_entries_older_than_the_retention_go_in_batches_and_the_rest_stay():
    team = TeamFactory()
    assert team.retention_audit_days == 730  # two years, unless the owners change it
    now = timezone.now()
    with transaction.atomic():
        old = [audit.record(actor=None, action="old.one", team=team).pk for _ in range(5)]
        kept = audit.record(actor=None, action="recent.one", team=team).pk
        edge = audit.record(actor=None, action="edge.one", team=team).pk
    AuditEntry.objects.filter(pk__in=old).update(created_at=now - timedelta(days=731))
    AuditEntry.objects.filter(pk=edge).update(created_at=now - timedelta(days=729))
    assert audit.purge_expired(now=now, batch=2) == 5
    assert set(AuditEntry.objects.filter(team=team).values_list("pk", flat=True)) >= {
        kept,
        edge,
    }
    assert not AuditEntry.objects.filter(pk__in=old).exists()
    assert audit.purge_expired(now=now) == 0  # safe to run twice


def test_the_hourly_task_applies_each_teams_own_retention(settings):
    short, default = TeamFactory(), TeamFactory()
    retention.update_policy(
        team=short,
        actor=short.members.get(),
        attendee_days=365,
        submission_days=90,
        panel_days=730,
        audit_days=30,
    )
    month_old = timezone.now() - timedelta(days=31)
    with transaction.atomic():
        gone = audit.record(actor=None, action="old.one", team=short)
        stays = audit.record(actor=None, action="old.one", team=default)
    AuditEntry.objects.filter(pk__in=[gone.pk, stays.pk]).update(created_at=month_old)
    assert purge_audit_log() == 1
    assert not AuditEntry.objects.filter(pk=gone.pk).exists()
    assert AuditEntry.objects.filter(pk=stays.pk).exists()  # 730 days for the other team
    assert "purge-audit-log" in settings.CELERY_BEAT_SCHEDULE


@pytest.mark.parametrize("days", ["0", "-5", "soon"])
def test_a_retention_of_zero_or_fewer_days_is_refused(days):
    team = TeamFactory()
    with pytest.raises(ServiceError, match="day"):
        retention.update_policy(
            team=team,
            actor=team.members.get(),
            attendee_days=365,
            submission_days=90,
            panel_days=730,
            audit_days=days,
        )
    team.refresh_from_db()
    assert team.retention_audit_days == 730


def test_a_save_that_changes_nothing_leaves_no_entry():
    event = EventFactory(title="Same")
    organizer = UserFactory()
    add_to_team(event.team, organizer, role="organizer")
    scheduling.update_event(event=event, actor=organizer, title="Same")
    assert not AuditEntry.objects.filter(action="event.updated").exists()


def test_the_question_editor_records_survey_and_call_questions(client_for):
    from django.urls import reverse

    from events.models import OpenCall, Question
    from events.services import open_calls, surveys

    event = EventFactory()
    organizer = UserFactory()
    add_to_team(event.team, organizer, role="organizer")
    survey = surveys.create_survey(event=event, actor=organizer)
    call = open_calls.create_call(team=event.team, actor=organizer, title="Call", slug="c-1")
    client = client_for(organizer)
    for questionnaire in (survey.questionnaire, OpenCall.objects.get(pk=call.pk).questionnaire):
        response = client.post(
            reverse("manage:question_new", args=[questionnaire.pk]),
            {"label": "What would you change?", "kind": "short_text"},
        )
        assert response.status_code in (200, 302)
    added = AuditEntry.objects.filter(action="question.added").order_by("pk")
    assert [(e.event_id, e.team_id, e.actor) for e in added] == [
        (event.pk, event.team_id, organizer),
        (None, event.team_id, organizer),
    ]
    assert added[0].summary["fields"]["label"] == "What would you change?"
    question = Question.objects.get(pk=added[1].object_id)
    client.post(reverse("manage:question_delete", args=[question.pk]))
    assert AuditEntry.objects.filter(action="question.removed", object_id=question.pk).exists()


def test_changing_whether_a_questions_words_are_kept_is_recorded_with_who(client_for):
    from django.urls import reverse

    from events.audit_words import action_words, details
    from events.models import OpenCall, Question
    from events.services import open_calls, surveys

    event = EventFactory()
    organizer = UserFactory()
    add_to_team(event.team, organizer, role="organizer")
    survey = surveys.create_survey(event=event, actor=organizer)
    call = open_calls.create_call(team=event.team, actor=organizer, title="Call", slug="c-2")
    client = client_for(organizer)
    for questionnaire in (survey.questionnaire, OpenCall.objects.get(pk=call.pk).questionnaire):
        client.post(
            reverse("manage:question_new", args=[questionnaire.pk]),
            {"label": "Anything else?", "kind": "long_text"},
        )
        question = Question.objects.get(questionnaire=questionnaire, label="Anything else?")
        edit = reverse("manage:question_edit", args=[question.pk])
        for keep in ("on", ""):
            fields = {"label": "Anything else?", "kind": "long_text", "keep_text": keep}
            assert client.post(edit, {k: v for k, v in fields.items() if v}).status_code == 302
        # Saved again unchanged: no entry about the flag.
        client.post(edit, {"label": "Anything else at all?", "kind": "long_text"})

    changed = AuditEntry.objects.filter(action="question.keep_text_changed").order_by("pk")
    assert [(e.event_id, e.actor, e.summary["changes"]["keep_text"]) for e in changed] == [
        (event.pk, organizer, [False, True]),
        (event.pk, organizer, [True, False]),
        (None, organizer, [False, True]),
        (None, organizer, [True, False]),
    ]
    assert action_words("question.keep_text_changed") != "question.keep_text_changed"
    assert details(changed[0]) == "words kept when anonymised: no → yes"
