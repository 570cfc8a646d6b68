"""A confirmation that lands while the rules change is scored under the rules that win: it
waits for the change's lock on the call, so it never keeps a verdict of the old rules under
the new version, nor the old version where no run will look again. PostgreSQL, real threads."""

import threading

import pytest
from django.db import connection, connections, transaction

from events.models import OpenCall, Submission
from events.services import call_screening as screening
from events.services import open_calls as service

from .conftest import choice, questions

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_confirmation_waits_for_a_rule_change_and_is_scored_under_the_new_rules(call, organizer):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    q = questions(call)
    submitted = service.submit(
        call=call, email="grace@example.com", profile={"name": "Grace"}, answers={q.single.pk: 1}
    ).submission
    rag = choice(call, "Use", "RAG").pk
    done = threading.Event()
    errors: list[BaseException] = []

    def confirm() -> None:
        try:
            service.confirm(submission=submitted, nonce=submitted.nonce)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            connections.close_all()
            done.set()

    with transaction.atomic():
        # The first half of a rule change: the call's row is locked, the rules not yet
        # committed.
        screening.set_rules(call=call, actor=organizer, effects={rag: "disqualify"})
        worker = threading.Thread(target=confirm)
        worker.start()
        assert not done.wait(1.0), "the confirmation did not wait for the rule change"
    worker.join(20)

    assert not errors, errors
    grace = Submission.objects.get(pk=submitted.pk)
    version = OpenCall.objects.get(pk=call.pk).rules_version
    assert (grace.screening, grace.screened_version) == ("disqualified", version)
