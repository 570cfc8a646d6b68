"""Double opt-in: a submission joins the pool only from its mailbox; submitting again
replaces it (after confirmation); links never act on GET; withdrawal removes the person."""

from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Answer, Notification, PoolTag, Response, Review, Submission
from events.outbox.rendering import build
from events.services import open_calls as service
from tests.factories import UserFactory

from .conftest import call_url, form_data, in_pool, questions

pytestmark = pytest.mark.django_db


def confirm_url(submission: Submission) -> str:
    return reverse("events:call_confirm", args=[service.confirm_token(submission)])


def post(call, **overrides):
    return Client().post(call_url(call), form_data(call, **overrides))


def test_submitting_again_after_confirming_replaces_the_answers_once_confirmed(call):
    q = questions(call)
    post(call, **{f"q{q.short.pk}": "First"})
    first = Submission.objects.get()
    assert Client().post(confirm_url(first)).status_code == 200
    post(call, name="Ada L.", **{f"q{q.short.pk}": "Second"})
    second = Submission.objects.get()
    assert Client().post(confirm_url(second)).status_code == 200
    second.refresh_from_db()
    assert Submission.objects.count() == 1 and Response.objects.count() == 1
    assert second.name == "Ada L."
    assert Answer.objects.get(question=q.short).text == "Second"


def test_someone_else_using_your_email_changes_nothing_until_your_mailbox_confirms(call):
    q = questions(call)
    mine = in_pool(call, "ada@example.com", answers={q.short.pk: "Mine"}, name="Ada")
    assert post(call, name="Mallory", **{f"q{q.short.pk}": "Forged"}).status_code == 200
    mine.refresh_from_db()
    assert mine.name == "Ada" and mine.confirmed_at
    assert Answer.objects.get(question=q.short).text == "Mine"
    # The pool still shows Ada's answers.
    assert service.summary(mine)[0] == ("Name", "Ada")


def test_someone_else_using_your_email_does_not_move_your_submitted_date(call, org):
    """The pool lists the most recent first: an unconfirmed re-submission must not lift
    (or date) anyone, or a stranger could reorder the pool with other people's addresses."""
    ada = in_pool(call, "ada@example.com", name="Ada")
    grace = in_pool(call, "grace@example.com", name="Grace")
    ten_days_ago = timezone.now() - timedelta(days=10)
    Submission.objects.filter(pk=ada.pk).update(submitted_at=ten_days_ago)
    Submission.objects.filter(pk=grace.pk).update(submitted_at=ten_days_ago + timedelta(days=1))

    assert post(call, email="ada@example.com", name="Mallory").status_code == 200

    ada.refresh_from_db()
    assert ada.pending is not None
    assert ada.submitted_at == ten_days_ago
    page = org.get(reverse("manage:pool", args=[call.pk])).content.decode()
    assert page.index("grace@example.com") < page.index("ada@example.com")


def test_a_confirmed_new_submission_is_dated_from_when_it_was_sent(call):
    ada = in_pool(call, "ada@example.com", name="Ada")
    ten_days_ago = timezone.now() - timedelta(days=10)
    Submission.objects.filter(pk=ada.pk).update(submitted_at=ten_days_ago)
    before = timezone.now()
    post(call, email="ada@example.com", name="Ada L.")
    sent = timezone.now()
    ada.refresh_from_db()

    assert Client().post(confirm_url(ada)).status_code == 200

    ada.refresh_from_db()
    assert ada.name == "Ada L." and ada.pending is None
    assert before <= ada.submitted_at <= sent


def test_an_older_confirmation_link_stops_working_after_a_newer_one_is_sent(call):
    post(call, name="Typo")
    old_link = confirm_url(Submission.objects.get())
    post(call, name="Ada")
    response = Client().post(old_link)
    assert response.status_code == 409
    assert b"earlier submission" in response.content
    assert Submission.objects.get().confirmed_at is None
    assert Client().post(confirm_url(Submission.objects.get())).status_code == 200
    assert Submission.objects.get().name == "Ada"


def test_opening_the_confirmation_link_changes_nothing(call):
    post(call)
    link = confirm_url(Submission.objects.get())
    page = Client().get(link)
    assert page.status_code == 200 and b"Confirm" in page.content
    assert Submission.objects.get().confirmed_at is None
    assert not Response.objects.exists()


