"""Migration every_event_has_a_screening_questionnaire gives each event without one its
(empty) screening questionnaire, so the shared question editor can edit it from the event's
page; an event that asks questions keeps its questionnaire and its questions."""

import pytest

from events.models import Event
from events.services import screening
from tests.migrations import migrate_to_latest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BEFORE = ("events", "0011_screening_on_the_question_engine")


def test_every_event_gets_a_screening_questionnaire_and_none_loses_its_questions(migrator):
    apps = migrator(*BEFORE)
    OldEvent = apps.get_model("events", "Event")
    Questionnaire = apps.get_model("events", "Questionnaire")
    Question = apps.get_model("events", "Question")
    plain = OldEvent.objects.create(title="Open doors", registration_mode="open")
    asking = OldEvent.objects.create(title="Applications", registration_mode="approval")
    asking.screening = Questionnaire.objects.create()
    asking.save(update_fields=["screening"])
    Question.objects.create(
        questionnaire=asking.screening, position=0, kind="short_text", label="Why?"
    )

    migrate_to_latest()

    events = {e.title: e for e in Event.objects.all()}
    assert events["Open doors"].screening_id is not None
    assert events["Applications"].screening_id == asking.screening_id
    assert len({e.screening_id for e in events.values()}) == 2
    assert [q.label for q in screening.asked(event=events["Applications"])] == ["Why?"]
    assert screening.asked(event=events["Open doors"]) == []
    assert plain.pk == events["Open doors"].pk
