"""A large call is re-scored by the real Celery worker on the real Redis, after the change
commits; running the task twice is harmless."""

import pytest

from events import tasks
from events.models import OpenCall, Submission
from events.services import call_screening as screening
from tests.celery_worker import wait_for

from .conftest import choice, verdicts

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_the_worker_rescores_a_large_call_after_a_rule_change(
    call, organizer, people, worker, monkeypatch
):
    monkeypatch.setattr(screening, "INLINE_LIMIT", 2)  # three people: "large"

    screening.set_rules(
        call=call, actor=organizer, effects={choice(call, "Use", "RAG").pk: "disqualify"}
    )

    def caught_up():
        """every submission scored under the new rules"""
        return screening.progress(OpenCall.objects.get(pk=call.pk)).done

    wait_for(caught_up)
    assert verdicts(call)["grace@example.com"] == ("disqualified", "Answered “RAG” to “Use”")
    assert verdicts(call)["ada@example.com"] == ("qualified", "")

    # Twice more, as a retry or a restart would: nothing changes.
    before = list(
        Submission.objects.order_by("pk").values_list(
            "screening", "screening_reason", "screened_version"
        )
    )
    tasks.rescore_call.delay(call.pk)
    tasks.rescore_call.delay(call.pk)
    tasks.heartbeat.delay().get(timeout=20)  # the solo worker has run both by now
    after = list(
        Submission.objects.order_by("pk").values_list(
            "screening", "screening_reason", "screened_version"
        )
    )
    assert after == before
