"""Setting a call's rules and quotas: each change moves the rules version and re-scores the
confirmed submissions; a confirmed submission is scored at once; bad input is refused with a
clear message and changes nothing."""

import pytest

from events.models import CallQuota, CallRule, OpenCall, Submission
from events.services import ServiceError
from events.services import call_screening as screening
from tests.factories import OrganizerFactory, UserFactory, add_to_team

from .conftest import choice, in_pool, make_call, questions, verdicts

pytestmark = pytest.mark.django_db


def set_rules(call, organizer, **marks):
    """marks: 'Use:RAG' style keys -> effect."""
    effects = {}
    for key, effect in marks.items():
        question, label = key.split("__")
        effects[choice(call, question, label).pk] = effect
    return screening.set_rules(call=call, actor=organizer, effects=effects)


def test_a_confirmed_submission_is_scored_at_once_under_the_current_rules(call, organizer):
    set_rules(call, organizer, Use__RAG="disqualify")
    call.refresh_from_db()
    q = questions(call)

    grace = in_pool(call, "grace@example.com", {q.single.pk: 1})
    ada = in_pool(call, "ada@example.com", {q.single.pk: 0})

    assert (grace.screening, grace.screening_reason) == ("disqualified", "Answered “RAG” to “Use”")
    assert (ada.screening, ada.screening_reason) == ("qualified", "")
    assert grace.screened_version == ada.screened_version == call.rules_version == 1


def test_changing_a_rule_rescores_existing_submissions_inline(call, organizer, people):
    assert {v for v, _ in verdicts(call).values()} == {"qualified"}

    set_rules(call, organizer, Stack__JAX="require", Stack__MLX="require")

    assert verdicts(call) == {
        "ada@example.com": ("disqualified", "Did not answer “Stack” with one of: JAX, MLX"),
        "grace@example.com": ("qualified", ""),
        "linus@example.com": ("disqualified", "Did not answer “Stack” with one of: JAX, MLX"),
    }
    set_rules(call, organizer, Stack__JAX="require", Stack__MLX="require", Use__Agents="qualify")
    assert verdicts(call)["ada@example.com"] == ("qualified", "Answered “Agents” to “Use”")
    call.refresh_from_db()
    assert call.rules_version == 2
    assert screening.progress(call).done


def test_quotas_move_the_version_and_are_stored(call, organizer, people):
    screening.set_quotas(
        call=call,
        actor=organizer,
        quotas=[
            {"field": "role", "value": "researcher", "bound": "at_least", "percent": "30"},
            {"field": "affiliation", "value": "", "bound": "at_most", "percent": "40"},
        ],
    )
    call.refresh_from_db()
    assert call.rules_version == 1
    assert sorted(CallQuota.objects.values_list("field", "value", "bound", "percent")) == [
        ("affiliation", "", "at_most", 40),
        ("role", "researcher", "at_least", 30),
    ]


def test_a_rescore_is_safe_to_run_twice(call, organizer, people):
    set_rules(call, organizer, Use__RAG="disqualify")
    before = verdicts(call)
    Submission.objects.filter(call=call).update(screened_version=0)  # as if not run yet

    assert screening.rescore(call_id=call.pk) == 3
    assert screening.rescore(call_id=call.pk) == 0
    assert verdicts(call) == before


def test_a_rescore_stops_when_the_version_moves_mid_run(call, organizer, people, monkeypatch):
    set_rules(call, organizer, Use__RAG="disqualify")
    Submission.objects.filter(call=call).update(screened_version=0, screening="")
    real = screening._chosen
    calls = []

    def chosen_then_change(*args):
        calls.append(1)
        if len(calls) == 1:
            # Another organizer's change lands between two batches.
            OpenCall.objects.filter(pk=call.pk).update(rules_version=99)
        return real(*args)

    monkeypatch.setattr(screening, "_chosen", chosen_then_change)

    scored = screening.rescore(call_id=call.pk, batch=1)

    assert scored == 1  # the first batch was written under version 1; the run then stopped
    assert list(
        Submission.objects.filter(call=call)
        .order_by("pk")
        .values_list("screened_version", flat=True)
    ) == [1, 0, 0]
    assert screening.progress(OpenCall.objects.get(pk=call.pk)).current == 0


def test_a_large_call_is_rescored_after_commit_not_in_the_request(
    call, organizer, people, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(screening, "INLINE_LIMIT", 2)
    sent = []
    monkeypatch.setattr(screening, "enqueue_rescore", lambda call_id: sent.append(call_id))

    set_rules(call, organizer, Use__RAG="disqualify")

    assert sent == [call.pk]
    call.refresh_from_db()
    progress = screening.progress(call)
    assert (progress.current, progress.total, progress.done) == (0, 3, False)
    screening.rescore(call_id=call.pk)
    assert screening.progress(call).done
    assert verdicts(call)["grace@example.com"][0] == "disqualified"


def nothing_changed(call, version=0):
    call.refresh_from_db()
    assert call.rules_version == version
    assert not CallRule.objects.filter(call=call).exists()
    assert not CallQuota.objects.filter(call=call).exists()


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        (
            {
                "Use__Agents": "disqualify",
                "Use__RAG": "disqualify",
                "Use__Fine-tuning": "disqualify",
            },
            "Every choice of “Use” disqualifies",
        ),
        ({"Use__Agents": "reject"}, "Unknown rule"),
    ],
)
def test_contradictory_or_unknown_rules_are_refused(call, organizer, people, marks, message):
    with pytest.raises(ServiceError, match=message):
        set_rules(call, organizer, **marks)
    nothing_changed(call)
    assert {v for v, _ in verdicts(call).values()} == {"qualified"}


