"""Spam and bad input on the public form: rate limits, the honeypot, size limits, closed
calls, forged answers. Each case gets a clear answer (never a 500) and writes nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events import ratelimit
from events.models import Answer, Notification, Response, Submission
from events.services import open_calls as service

from .conftest import call_url, form_data, in_pool, make_call, questions

pytestmark = pytest.mark.django_db


def nothing_written() -> bool:
    return not (
        Submission.objects.exists()
        or Response.objects.exists()
        or Answer.objects.exists()
        or Notification.objects.exists()
    )


def test_a_flood_from_one_address_is_refused_after_the_limit_without_a_500(call, monkeypatch):
    monkeypatch.setattr(ratelimit, "now", lambda: 1_700_000_000.0)  # all in one minute
    client = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [
        client.post(call_url(call), form_data(call, email=f"bot{i}@example.com")).status_code
        for i in range(1000)
    ]
    assert statuses[:10] == [200] * 10
    assert set(statuses[10:]) == {429}
    assert Submission.objects.count() == 10
    # Another address is not punished for it.
    other = Client(REMOTE_ADDR="198.51.100.1")
    assert other.post(call_url(call), form_data(call, email="me@example.com")).status_code == 200


def test_too_many_confirmation_emails_to_one_address_get_a_429_that_says_why(call):
    for i in range(service.CONFIRMATIONS_PER_HOUR):
        client = Client(REMOTE_ADDR=f"203.0.113.{i}")
        assert client.post(call_url(call), form_data(call, name=f"Ada {i}")).status_code == 200
    response = Client(REMOTE_ADDR="203.0.113.99").post(call_url(call), form_data(call))
    assert response.status_code == 429
    assert b"several confirmation emails" in response.content
    assert Notification.objects.filter(kind="call_confirm").count() == 3
    # The refused submission changed nothing: the last accepted one still waits.
    assert Submission.objects.get().pending["profile"]["name"] == "Ada 2"


def test_a_filled_honeypot_says_check_your_email_but_keeps_and_sends_nothing(call):
    response = Client().post(call_url(call), form_data(call, website="http://spam.example"))
    assert response.status_code == 200
    assert b"Check your email" in response.content
    assert nothing_written()


@pytest.mark.parametrize(
    ("field", "length"),
    [("name", 151), ("affiliation", 201), ("location", 65), ("github_handle", 41), ("email", 255)],
)
def test_an_overlong_profile_field_is_a_form_error_and_nothing_is_kept(call, field, length):
    value = "a" * length if field != "email" else "a" * (length - 12) + "@example.com"
    response = Client().post(call_url(call), form_data(call, **{field: value}))
    assert response.status_code == 400
    assert b"field-error" in response.content
    assert nothing_written()


def test_an_answer_at_the_limit_is_kept_and_one_over_is_refused(call):
    q = questions(call)
    for question, limit in ((q.short, 300), (q.long, 5000)):
        over = Client().post(
            call_url(call), form_data(call, **{f"q{question.pk}": "é" * (limit + 1)})
        )
        assert over.status_code == 400
        assert f"At most {limit} characters".encode() in over.content
        assert ("é" * (limit + 1)).encode() in over.content  # what was typed is kept
        assert nothing_written()
    ok = Client().post(
        call_url(call),
        form_data(call, **{f"q{q.short.pk}": "é" * 300, f"q{q.long.pk}": "é" * 5000}),
    )
    assert ok.status_code == 200


def test_an_oversized_body_is_refused_with_413(call):
    big = "x" * 300_000
    response = Client().post(call_url(call), form_data(call, padding=big))
    assert response.status_code == 413
    assert nothing_written()


def test_a_body_beyond_djangos_upload_limit_is_a_413_not_a_500(call, settings):
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1000)
    client = Client(raise_request_exception=False)
    response = client.post(call_url(call), form_data(call, padding=big))
    assert response.status_code == 413
    assert nothing_written()


def test_unconfirmed_submissions_are_purged_after_seven_days(call):
    Client().post(call_url(call), form_data(call, email="old@example.com"))
    Client().post(call_url(call), form_data(call, email="new@example.com"))
    Submission.objects.filter(email="old@example.com").update(
        pending_at=timezone.now() - timedelta(days=7, minutes=1)
    )
    Submission.objects.filter(email="new@example.com").update(
        pending_at=timezone.now() - timedelta(days=6, hours=23)
    )
    assert service.purge_unconfirmed() == 1
    assert list(Submission.objects.values_list("email", flat=True)) == ["new@example.com"]


def test_the_sweep_drops_an_old_pending_change_but_keeps_the_confirmed_answers(call):
    q = questions(call)
    kept = in_pool(call, "ada@example.com", answers={q.short.pk: "First"}, name="Ada")
    Client().post(call_url(call), form_data(call, name="Mallory", **{f"q{q.short.pk}": "Forged"}))
    Submission.objects.filter(pk=kept.pk).update(pending_at=timezone.now() - timedelta(days=8))
    from events.tasks import purge_open_call_submissions

    purge_open_call_submissions()
    kept.refresh_from_db()
    assert kept.pending is None and kept.name == "Ada" and kept.confirmed_at
    assert Answer.objects.get(response=kept.response).text == "First"


def test_a_fresh_change_to_a_submission_confirmed_long_ago_waits_its_seven_days(call):
    """The pending change is dated on its own: the old confirmed date does not purge it."""
    kept = in_pool(call, "ada@example.com", name="Ada")
    Submission.objects.filter(pk=kept.pk).update(submitted_at=timezone.now() - timedelta(days=30))
    Client().post(call_url(call), form_data(call, name="Ada L."))

    service.purge_unconfirmed()

    kept.refresh_from_db()
    assert kept.pending is not None
    assert (
        Client()
        .post(reverse("events:call_confirm", args=[service.confirm_token(kept)]))
        .status_code
        == 200
    )
    kept.refresh_from_db()
    assert kept.name == "Ada L."


def test_a_question_id_from_another_form_is_refused_and_what_was_typed_is_kept(call, organizer):
    other = make_call(organizer, slug="other-call")
    foreign = questions(other).single
    response = Client().post(call_url(call), form_data(call, **{f"q{foreign.pk}": "1"}))
    assert response.status_code == 400
    assert b"do not belong" in response.content
    assert (
        b"Agents for code review" in response.content
        and b'value="Example Labs"' in response.content
    )
    assert nothing_written()


def test_a_made_up_question_id_is_refused(call):
    response = Client().post(call_url(call), form_data(call, q999999="1"))
    assert response.status_code == 400
    assert nothing_written()


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("single", "3"),
        ("single", "-1"),
        ("single", "abc"),
        ("multiple", ["0", "7"]),
        ("rating", "0"),
        ("rating", "6"),
        ("nps", "11"),
        ("nps", "-1"),
        ("rating", "4.5"),
    ],
)
def test_unknown_choices_and_out_of_range_scores_are_form_errors(call, question, value):
    target = getattr(questions(call), question)
    response = Client().post(call_url(call), form_data(call, **{f"q{target.pk}": value}))
    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="q{target.pk}-error"' in body
    assert "Agents for code review" in body  # the rest of what was typed stays
    assert nothing_written()
