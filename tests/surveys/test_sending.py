"""Who gets the survey and when: due times on each session's sending, the beat sweep, the
real outbox (Notification rows) and, for the mail itself, a real SMTP server."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.models import Notification, Registration, Survey, SurveyRecipient, SurveySending
from events.outbox import delivery
from events.services import attendance, scheduling, surveys
from events.services.registration import cancel
from tests.factories import RegistrationFactory, SessionFactory
from tests.surveys.conftest import Kind, answer, end, field, questions_of, seat, survey_for

pytestmark = pytest.mark.django_db

SURVEY = Notification.Kind.SURVEY
REMINDER = Notification.Kind.SURVEY_REMINDER


def sending_on(event, **settings) -> Survey:
    survey = survey_for(event, [(Kind.RATING, "How was it?", None, True)], **settings)
    return surveys.start_sending(survey=survey, actor=None)


def owed(kind: str = SURVEY) -> list[str]:
    """The addresses the outbox owes mail of `kind` to."""
    return sorted(Notification.objects.filter(kind=kind).values_list("email", flat=True))


def emails(registrations: list[Registration]) -> list[str]:
    return sorted(r.user.email for r in registrations)


def deliver_all() -> None:
    """What the workers do with the survey mail owed now (confirmations are left aside)."""
    pending = Notification.objects.filter(status="pending", kind__in=[SURVEY, REMINDER])
    for pk in pending.order_by("pk").values_list("pk", flat=True):
        delivery.deliver(notification_id=pk)


def test_each_attendee_of_an_ended_session_is_owed_the_survey_once(event, session, enqueued):
    people = seat(session, 3)
    sending_on(event)
    end(session)

    assert surveys.queue_due() == 3
    assert surveys.queue_due() == 0

    assert owed() == emails(people)
    assert SurveyRecipient.objects.count() == 3
    assert SurveySending.objects.get(session=session).sent_at is not None


def test_the_sweep_enqueues_the_owed_mail_once_the_transaction_commits(
    event, session, enqueued, django_capture_on_commit_callbacks
):
    seat(session, 2)
    sending_on(event)
    end(session)

    with django_capture_on_commit_callbacks(execute=True):
        surveys.queue_due()

    assert sorted(enqueued) == sorted(
        Notification.objects.filter(kind=SURVEY).values_list("pk", flat=True)
    )


def test_someone_at_two_sessions_of_the_event_is_asked_once(event, session, enqueued):
    later = SessionFactory(event=event, capacity=10)
    [both] = seat(session)
    seat_later = RegistrationFactory(
        session=later, user=both.user, status=Registration.Status.CONFIRMED
    )
    [only_later] = seat(later)
    sending_on(event)
    end(session, hours_ago=30)
    end(later, hours_ago=3)

    surveys.queue_due()
    surveys.queue_due()

    assert owed() == emails([both, only_later])
    assert SurveyRecipient.objects.get(user=seat_later.user).session == session


def test_the_survey_is_not_sent_before_its_delay_after_the_end(event, session, enqueued):
    seat(session, 2)
    sending_on(event, send_after_hours=5)
    end(session, hours_ago=3)

    assert surveys.queue_due() == 0
    assert surveys.queue_due(now=timezone.now() + timedelta(hours=2, minutes=1)) == 2


def test_with_check_in_on_only_people_who_checked_in_are_asked(event, session, organizer):
    event.checkin_enabled = True
    event.save(update_fields=["checkin_enabled"])
    came, _stayed_away = seat(session, 2)
    sending_on(event)
    end(session)
    attendance.check_in(registration=came, actor=organizer)

    surveys.queue_due()

    assert owed() == [came.user.email]


def test_with_check_in_on_the_confirmed_audience_asks_everyone_confirmed(event, session, organizer):
    event.checkin_enabled = True
    event.save(update_fields=["checkin_enabled"])
    people = seat(session, 2)
    sending_on(event, audience=Survey.Audience.CONFIRMED)
    end(session)

    surveys.queue_due()

    assert owed() == emails(people)


def test_without_check_in_everyone_still_confirmed_is_asked(event, session):
    confirmed = seat(session, 2)
    [left] = seat(session)
    cancel(registration=left, actor=left.user)
    sending_on(event)
    end(session)

    surveys.queue_due()

    assert owed() == emails(confirmed)


def test_a_cancelled_session_sends_nothing(event, session, organizer):
    seat(session, 2)
    sending_on(event)
    scheduling.cancel_session(session=session, actor=organizer)
    end(session)

    assert surveys.queue_due() == 0
    assert SurveySending.objects.get(session=session).due_at is None
    assert owed() == []


def test_a_session_cancelled_after_its_survey_fell_due_sends_nothing(event, session):
    seat(session, 2)
    sending_on(event)
    end(session)
    # Cancelled by a path that skips the hook: the sweep checks again under its lock.
    type(session).objects.filter(pk=session.pk).update(status="cancelled")

    assert surveys.queue_due() == 0
    assert owed() == []


def test_moving_a_session_moves_its_survey(event, session, organizer):
    survey = sending_on(event, send_after_hours=4)
    starts = session.starts_at + timedelta(days=2, hours=3)

    scheduling.update_session(
        session=session, actor=organizer, starts_at=starts, ends_at=starts + timedelta(hours=2)
    )

    due = SurveySending.objects.get(session=session).due_at
    assert due == starts + timedelta(hours=2 + survey.send_after_hours)


def test_a_new_session_gets_its_sending_when_the_survey_sends(event, organizer):
    survey = sending_on(event)
    starts = timezone.now() + timedelta(days=3)

    new = scheduling.create_session(
        event=event,
        actor=organizer,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        capacity=5,
    )

    sending = SurveySending.objects.get(session=new)
    assert sending.due_at == new.ends_at + timedelta(hours=survey.send_after_hours)


def test_a_changed_delay_moves_every_unsent_session(event, session):
    survey = sending_on(event, send_after_hours=2)

    surveys.update_settings(survey=survey, actor=None, send_after_hours=10)

    assert SurveySending.objects.get(session=session).due_at == session.ends_at + timedelta(
        hours=10
    )


def test_nothing_is_sent_while_sending_is_off(event, session):
    seat(session, 2)
    survey_for(event, [(Kind.RATING, "How was it?", None, True)])
    end(session)

    assert surveys.queue_due() == 0
    assert owed() == []


def test_stopping_sending_stops_what_was_due(event, session):
    seat(session, 2)
    survey = sending_on(event)
    end(session)

    surveys.stop_sending(survey=survey, actor=None)

    assert surveys.queue_due() == 0
    assert owed() == []


def test_a_closed_survey_is_not_sent(event, session):
    seat(session, 2)
    survey = sending_on(event)
    end(session)
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(minutes=1))

    assert surveys.queue_due() == 0
    assert owed() == []


def test_sending_cannot_start_without_questions_or_after_closing(event, session):
    survey = survey_for(event)
    for question in questions_of(survey):
        surveys.engine.remove_question(question=question)

    with pytest.raises(surveys.ServiceError, match="at least one question"):
        surveys.start_sending(survey=survey, actor=None)
    survey = survey_for(event, [(Kind.RATING, "How was it?", None, True)])
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now())
    with pytest.raises(surveys.ServiceError, match="closed"):
        surveys.start_sending(survey=survey, actor=None)


def test_someone_checked_in_after_the_survey_went_out_is_asked_too(event, session, organizer):
    event.checkin_enabled = True
    event.save(update_fields=["checkin_enabled"])
    came, late = seat(session, 2)
    sending_on(event)
    end(session)
    attendance.check_in(registration=came, actor=organizer)
    surveys.queue_due()

    attendance.check_in(registration=late, actor=organizer)
    attendance.check_in(registration=late, actor=organizer)

    assert owed() == emails([came, late])


def test_a_walk_in_after_the_survey_went_out_is_asked_too(event, session, organizer):
    event.checkin_enabled = True
    event.save(update_fields=["checkin_enabled"])
    sending_on(event)
    end(session)
    surveys.queue_due()

    attendance.add_walk_in(session=session, actor=organizer, email="walk@example.com", name="W")

    assert owed() == ["walk@example.com"]


def test_delivery_marks_when_the_survey_went_out(event, session, smtp):
    seat(session)
    sending_on(event)
    end(session)
    surveys.queue_due()
    recipient = SurveyRecipient.objects.get()
    assert recipient.sent_at is None

    deliver_all()

    recipient.refresh_from_db()
    assert recipient.sent_at is not None
    assert Notification.objects.get(kind=SURVEY).status == "sent"


def test_the_mailed_link_opens_that_persons_form(event, session, smtp):
    ada, bob = seat(session, 2)
    survey = sending_on(event)
    end(session)
    surveys.queue_due()

    deliver_all()

    [message] = smtp.to(ada.user.email)
    assert message["Subject"] == "[Feedback Sessions] How was Model preview? A short survey"
    body = smtp.text(message)
    assert "1 question and takes a couple of minutes" in body
    [url] = [u for u in smtp.links(message) if "/survey/" in u]
    path = "/" + url.split("/", 3)[3]
    question = questions_of(survey)[0]
    assert Client().post(path, {field(question): "5"}).status_code == 302
    answered = SurveyRecipient.objects.get(answered_at__isnull=False)
    assert answered.user == ada.user
    assert len(smtp.to(bob.user.email)) == 1


def remind_time(survey: Survey):
    return timezone.now() + timedelta(days=survey.reminder_after_days, minutes=1)


def test_a_reminder_goes_once_and_only_to_those_who_have_not_answered(event, session):
    ada, bob = seat(session, 2)
    survey = sending_on(event, reminder_after_days=3)
    end(session)
    surveys.queue_due()
    question = questions_of(survey)[0]
    answer(recipient=SurveyRecipient.objects.get(user=ada.user), data={field(question): 4})

    assert surveys.queue_reminders() == 0  # not due yet
    assert surveys.queue_reminders(now=remind_time(survey)) == 1
    assert surveys.queue_reminders(now=remind_time(survey) + timedelta(days=9)) == 0

    assert owed(REMINDER) == [bob.user.email]
    assert SurveyRecipient.objects.get(user=bob.user).reminded_at is not None


def test_no_reminder_when_reminders_are_off(event, session):
    seat(session, 2)
    survey = sending_on(event, reminder_after_days=0)
    end(session)
    surveys.queue_due()

    assert surveys.queue_reminders(now=timezone.now() + timedelta(days=61)) == 0
    assert SurveyRecipient.objects.filter(remind_at__isnull=False).count() == 0
    assert owed(REMINDER) == []
    assert survey.reminder_after_days == 0


def test_no_reminder_after_the_survey_closed(event, session):
    seat(session, 2)
    survey = sending_on(event, reminder_after_days=3)
    end(session)
    surveys.queue_due()
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() + timedelta(days=1))

    assert surveys.queue_reminders(now=remind_time(survey)) == 0
    assert owed(REMINDER) == []


def test_a_reminder_is_skipped_when_they_answer_before_it_goes_out(event, session, smtp):
    [ada] = seat(session)
    survey = sending_on(event, reminder_after_days=3)
    end(session)
    surveys.queue_due()
    deliver_all()
    surveys.queue_reminders(now=remind_time(survey))
    recipient = SurveyRecipient.objects.get()

    answer(recipient=recipient, data={field(questions_of(survey)[0]): "5"})
    deliver_all()

    reminder = Notification.objects.get(kind=REMINDER)
    assert reminder.status == "skipped"
    assert reminder.last_error == "They answered before the reminder went out."
    assert len(smtp.to(ada.user.email)) == 1  # the survey, not the reminder


def test_resending_owes_a_new_email_each_time(event, session, enqueued, smtp):
    [ada] = seat(session)
    sending_on(event)
    end(session)
    surveys.queue_due()
    recipient = SurveyRecipient.objects.get()

    first = surveys.resend(recipient=recipient, actor=None)
    second = surveys.resend(recipient=recipient, actor=None)
    deliver_all()

    assert first.pk != second.pk
    assert len(smtp.to(ada.user.email)) == 3
    recipient.refresh_from_db()
    assert recipient.resent == 2


def test_resending_keeps_the_link_of_the_first_email_working(event, session, smtp):
    """Both mails go to the same inbox, so a new link would protect nothing; it would only
    break the first mail, which the person may find again (in spam, say) and click."""
    [ada] = seat(session)
    survey = sending_on(event)
    end(session)
    surveys.queue_due()
    deliver_all()
    recipient = SurveyRecipient.objects.get()
    nonce = recipient.nonce

    surveys.resend(recipient=recipient, actor=None)
    deliver_all()

    first, again = smtp.to(ada.user.email)
    paths = [
        "/" + url.split("/", 3)[3]
        for message in (first, again)
        for url in smtp.links(message)
        if "/survey/" in url
    ]
    assert len(paths) == 2
    recipient.refresh_from_db()
    assert recipient.nonce == nonce
    assert [surveys.from_token(p.strip("/").split("/")[-1]) for p in paths] == [recipient] * 2
    question = questions_of(survey)[0]
    assert Client().get(paths[0]).status_code == 200
    assert Client().post(paths[0], {field(question): "4"}).status_code == 302
    assert Client().post(paths[1], {field(question): "5"}).status_code == 302
    recipient.refresh_from_db()
    assert surveys.saved_answers(recipient) == {question.pk: 5}


def test_resending_is_refused_once_they_answered(event, session):
    seat(session)
    survey = sending_on(event)
    end(session)
    surveys.queue_due()
    recipient = SurveyRecipient.objects.get()
    answer(recipient=recipient, data={field(questions_of(survey)[0]): "5"})

    with pytest.raises(surveys.ServiceError, match="already answered"):
        surveys.resend(recipient=recipient, actor=None)
    assert Notification.objects.filter(kind=SURVEY).count() == 1


def test_a_survey_email_still_queued_when_the_survey_closes_is_not_sent(event, session, smtp):
    seat(session)
    survey = sending_on(event)
    end(session)
    surveys.queue_due()
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    deliver_all()

    assert Notification.objects.get(kind=SURVEY).status == "skipped"
    assert smtp.messages == []


def test_the_organizer_resends_from_the_pending_page(event, session, organizer_client):
    [ada] = seat(session)
    sending_on(event)
    end(session)
    surveys.queue_due()
    recipient = SurveyRecipient.objects.get()

    page = organizer_client.post(f"/manage/survey-recipients/{recipient.pk}/resend/", follow=True)

    assert page.status_code == 200
    assert f"The survey is on its way to {ada.user.name} again.".encode() in page.content
    assert Notification.objects.filter(kind=SURVEY).count() == 2


def test_nobody_is_asked_twice_across_sweeps_and_late_check_ins(event, session, organizer):
    event.checkin_enabled = True
    event.save(update_fields=["checkin_enabled"])
    [ada] = seat(session)
    sending_on(event)
    end(session)
    attendance.check_in(registration=ada, actor=organizer)
    surveys.queue_due()

    attendance.correct_attendance(registration=ada, actor=organizer, attended=False)
    attendance.correct_attendance(registration=ada, actor=organizer, attended=True)
    surveys.queue_due()

    assert owed() == [ada.user.email]
    assert SurveyRecipient.objects.count() == 1


def test_turning_reminders_off_after_sending_stops_the_reminders_already_planned(event, session):
    seat(session, 2)
    survey = sending_on(event, reminder_after_days=3)
    end(session)
    surveys.queue_due()

    surveys.update_settings(survey=survey, actor=None, reminder_after_days=0)

    assert surveys.queue_reminders(now=timezone.now() + timedelta(days=30)) == 0
    assert owed(REMINDER) == []


def test_a_longer_reminder_delay_after_sending_moves_the_planned_reminders(event, session):
    ada, bob = seat(session, 2)
    survey = sending_on(event, reminder_after_days=3)
    end(session)
    surveys.queue_due()
    answer(
        recipient=SurveyRecipient.objects.get(user=ada.user),
        data={field(questions_of(survey)[0]): "3"},
    )

    surveys.update_settings(survey=survey, actor=None, reminder_after_days=7)

    assert surveys.queue_reminders(now=timezone.now() + timedelta(days=4)) == 0
    assert surveys.queue_reminders(now=timezone.now() + timedelta(days=7, minutes=1)) == 1
    assert owed(REMINDER) == [bob.user.email]
