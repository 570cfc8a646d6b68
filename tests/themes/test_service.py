"""The themes service over the database: computing, carrying organizers' changes through a
recomputation, placing new answers, the debounce, failures and bad input."""

import pytest
from django.utils import timezone

from events.models import Theme, ThemeAnswer, ThemeSet
from events.services import ServiceError
from events.services import themes as service
from tests.factories import UserFactory

from .conftest import add_answers, planted

pytestmark = pytest.mark.django_db


def computed(question, seed: int = 2026) -> ThemeSet:
    # A fixed seed (a new set's is random): the same themes on every run of the test.
    ThemeSet.objects.get_or_create(question=question, defaults={"seed": seed})
    theme_set = service.request(question)
    service.compute(theme_set.pk)
    theme_set.refresh_from_db()
    return theme_set


def listed(theme_set) -> list[Theme]:
    return list(Theme.objects.filter(theme_set=theme_set, merged_into=None))


def test_compute_groups_planted_answers(call_question):
    add_answers(call_question, planted(120))
    theme_set = computed(call_question)
    assert theme_set.status == ThemeSet.Status.IDLE
    assert theme_set.computed_at is not None
    assert theme_set.answers_count == 120
    themes = listed(theme_set)
    assert len(themes) >= 3
    assert sum(t.size for t in themes) == ThemeAnswer.objects.filter(theme__isnull=False).count()
    assert ThemeAnswer.objects.filter(theme_set=theme_set).count() == 120
    for theme in themes:
        assert theme.terms and theme.quote_answer_ids
        quoted = ThemeAnswer.objects.filter(answer_id__in=theme.quote_answer_ids)
        assert {p.theme_id for p in quoted} == {theme.pk}


def test_renames_pins_and_merges_survive_a_recompute_with_more_answers(call_question):
    add_answers(call_question, planted(150))
    theme_set = computed(call_question)
    first, second, third = sorted(listed(theme_set), key=lambda t: t.position)[:3]
    actor = call_question.organizer
    service.rename(theme=first, actor=actor, name="Install pains")
    service.pin(theme=second, actor=actor)
    service.merge(theme=third, into=second, actor=actor)
    add_answers(call_question, planted(30, seed=8), start=1000)
    ThemeSet.objects.filter(pk=theme_set.pk).update(status=ThemeSet.Status.IDLE)
    theme_set = computed(call_question)
    assert theme_set.answers_count == 180
    themes = Theme.objects.filter(theme_set=theme_set)
    assert themes.filter(custom_name="Install pains").count() == 1
    pinned = themes.get(pinned=True)
    merged = themes.get(merged_into__isnull=False)
    assert merged.merged_into == pinned
    assert merged.size == 0
    assert pinned.size == ThemeAnswer.objects.filter(theme=pinned).count()
    # Pinned themes are listed first.
    assert listed(theme_set)[0] == pinned


def test_assign_new_places_later_answers_without_recomputing(call_question):
    add_answers(call_question, planted(100))
    theme_set = computed(call_question)
    labels = sorted(Theme.objects.values_list("pk", "label"))
    add_answers(call_question, planted(10, seed=9), start=500)
    assert service.assign_new(theme_set) == 10
    assert service.assign_new(theme_set) == 0
    theme_set.refresh_from_db()
    assert theme_set.answers_count == 110
    assert sorted(Theme.objects.values_list("pk", "label")) == labels
    assert (
        sum(t.size for t in listed(theme_set))
        == ThemeAnswer.objects.filter(theme__isnull=False).count()
    )


