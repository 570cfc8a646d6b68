"""An open call's choice answers keep naming the choice the person picked, whatever the
organizers do to the choices afterwards: in the pool's filters, charts and CSV, and for
submissions still waiting for their email to be confirmed when the choices changed."""

import csv
import io

import pytest
from django.urls import reverse

from events.services import open_calls as service
from events.services import questionnaire as engine

from .conftest import in_pool, questions
from .test_pool import shown

pytestmark = pytest.mark.django_db


def choice_ids(question) -> dict[str, int]:
    question.refresh_from_db()
    return {label: pk for pk, label in question.offered_choices}


def edit(question, choices, **changes):
    question.refresh_from_db()
    return engine.edit_question(
        question=question,
        label=question.label,
        kind=changes.get("kind", question.kind),
        choices=choices,
        required=question.required,
        help_text=question.help_text,
    )


@pytest.fixture
def pool(call):
    """Ada picked Agents, Grace RAG, Linus Fine-tuning; then RAG was removed and Evals added."""
    q = questions(call)
    ids = choice_ids(q.single)
    in_pool(call, "ada@example.com", answers={q.single.pk: ids["Agents"]})
    in_pool(call, "grace@example.com", answers={q.single.pk: ids["RAG"]})
    in_pool(call, "linus@example.com", answers={q.single.pk: ids["Fine-tuning"]})
    edit(q.single, ["Agents", "Fine-tuning", "Evals"])
    return ids


def test_the_pool_filter_on_a_removed_choice_finds_who_picked_it(org, call, pool):
    q = questions(call)
    evals = choice_ids(q.single)["Evals"]

    assert shown(org, call, choice=f"{q.single.pk}:{pool['RAG']}") == {"grace@example.com"}
    assert shown(org, call, choice=f"{q.single.pk}:{pool['Fine-tuning']}") == {"linus@example.com"}
    assert shown(org, call, choice=f"{q.single.pk}:{evals}") == set()


def test_the_pool_filter_lists_removed_choices_by_name(org, call, pool):
    q = questions(call)

    page = org.get(reverse("manage:pool", args=[call.pk])).content.decode()

    assert f'value="{q.single.pk}:{pool["RAG"]}"' in page
    assert "RAG (removed)" in page


def test_the_pool_charts_and_csv_keep_old_answers_on_their_choice(org, organizer, call, pool):
    q = questions(call)

    results = service.pool_results(call=call, viewer=organizer)
    single = next(r for r in results.questions if r.question.pk == q.single.pk)
    assert [(o.label, o.count) for o in single.options] == [
        ("Agents", 1),
        ("Fine-tuning", 1),
        ("Evals", 0),
        ("RAG (removed)", 1),
    ]
    response = org.get(reverse("manage:pool_csv", args=[call.pk]))
    header, *rows = csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
    use = {row[header.index("Email")]: row[header.index("Use")] for row in rows}
    assert use == {
        "ada@example.com": "Agents",
        "grace@example.com": "RAG (removed)",
        "linus@example.com": "Fine-tuning",
    }


def test_a_submission_confirmed_after_its_choice_was_removed_keeps_that_choice(organizer, call):
    q = questions(call)
    ids = choice_ids(q.single)
    submitted = service.submit(
        call=call,
        email="ada@example.com",
        profile={"name": "Ada"},
        answers={q.single.pk: ids["RAG"], q.multiple.pk: [choice_ids(q.multiple)["JAX"]]},
    )
    # Nobody has answered yet, so nothing guards the question while the email is unconfirmed.
    edit(q.single, ["Agents", "Fine-tuning", "Evals"])
    edit(q.multiple, ["PyTorch", "MLX", "Keras"])

    service.confirm(submission=submitted.submission, nonce=submitted.submission.nonce)

    submitted.submission.refresh_from_db()
    lines = dict(service.summary(submitted.submission))
    assert lines["Use"] == "RAG (removed)"
    assert lines["Stack"] == "JAX (removed)"
    counts = {
        r.question.label: [(o.label, o.count) for o in r.options if o.count]
        for r in service.pool_results(call=call, viewer=organizer).questions
    }
    assert counts["Use"] == [("RAG (removed)", 1)]
    assert counts["Stack"] == [("JAX (removed)", 1)]


def test_a_pending_answer_that_no_longer_fits_its_question_is_dropped_on_confirmation(call):
    q = questions(call)
    submitted = service.submit(
        call=call,
        email="ada@example.com",
        profile={"name": "Ada"},
        answers={q.single.pk: choice_ids(q.single)["Agents"], q.rating.pk: 4},
    )
    edit(q.single, [], kind="short_text")

    service.confirm(submission=submitted.submission, nonce=submitted.submission.nonce)

    submitted.submission.refresh_from_db()
    assert engine.answers_of(submitted.submission.response) == {q.rating.pk: 4}
