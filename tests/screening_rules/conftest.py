"""Fixtures for screening rules on calls: the open call tests' call (a single choice "Use":
Agents/RAG/Fine-tuning and a multiple choice "Stack": PyTorch/JAX/MLX, among others), and
helpers to name its choices and set rules the way the page posts them."""

import pytest

from events.models import Choice, OpenCall, Submission
from tests.open_calls.conftest import call, in_pool, make_call, org, organizer, questions

__all__ = ["call", "in_pool", "make_call", "org", "organizer", "questions"]


def choice(call: OpenCall, question: str, label: str) -> Choice:
    return Choice.objects.get(
        question__questionnaire=call.questionnaire, question__label=question, label=label
    )


def verdicts(call: OpenCall) -> dict[str, tuple[str, str]]:
    return {
        email: (verdict, reason)
        for email, verdict, reason in Submission.objects.filter(call=call).values_list(
            "email", "screening", "screening_reason"
        )
    }


@pytest.fixture
def people(call):
    """Ada: Agents + PyTorch; Grace: RAG + JAX, MLX; Linus: Fine-tuning, no stack."""
    q = questions(call)
    return {
        "ada": in_pool(call, "ada@example.com", {q.single.pk: 0, q.multiple.pk: [0]}),
        "grace": in_pool(call, "grace@example.com", {q.single.pk: 1, q.multiple.pk: [1, 2]}),
        "linus": in_pool(call, "linus@example.com", {q.single.pk: 2}),
    }
