"""Fixtures for the open call's tests: a published call asking one question of each kind, a
valid form as a browser would post it, and people already in the pool."""

from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from events.models import OpenCall, Submission
from events.services import open_calls as service
from events.services import questionnaire as engine
from tests.factories import OpenCallFactory, OrganizerFactory


def make_call(organizer, slug: str = "open-model", **fields) -> OpenCall:
    """A published call with a question of every kind, in this order."""
    call = OpenCallFactory(organizer=organizer, title="Tell us", slug=slug, **fields)
    q = call.questionnaire
    engine.add_question(
        questionnaire=q, label="Use", kind="single", choices=["Agents", "RAG", "Fine-tuning"]
    )
    engine.add_question(
        questionnaire=q, label="Stack", kind="multiple", choices=["PyTorch", "JAX", "MLX"]
    )
    engine.add_question(questionnaire=q, label="Docs", kind="rating")
    engine.add_question(questionnaire=q, label="Recommend", kind="nps")
    engine.add_question(questionnaire=q, label="Tagline", kind="short_text")
    engine.add_question(questionnaire=q, label="Anything else", kind="long_text")
    return service.set_status(call=call, actor=organizer, published=True)


def questions(call: OpenCall) -> SimpleNamespace:
    single, multiple, rating, nps, short, long = call.questionnaire.questions.all()
    return SimpleNamespace(
        single=single, multiple=multiple, rating=rating, nps=nps, short=short, long=long
    )


def form_data(call: OpenCall, **overrides) -> dict:
    """What a person filling the whole form posts; override any field (None drops it)."""
    q = questions(call)
    data = {
        "email": "ada@example.com",
        "name": "Ada",
        "role": "developer",
        "affiliation": "Example Labs",
        "github_handle": "ada",
        "location": "Europe/Berlin",
        "join_feedback": "on",
        "consent": "on",
        f"q{q.single.pk}": "0",
        f"q{q.multiple.pk}": ["0", "2"],
        f"q{q.rating.pk}": "4",
        f"q{q.nps.pk}": "9",
        f"q{q.short.pk}": "Fast and small",
        f"q{q.long.pk}": "Agents for code review",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def call_url(call: OpenCall) -> str:
    return reverse("events:call", args=[call.slug])


def in_pool(call: OpenCall, email: str, answers: dict | None = None, **profile) -> Submission:
    """Someone who submitted and confirmed, straight through the services."""
    fields = {"name": email.split("@")[0].title(), "role": "developer", **profile}
    submitted = service.submit(call=call, email=email, profile=fields, answers=answers or {})
    service.confirm(submission=submitted.submission, nonce=submitted.submission.nonce)
    return Submission.objects.get(pk=submitted.submission.pk)


@pytest.fixture
def organizer(db):
    return OrganizerFactory()


@pytest.fixture
def org(organizer, client_for) -> Client:
    return client_for(organizer)


@pytest.fixture
def call(organizer) -> OpenCall:
    return make_call(organizer)