def test_requests_are_debounced(call_question, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        service.request(call_question)
        service.request(call_question)
        add_answers(call_question, ["one more"])
        service.answers_changed(call_question.questionnaire_id)
    assert len(callbacks) == 1
    ThemeSet.objects.update(requested_at=timezone.now() - service.DEBOUNCE)
    with django_capture_on_commit_callbacks() as callbacks:
        service.request(call_question)
    assert len(callbacks) == 1


def test_running_the_task_twice_is_harmless(call_question):
    add_answers(call_question, planted(80))
    theme_set = computed(call_question)
    before = sorted(Theme.objects.values_list("label", "size"))
    service.compute(theme_set.pk)
    assert sorted(Theme.objects.values_list("label", "size")) == before
    assert ThemeAnswer.objects.count() == 80


def test_a_failure_keeps_the_old_themes(call_question, monkeypatch):
    add_answers(call_question, planted(80))
    theme_set = computed(call_question)
    before = sorted(Theme.objects.values_list("pk", "label"))

    def broken(texts, settings):
        raise MemoryError

    monkeypatch.setattr(service.engine, "group", broken)
    service.compute(theme_set.pk)
    theme_set.refresh_from_db()
    assert theme_set.status == ThemeSet.Status.FAILED
    assert theme_set.error == "The themes could not be computed (MemoryError)."
    assert sorted(Theme.objects.values_list("pk", "label")) == before


@pytest.mark.parametrize(
    ("texts", "reason"),
    [
        ([], "No answers to group."),
        (["Only one answer here"], "Too few answers with words to group: 1"),
        (["same words here"] * 5, "All 5 answers with words say the same thing."),
        (["😀🎉", "🔥🔥", "👍"], "Too few answers with words to group: 0"),
    ],
)
def test_odd_answers_give_a_reason_not_an_error(call_question, texts, reason):
    add_answers(call_question, texts)
    theme_set = computed(call_question)
    assert theme_set.status == ThemeSet.Status.IDLE
    assert theme_set.reason == reason
    assert ThemeAnswer.objects.count() == len(texts)


def test_a_50_kb_answer_is_grouped(call_question):
    add_answers(call_question, [*planted(20), "install " * 6400])
    theme_set = computed(call_question)
    assert theme_set.status == ThemeSet.Status.IDLE
    assert theme_set.answers_count == 21


def test_merging_a_theme_with_itself_or_another_question_is_refused(call_question):
    add_answers(call_question, planted(80))
    theme_set = computed(call_question)
    theme, other = listed(theme_set)[:2]
    actor = call_question.organizer
    with pytest.raises(ServiceError, match="A theme cannot be merged with itself"):
        service.merge(theme=theme, into=theme, actor=actor)
    service.merge(theme=other, into=theme, actor=actor)
    with pytest.raises(ServiceError, match="A theme cannot be merged with itself"):
        service.merge(theme=theme, into=other, actor=actor)
    stranger = Theme(theme_set=ThemeSet.objects.create(question=_other_question(call_question)))
    stranger.position, stranger.label = 0, "x"
    stranger.save()
    with pytest.raises(ServiceError, match="same question"):
        service.merge(theme=theme, into=stranger, actor=actor)


def _other_question(question):
    from events.models import Question

    return Question.objects.create(
        questionnaire_id=question.questionnaire_id, kind=Question.Kind.SHORT_TEXT, label="Else?"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 500, "at most 120 characters"),
        ("bad\x00name", "cannot be kept"),
    ],
)
def test_bad_names_are_refused(call_question, name, message):
    add_answers(call_question, planted(60))
    theme = listed(computed(call_question))[0]
    with pytest.raises(ServiceError, match=message):
        service.rename(theme=theme, actor=call_question.organizer, name=name)
    theme.refresh_from_db()
    assert theme.custom_name == ""


def test_an_empty_name_restores_the_label(call_question):
    add_answers(call_question, planted(60))
    theme = listed(computed(call_question))[0]
    service.rename(theme=theme, actor=call_question.organizer, name="Docs")
    service.rename(theme=theme, actor=call_question.organizer, name="   ")
    theme.refresh_from_db()
    assert theme.name == theme.label


def test_only_editors_change_themes(call_question):
    add_answers(call_question, planted(60))
    theme = listed(computed(call_question))[0]
    with pytest.raises(ServiceError):
        service.rename(theme=theme, actor=UserFactory(), name="Mine")
    with pytest.raises(ServiceError):
        service.request(call_question, actor=UserFactory())


def test_edits_follow_their_answers_when_the_words_of_a_theme_changed(call_question, monkeypatch):
    """A recomputation whose themes' words no longer match the old ones (the engine's `match`
    finds no continuation) still carries a name and a pin to the theme that took most of the
    renamed theme's answers."""
    add_answers(call_question, planted(150))
    theme_set = computed(call_question)
    first, second = sorted(listed(theme_set), key=lambda t: t.position)[:2]
    actor = call_question.organizer
    service.rename(theme=first, actor=actor, name="Install pains")
    service.pin(theme=second, actor=actor)
    answers_of_first = set(
        ThemeAnswer.objects.filter(theme=first).values_list("answer_id", flat=True)
    )
    monkeypatch.setattr(service.engine, "match", lambda old, new, **_: {})
    ThemeSet.objects.filter(pk=theme_set.pk).update(status=ThemeSet.Status.IDLE)
    theme_set = computed(call_question)
    renamed = Theme.objects.get(theme_set=theme_set, custom_name="Install pains")
    now_in_it = set(ThemeAnswer.objects.filter(theme=renamed).values_list("answer_id", flat=True))
    assert len(now_in_it & answers_of_first) >= len(answers_of_first) / 2
    assert Theme.objects.filter(theme_set=theme_set, pinned=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_answer_erased_during_a_computation_leaves_the_old_themes_and_computes_again(
    call_question, monkeypatch
):
    """The placements are checked against the answers at commit: a person erased while the
    task grouped their answer makes that run keep nothing (the old themes stand) and ask for
    another, which the next run does without them."""
    answers = add_answers(call_question, planted(80))
    theme_set = computed(call_question)
    before = sorted(Theme.objects.values_list("pk", "label"))
    queued = []
    monkeypatch.setattr(service, "_enqueue", queued.append)
    group = service.engine.group

    def erasing(texts, settings):
        answers[0].response.delete()  # the erasure, while the task works
        return group(texts, settings)

    monkeypatch.setattr(service.engine, "group", erasing)
    assert service.compute(theme_set.pk) == 0
    assert sorted(Theme.objects.values_list("pk", "label")) == before
    theme_set.refresh_from_db()
    assert theme_set.status == ThemeSet.Status.QUEUED and queued == [theme_set.pk]
    monkeypatch.setattr(service.engine, "group", group)
    assert service.compute(theme_set.pk) > 0
    assert ThemeAnswer.objects.filter(theme_set=theme_set).count() == 79