def test_a_used_confirmation_link_says_it_is_already_confirmed(call):
    post(call)
    link = confirm_url(Submission.objects.get())
    Client().post(link)
    again = Client().post(link)
    assert again.status_code == 409 and b"already confirmed" in again.content


def test_a_logged_in_person_with_that_verified_email_is_confirmed_at_once(call, client_for):
    ada = UserFactory(email="ada@example.com")
    response = client_for(ada).post(call_url(call), form_data(call))
    assert response.status_code == 200
    submission = Submission.objects.get()
    assert submission.confirmed_at and submission.user == ada
    assert not Notification.objects.filter(kind="call_confirm").exists()
    assert Notification.objects.filter(kind="call_received").count() == 1


def test_a_logged_in_person_with_an_unverified_email_still_confirms_by_mail(call, client_for):
    ada = UserFactory(email="ada@example.com", verified=False)
    client_for(ada).post(call_url(call), form_data(call))
    assert Submission.objects.get().confirmed_at is None
    assert Notification.objects.filter(kind="call_confirm").count() == 1


def test_a_logged_in_person_finds_their_profile_prefilled(call, client_for):
    ada = UserFactory(
        email="ada@example.com",
        display_name="Ada Lovelace",
        affiliation="Analytical Engines",
        github_handle="adal",
        role="researcher",
    )
    body = client_for(ada).get(call_url(call)).content.decode()
    assert 'value="ada@example.com"' in body
    assert 'value="Ada Lovelace"' in body
    assert 'value="Analytical Engines"' in body
    assert 'value="adal"' in body
    researcher = body.split('value="researcher"', 1)[1].split(">", 1)[0]
    assert "checked" in researcher


def test_withdrawing_shows_a_page_then_removes_the_person_and_everything_about_them(
    call, organizer, client_for
):
    q = questions(call)
    ada = in_pool(call, "ada@example.com", answers={q.short.pk: "Hi"})
    in_pool(call, "grace@example.com")
    service.set_tags(submission=ada, actor=organizer, names=["shortlist"])
    service.review(submission=ada, reviewer=organizer, score=5)
    link = reverse("events:call_withdraw", args=[service.withdraw_token(ada)])
    page = Client().get(link)
    assert page.status_code == 200
    assert Submission.objects.filter(pk=ada.pk).exists()
    done = Client().post(link)
    assert done.status_code == 200
    assert not Submission.objects.filter(email="ada@example.com").exists()
    assert not Response.objects.filter(pk=ada.response_id).exists()
    assert not Review.objects.exists()
    assert not Submission.tags.through.objects.exists()
    assert PoolTag.objects.count() == 1  # the call's tag list stays for the others
    pool = client_for(organizer).get(reverse("manage:pool", args=[call.pk])).content.decode()
    assert "ada@example.com" not in pool and "grace@example.com" in pool
    assert Client().post(link).status_code == 404  # a second click finds nothing


def test_the_received_email_says_what_was_received_and_how_to_withdraw(call):
    q = questions(call)
    in_pool(
        call,
        "ada@example.com",
        answers={q.single.pk: 1, q.multiple.pk: [0, 2], q.rating.pk: 4, q.long.pk: "Agents"},
        name="Ada",
        join_demo=True,
    )
    notification = Notification.objects.get(kind="call_received")
    text = build(notification).body
    for line in (
        "Name: Ada",
        "Use: RAG",
        "Stack: PyTorch; MLX",
        "Docs: 4",
        "Anything else: Agents",
    ):
        assert line in text
    assert "Would join: a prototype demo" in text
    assert "/call-withdraw/" in text


@pytest.mark.parametrize("which", ["confirm", "withdraw"])
def test_tampered_and_expired_links_show_a_404_page(call, which, monkeypatch):
    post(call)
    submission = Submission.objects.get()
    make = service.confirm_token if which == "confirm" else service.withdraw_token
    max_age = service.CONFIRM_MAX_AGE if which == "confirm" else service.WITHDRAW_MAX_AGE
    token = make(submission)
    name = f"events:call_{which}"
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for method in ("get", "post"):
        response = getattr(Client(), method)(reverse(name, args=[tampered]))
        assert response.status_code == 404
        assert b"<html" in response.content
    signed_at = (timezone.now() - max_age - timedelta(minutes=1)).timestamp()
    encode = signing.b62_encode
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: encode(int(signed_at)))
    expired = make(submission)
    monkeypatch.undo()
    assert Client().post(reverse(name, args=[expired])).status_code == 404
    assert Submission.objects.get().confirmed_at is None