def test_must_include_only_removed_choices_is_refused(call, organizer):
    mlx = choice(call, "Stack", "MLX")
    type(mlx).objects.filter(pk=mlx.pk).update(removed=True)  # as the question editor does
    with pytest.raises(ServiceError, match="no longer offered"):
        screening.set_rules(call=call, actor=organizer, effects={mlx.pk: "require"})
    nothing_changed(call)


def test_a_choice_of_another_call_is_refused(call, organizer):
    other = make_call(organizer, slug="another-call")
    foreign = choice(other, "Use", "RAG")
    for bad in ({foreign.pk: "disqualify"}, {"12abc": "qualify"}, {"\x00": "qualify"}):
        with pytest.raises(ServiceError, match="choices this call does not offer"):
            screening.set_rules(call=call, actor=organizer, effects=bad)
    nothing_changed(call)
    nothing_changed(other)


def quota(**fields):
    return {"field": "role", "value": "researcher", "bound": "at_least", "percent": "30", **fields}


@pytest.mark.parametrize(
    ("quotas", "message"),
    [
        ([quota(percent="101")], "from 1 to 100"),
        ([quota(percent="0")], "from 1 to 100"),
        ([quota(percent="-5")], "from 1 to 100"),
        ([quota(percent="thirty")], "from 1 to 100"),
        ([quota(percent="12.5")], "from 1 to 100"),
        ([quota(field="salary")], "role, affiliation or country"),
        ([quota(bound="exactly")], "“at least” or “at most”"),
        ([quota(value="wizard")], "Choose one of the roles"),
        ([quota(field="affiliation", value="Acme\x00")], "200 characters of text"),
        ([quota(field="affiliation", value="")], "needs a value"),
        ([quota(percent="60"), quota(value="developer", percent="50")], "more than 100%"),
        ([quota(percent="50"), quota(bound="at_most", percent="40")], "below at least 50%"),
        (
            [
                quota(field="affiliation", value="Acme", percent="50"),
                quota(field="affiliation", value="", bound="at_most", percent="40"),
            ],
            "cannot fit under at most 40%",
        ),
        ([quota(), quota()], "say the same thing"),
    ],
)
def test_bad_quotas_are_refused_with_a_clear_message(call, organizer, quotas, message):
    with pytest.raises(ServiceError, match=message):
        screening.set_quotas(call=call, actor=organizer, quotas=quotas)
    nothing_changed(call)


def test_reviewers_and_other_teams_cannot_change_rules(call, organizer):
    reviewer = UserFactory()
    add_to_team(call.team, reviewer, role="reviewer")
    for person in (reviewer, OrganizerFactory()):
        with pytest.raises(ServiceError, match="Only the call's organizers"):
            screening.set_rules(
                call=call, actor=person, effects={choice(call, "Use", "RAG").pk: "disqualify"}
            )
        with pytest.raises(ServiceError, match="Only the call's organizers"):
            screening.set_quotas(call=call, actor=person, quotas=[quota()])
    nothing_changed(call)


def test_the_sweep_rescores_what_a_lost_task_left_behind(call, organizer, people, monkeypatch):
    from django.conf import settings

    from events import tasks

    monkeypatch.setattr(screening, "INLINE_LIMIT", 2)
    monkeypatch.setattr(screening, "enqueue_rescore", lambda call_id: None)  # Redis was down
    set_rules(call, organizer, Use__RAG="disqualify")
    up_to_date = make_call(organizer, slug="up-to-date")
    call.refresh_from_db()
    assert not screening.progress(call).done

    assert tasks.rescore_calls_behind() == 3
    assert screening.progress(call).done
    assert verdicts(call)["grace@example.com"][0] == "disqualified"
    assert tasks.rescore_calls_behind() == 0  # nothing behind: safe to run again
    assert up_to_date.rules_version == 0
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["events.tasks.rescore_calls_behind"] == 300.0


def test_removing_a_question_under_a_rule_rescores_the_call(call, organizer, people, org):
    from django.urls import reverse

    from events.services import questionnaire as engine

    extra = engine.add_question(
        questionnaire=call.questionnaire, label="Cloud", kind="single", choices=["Yes", "No"]
    )
    set_rules(call, organizer, Cloud__Yes="require")
    assert {v for v, _ in verdicts(call).values()} == {"disqualified"}  # nobody answered it

    response = org.post(reverse("manage:question_delete", args=[extra.pk]))

    assert response.status_code == 302
    assert not CallRule.objects.filter(call=call).exists()
    assert verdicts(call) == {
        "ada@example.com": ("qualified", ""),
        "grace@example.com": ("qualified", ""),
        "linus@example.com": ("qualified", ""),
    }
    call.refresh_from_db()
    assert call.rules_version == 2


def test_rewording_a_ruled_choice_rewords_the_reasons(call, organizer, people, org):
    from django.urls import reverse

    set_rules(call, organizer, Use__RAG="disqualify")
    q = questions(call)
    rag = choice(call, "Use", "RAG")
    data = {"label": "Use", "kind": "single", "choices": "", f"choice_{rag.number}": "Retrieval"}
    response = org.post(reverse("manage:question_edit", args=[q.single.pk]), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    # The engine wrote the choice rows afresh: the rule follows the choice's number.
    renamed = choice(call, "Use", "Retrieval")
    assert renamed.number == rag.number
    assert list(CallRule.objects.filter(call=call).values_list("choice", "effect")) == [
        (renamed.pk, "disqualify")
    ]
    assert verdicts(call)["grace@example.com"] == (
        "disqualified",
        "Answered “Retrieval” to “Use”",
    )
