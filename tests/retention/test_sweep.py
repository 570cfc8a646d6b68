"""The retention sweep on an event: after N days its attendees' data goes, and what
statistics need stays."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events import ics
from events.models import (
    Answer,
    CalendarReply,
    Invitation,
    Notification,
    Registration,
    RegistrationChange,
    Response,
    RetentionLog,
    Session,
    SurveyRecipient,
    TermsAcceptance,
    WebhookMessage,
)
from events.services import retention, themes
from events.services import surveys as survey_service

from .conftest import make_past_event

pytestmark = pytest.mark.django_db


def personal_rows(event) -> dict[str, int]:
    inventory = retention.event_inventory(event)
    return {line.kind: line.count for line in inventory.lines if line.count}


def test_an_event_past_its_retention_loses_every_name_and_keeps_its_figures(past_event):
    event, session = past_event.event, past_event.session
    assert personal_rows(event)  # a full event to start with

    swept = retention.sweep()

    assert swept.events == 1
    assert personal_rows(event) == {}
    assert not Registration.objects.filter(session=session).exists()
    assert not RegistrationChange.objects.filter(registration__session=session).exists()
    assert not Invitation.objects.filter(event=event).exists()
    assert not TermsAcceptance.objects.filter(event=event).exists()
    assert not SurveyRecipient.objects.filter(survey__event=event).exists()
    assert not Notification.objects.filter(email=past_event.ada.email).exists()
    # What statistics need stays on the session.
    kept = Session.objects.get(pk=session.pk).kept_counts
    assert kept["registrations"] == 2
    assert kept["attended"] == 1
    assert kept["no_shows"] == 1
    assert kept["invited"] == 1
    assert kept["surveyed"] == 2 and kept["answered"] == 2
    # The survey's ratings and choices stay, with nobody behind them.
    responses = Response.objects.filter(questionnaire=event.survey.questionnaire)
    assert responses.count() == 2
    assert all(r.respondent.startswith(retention.ANONYMISED) for r in responses)
    assert not responses.filter(respondent__startswith="user").exists()
    answers = Answer.objects.filter(response__in=responses)
    assert sorted(answers.filter(question=past_event.rating).values_list("number", flat=True)) == [
        4,
        4,
    ]
    assert answers.filter(question=past_event.choice).count() == 2
    # Free text goes, unless its question keeps the words.
    assert not answers.filter(question=past_event.erased_text).exists()
    assert list(answers.filter(question=past_event.kept_text).values_list("text", flat=True)) == [
        "fast",
        "fast",
    ]
    results = survey_service.results(survey=event.survey)
    assert results.results is not None
    # The response rate the results page shows stays as it was.
    assert (results.rate.sent, results.rate.opened, results.rate.answered) == (2, 2, 2)
    assert survey_service.rate(survey=event.survey, session_id=session.pk).answered == 2


def test_webhook_deliveries_lose_their_contents(past_event):
    retention.sweep()
    message = WebhookMessage.objects.get(webhook_id="msg_1")
    assert message.payload == {"erased": True}
    assert past_event.ada.email not in str(message.payload)


def test_the_log_says_how_many_rows_of_which_kind_for_which_event_and_names_nobody(past_event):
    retention.sweep()
    [entry] = RetentionLog.objects.filter(team=past_event.team)
    assert entry.kind == RetentionLog.Kind.EVENT
    assert entry.event == past_event.event
    assert entry.subject == "Prototype demo"
    assert entry.actor is None
    assert entry.counts["registrations"] == 2
    assert entry.counts["free_text_answers"] == 2
    assert entry.counts["webhook_payloads"] == 1
    assert "ada" not in str(entry.counts).lower()


def test_running_the_sweep_twice_changes_nothing_the_second_time(past_event):
    retention.sweep()
    kept = Session.objects.get(pk=past_event.session.pk).kept_counts
    again = retention.sweep()
    assert again.events == 0
    assert RetentionLog.objects.count() == 1
    assert Session.objects.get(pk=past_event.session.pk).kept_counts == kept


def test_an_event_within_its_retention_keeps_everything(db):
    recent = make_past_event(ended_days_ago=300)  # the default is 365
    assert retention.sweep().events == 0
    assert Registration.objects.filter(session=recent.session).count() == 2


def test_the_event_s_own_days_override_the_team_s(db):
    recent = make_past_event(ended_days_ago=40)
    retention.set_event_days(event=recent.event, actor=recent.owner, days=30)
    assert retention.sweep().events == 1
    assert not Registration.objects.filter(session=recent.session).exists()


def test_the_team_s_shorter_policy_applies_to_its_events(db):
    recent = make_past_event(ended_days_ago=40)
    retention.update_policy(
        team=recent.team, actor=recent.owner, attendee_days=30, submission_days=90, panel_days=730
    )
    assert retention.sweep().events == 1


def test_a_new_session_moves_the_date(past_event):
    SessionFactory = __import__("tests.factories", fromlist=["SessionFactory"]).SessionFactory
    SessionFactory(event=past_event.event)  # next week
    assert retention.sweep().events == 0
    assert Registration.objects.filter(session=past_event.session).count() == 2


def test_erased_free_text_leaves_the_themes(past_event, monkeypatch):
    erased = []
    monkeypatch.setattr(themes, "answers_erased", lambda **kw: erased.append(kw))
    retention.sweep()
    assert erased == [{"question_ids": {past_event.erased_text.pk}}]


def test_the_sweep_works_in_batches_and_resumes(db):
    first, second = make_past_event(), make_past_event(ended_days_ago=500)
    assert retention.sweep_events(batch=1) == 1
    # The oldest went first; the next run takes the rest.
    assert not Registration.objects.filter(session=second.session).exists()
    assert Registration.objects.filter(session=first.session).exists()
    assert retention.sweep_events(batch=1) == 1
    assert not Registration.objects.filter(session=first.session).exists()
    assert retention.sweep_events(batch=1) == 0


def test_early_anonymisation_of_an_ended_event_is_logged_with_the_owner(db):
    ended = make_past_event(ended_days_ago=2)
    counts = retention.anonymise_event_now(event=ended.event, actor=ended.owner)
    assert counts["registrations"] == 2
    [entry] = RetentionLog.objects.all()
    assert entry.actor == ended.owner


def test_early_anonymisation_of_an_event_not_over_is_refused_and_writes_nothing(db):
    coming = make_past_event(ended_days_ago=-3)  # ends in three days
    with pytest.raises(retention.ServiceError, match="has not ended yet"):
        retention.anonymise_event_now(event=coming.event, actor=coming.owner)
    assert Registration.objects.filter(session=coming.session).count() == 2
    assert not RetentionLog.objects.exists()


def test_only_an_owner_may_anonymise_early(db):
    from tests.factories import UserFactory, add_to_team

    ended = make_past_event(ended_days_ago=2)
    organizer = UserFactory()
    add_to_team(ended.team, organizer, role="organizer")
    with pytest.raises(retention.ServiceError):
        retention.anonymise_event_now(event=ended.event, actor=organizer)
    assert Registration.objects.filter(session=ended.session).count() == 2


@pytest.mark.parametrize("days", [0, -1, "", "soon", 10**6])
def test_zero_negative_or_nonsense_days_are_refused(past_event, days):
    with pytest.raises(retention.ServiceError):
        retention.update_policy(
            team=past_event.team,
            actor=past_event.owner,
            attendee_days=days,
            submission_days=90,
            panel_days=730,
        )
    past_event.team.refresh_from_db()
    assert past_event.team.retention_attendee_days == 365


def test_zero_days_on_an_event_is_refused_with_a_clear_message(past_event):
    with pytest.raises(retention.ServiceError, match="at least 1 day"):
        retention.set_event_days(event=past_event.event, actor=past_event.owner, days=0)


def test_the_inventory_says_when_the_data_goes(past_event):
    inventory = retention.event_inventory(past_event.event)
    assert inventory.goes_at == past_event.session.ends_at + timedelta(days=365)
    assert {line.kind: line.count for line in inventory.lines}["registrations"] == 2
    assert inventory.goes_at < timezone.now()


def test_beat_runs_the_sweep_every_hour_through_a_thin_task(past_event, settings):
    from events.tasks import retention_sweep

    entry = settings.CELERY_BEAT_SCHEDULE["retention-sweep"]
    assert entry == {"task": "events.tasks.retention_sweep", "schedule": 3600.0}
    assert retention_sweep() == {
        "events": 1,
        "submissions": 0,
        "renewals_asked": 0,
        "panel_members": 0,
        "tombstones": 0,  # expired ones purged (none yet)
        "failed": 0,
    }
    assert retention_sweep()["events"] == 0


def test_a_sweep_killed_half_way_through_an_event_leaves_it_whole_for_the_next_run(
    past_event, monkeypatch
):
    from events.services import panel

    def killed(**kwargs):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(panel, "refresh", killed)  # the last step of an event's batch
        with pytest.raises(SystemExit):
            retention.sweep_events()
    # Nothing of the interrupted batch was written...
    assert Registration.objects.filter(session=past_event.session).count() == 2
    assert not RetentionLog.objects.exists()
    assert Session.objects.get(pk=past_event.session.pk).kept_counts == {}
    # ...and the next run does it all, once.
    assert retention.sweep_events() == 1
    assert not Registration.objects.filter(session=past_event.session).exists()
    assert Session.objects.get(pk=past_event.session.pk).kept_counts["registrations"] == 2


def test_calendar_answers_about_the_event_go_with_its_attendees(past_event):
    """A Yes from Ada's calendar, and a reply from a stranger that matched no one: both keep
    an address, both go when the event is anonymised; a reply about another event stays."""
    uid = ics.uid_for(past_event.session)
    CalendarReply.objects.create(
        message_id="<yes@example.com>",
        source="imap",
        sender=past_event.ada.email,
        uid=uid,
        partstat="ACCEPTED",
        registration=past_event.came,
        outcome=CalendarReply.Outcome.APPLIED,
    )
    CalendarReply.objects.create(
        message_id="<stray@example.com>",
        source="imap",
        sender="stranger@example.com",
        uid=uid,
        partstat="DECLINED",
        outcome=CalendarReply.Outcome.IGNORED,
    )
    elsewhere = CalendarReply.objects.create(
        message_id="<other@example.com>",
        source="imap",
        sender="someone@example.com",
        uid="session-00000000-0000-0000-0000-000000000000@feedback-sessions",
        outcome=CalendarReply.Outcome.IGNORED,
    )
    retention.sweep()
    assert list(CalendarReply.objects.values_list("pk", flat=True)) == [elsewhere.pk]
    [entry] = RetentionLog.objects.filter(team=past_event.team)
    assert entry.counts["calendar_answers"] == 2
