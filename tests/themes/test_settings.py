"""The themes' settings form: the fewest and most themes, saved and recomputed; bad bounds
said plainly, with nothing changed."""

import pytest
from django.urls import reverse

from events.models import ThemeSet
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def post(client, question, low, high):
    url = reverse("manage:question_themes_settings", args=[question.pk])
    return client.post(url, {"min_themes": low, "max_themes": high}, follow=True)


def test_saving_the_bounds_queues_a_recomputation(
    client, call_question, django_capture_on_commit_callbacks
):
    client.force_login(call_question.organizer)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, call_question, "4", "20")
    assert "The themes will be computed again in a moment" in response.content.decode()
    theme_set = ThemeSet.objects.get()
    assert (theme_set.min_themes, theme_set.max_themes) == (4, 20)
    assert theme_set.status == ThemeSet.Status.QUEUED
    assert len(callbacks) == 1
    assert 'value="4"' in response.content.decode()


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        ("9", "3", "The fewest themes cannot be more than the most themes."),
        ("1", "5", "The fewest themes must be between 2 and 30."),
        ("2", "31", "The most themes must be between 2 and 30."),
        ("two", "5", "The fewest and most themes must be whole numbers."),
        ("", "5", "The fewest and most themes must be whole numbers."),
        ("9" * 40, "5", "The fewest and most themes must be whole numbers."),
        ("-3", "5", "The fewest and most themes must be whole numbers."),
    ],
)
def test_bad_bounds_are_said_and_change_nothing(client, call_question, low, high, message):
    ThemeSet.objects.create(question=call_question, min_themes=3, max_themes=7)
    client.force_login(call_question.organizer)
    response = post(client, call_question, low, high)
    assert response.status_code == 200
    assert message in response.content.decode()
    theme_set = ThemeSet.objects.get()
    assert (theme_set.min_themes, theme_set.max_themes, theme_set.status) == (3, 7, "idle")


def test_strangers_get_a_404_and_change_nothing(client, call_question):
    client.force_login(UserFactory())
    url = reverse("manage:question_themes_settings", args=[call_question.pk])
    assert client.post(url, {"min_themes": "4", "max_themes": "5"}).status_code == 404
    assert not ThemeSet.objects.exists()
