"""The survey flow end to end through real views and the real outbox (mail to a real SMTP
server): build, send after the session, answer from the link, read results and CSV."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Notification, SurveyRecipient
from events.outbox import delivery
from events.services import surveys
from events.services.registration import register
from tests.factories import EventFactory, OrganizerFactory, SessionFactory, UserFactory, add_to_team

pytestmark = pytest.mark.django_db(transaction=False)


def test_attendee_answers_from_the_mailed_link_and_the_organizer_sees_it(
    smtp, django_capture_on_commit_callbacks, client_for
):
    organizer = OrganizerFactory()
    event = EventFactory(checkin_enabled=False)
    add_to_team(event.team, organizer)
    session = SessionFactory(event=event)
    people = [UserFactory() for _ in range(3)]
    for person in people:
        register(user=person, session=session)
    org = client_for(organizer)
    assert org.post(reverse("manage:survey_create", args=[event.pk])).status_code == 302
    page = org.get(reverse("manage:survey", args=[event.pk]))
    assert page.status_code == 200
    assert b"Overall, how would you rate" in page.content
    assert (
        org.post(reverse("manage:survey_sending", args=[event.pk]), {"action": "start"}).status_code
        == 302
    )
    # The session ends; two hours later the sweep owes the survey.
    ended = timezone.now() - timedelta(hours=3)
    type(session).objects.filter(pk=session.pk).update(
        starts_at=ended - timedelta(hours=1), ends_at=ended
    )
    surveys.session_changed(type(session).objects.get(pk=session.pk))
    with django_capture_on_commit_callbacks(execute=False):
        assert surveys.queue_due() == 3
    for n in Notification.objects.filter(kind="survey"):
        delivery.deliver(notification_id=n.pk)
    message = smtp.to(people[0].email)[0]
    link = next(link for link in smtp.links(message) if "/survey/" in link)
    path = "/" + link.split("/", 3)[3]
    anon = Client()
    form = anon.get(path)
    assert form.status_code == 200, form.content
    questions = list(event.survey.questionnaire.questions.all())
    bad = anon.post(path, {f"q{questions[1].pk}": "9", f"q{questions[2].pk}": "Great demo"})
    assert bad.status_code == 400
    assert b"This question needs an answer" in bad.content and b"Great demo" in bad.content
    ok = anon.post(path, {f"q{questions[0].pk}": "4", f"q{questions[1].pk}": "9"})
    assert ok.status_code == 302
    assert SurveyRecipient.objects.filter(answered_at__isnull=False).count() == 1
    results = org.get(reverse("manage:survey_results", args=[event.pk]))
    assert results.status_code == 200
    assert b"4.00" in results.content
    csv = org.get(reverse("manage:survey_csv", args=[event.pk]))
    text = b"".join(csv.streaming_content).decode()
    assert "Great demo" not in text and ",4," in text
    preview = org.get(reverse("manage:survey_preview", args=[event.pk]))
    assert preview.status_code == 200
    pending = org.get(reverse("manage:survey_pending", args=[event.pk]))
    assert pending.status_code == 200
    assert people[1].email.encode() in pending.content
    assert people[0].email.encode() not in pending.content
