"""The beat's survey sweep on a real Celery worker and the real Redis broker, delivering to a
real SMTP server. Transactional database: the worker thread reads committed rows."""

import pytest

from config.celery import app
from events import tasks
from events.models import Notification, SurveyRecipient
from events.services import surveys
from tests.celery_worker import wait_for
from tests.surveys.conftest import Kind, end, seat, survey_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_the_beat_sweep_on_a_worker_mails_the_survey_to_each_attendee(event, session, smtp, worker):
    people = seat(session, 2)
    survey = survey_for(event, [(Kind.RATING, "How was it?", None, True)])
    surveys.start_sending(survey=survey, actor=None)
    end(session)
    # The confirmations went out on sign-up; only the survey is awaited below.
    wait_for(lambda: len(smtp.messages) >= 2)

    tasks.queue_surveys.delay()

    def both_sent():
        """both survey emails to be marked sent"""
        return SurveyRecipient.objects.filter(sent_at__isnull=False).count() == 2

    wait_for(both_sent)
    for registration in people:
        subjects = [m["Subject"] for m in smtp.to(registration.user.email)]
        assert subjects.count("[Feedback Sessions] How was Model preview? A short survey") == 1
    assert Notification.objects.filter(kind="survey", status="sent").count() == 2

    # The sweep running again (the next minute) owes nothing more.
    tasks.queue_surveys.delay()
    tasks.heartbeat.delay().get(timeout=20)
    assert Notification.objects.filter(kind="survey").count() == 2


@pytest.mark.django_db(transaction=False)
def test_beat_runs_the_survey_sweeps_every_few_minutes(settings):
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }

    assert schedule[tasks.queue_surveys.name] == 60.0
    assert schedule[tasks.remind_surveys.name] <= 300.0
    assert {tasks.queue_surveys.name, tasks.remind_surveys.name} <= set(app.tasks)
