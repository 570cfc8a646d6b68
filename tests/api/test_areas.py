"""Invitations, surveys, open calls and the panel through the API: the same rules as the
pages, and anonymous surveys stay anonymous."""

import pytest

from events.models import Invitation, Notification, Review, Segment, SurveyRecipient
from events.services import panel
from events.services import surveys as survey_service
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def invite(client, w, body):
    return client.post(f"/api/v1/events/{w.event.pk}/invitations/", body, content_type=JSON)


def test_a_dry_run_previews_who_would_be_invited_and_why_not_and_writes_nothing(world, full):
    before = (Invitation.objects.count(), Notification.objects.count())
    people = [
        {"email": "new@example.com"},
        {"email": "NEW@example.com"},
        {"email": world.attendee.email},
        {"email": "invitee@example.com"},
    ]
    response = invite(full, world, {"people": people, "session": world.session.pk, "dry_run": True})
    assert response.status_code == 200
    body = response.json()
    assert body["would_invite"] == ["new@example.com"] and body["invitations"] == []
    reasons = {(r["line"], r["reason"]) for r in body["refused"]}
    assert reasons == {
        (2, "Listed twice: invited once."),
        (3, "Already registered."),
        (4, "Already invited (pending)."),
    }
    assert (Invitation.objects.count(), Notification.objects.count()) == before


def test_a_bulk_invitation_invites_the_invitable_and_owes_each_their_mail(world, full):
    response = invite(
        full,
        world,
        {
            "people": [{"email": "a@example.com", "name": "A"}, {"email": world.attendee.email}],
            "session": world.session.pk,
            "holds_seat": True,
        },
    )
    assert response.status_code == 201
    [made] = response.json()["invitations"]
    invitation = Invitation.objects.get(pk=made["id"])
    assert invitation.email == "a@example.com" and invitation.seat_held
    assert invitation.created_by == world.owner
    assert Notification.objects.filter(invitation=invitation).exists()
    assert response.json()["refused"][0]["reason"] == "Already registered."


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"people": []}, 400),
        ({"people": [{"email": "not an address"}]}, 400),
        ({"people": [{"email": "b@example.com"}], "expires_in_days": 0}, 400),
        ({"people": [{"email": "b@example.com"}], "holds_seat": True}, 422),
        ({"people": [{"email": "b@example.com"}], "session": 999999}, 404),
    ],
)
def test_a_bad_invitation_list_is_refused_and_nobody_is_invited(world, full, body, status):
    before = Invitation.objects.count()
    response = invite(full, world, body)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert Invitation.objects.count() == before


def test_another_team_s_session_cannot_be_named_in_an_invitation(world, full):
    response = invite(
        full, world, {"people": [{"email": "c@example.com"}], "session": world.other_session.pk}
    )
    assert response.status_code == 404
    assert not Invitation.objects.filter(email="c@example.com").exists()


def test_revoking_and_resending_go_through_the_invitation_service(world, full):
    url = f"/api/v1/invitations/{world.invitation.pk}/"
    old_nonce = world.invitation.nonce
    resent = full.post(url + "resend/", content_type=JSON)
    assert resent.status_code == 200
    world.invitation.refresh_from_db()
    assert world.invitation.nonce != old_nonce
    assert full.post(url + "revoke/", content_type=JSON).json()["status"] == "revoked"
    again = full.post(url + "revoke/", content_type=JSON)
    assert again.status_code == 422 and "pending" in again.json()["detail"]


def answered_survey(world, *, anonymous: bool):
    survey = world.survey
    survey.anonymous = anonymous
    survey.save(update_fields=["anonymous"])
    recipient = SurveyRecipient.objects.create(
        survey=survey, user=world.attendee, session=world.session
    )
    rating, _nps, useful, _change = survey.questionnaire.questions.all()
    survey_service.answer(recipient=recipient, answers={rating.pk: 4, useful.pk: "The demo."})
    return survey, rating, useful


def test_a_named_survey_s_responses_say_who_answered_what(world, full):
    _survey, rating, useful = answered_survey(world, anonymous=False)
    [response] = full.get(f"/api/v1/events/{world.event.pk}/survey/responses/").json()["results"]
    assert response["person"]["email"] == world.attendee.email
    assert response["answers"] == {str(rating.pk): 4, str(useful.pk): "The demo."}


def test_an_anonymous_survey_gives_results_but_never_who_answered(world, full):
    answered_survey(world, anonymous=True)
    responses = full.get(f"/api/v1/events/{world.event.pk}/survey/responses/")
    assert responses.status_code == 422
    assert responses.json()["type"].endswith("/anonymous-survey")
    results = full.get(f"/api/v1/events/{world.event.pk}/survey/results/")
    assert results.status_code == 200
    text = results.content.decode()
    assert world.attendee.email not in text and world.attendee.name not in text
    rating = results.json()["questions"][0]
    assert rating["answered"] == 1 and rating["mean"] == 4.0
    assert "The demo." in results.json()["questions"][2]["texts"]


def test_an_anonymous_survey_s_free_text_comes_in_the_order_of_its_words(world, full):
    """Not the latest first: beside who was seen leaving when, that order names people."""
    survey = world.survey
    survey.anonymous = True
    survey.save(update_fields=["anonymous"])
    _rating, _nps, useful, _change = survey.questionnaire.questions.all()
    answered = ["The venue.", "A demo.", "Zero latency.", "Mostly the people."]
    for words in answered:
        recipient = SurveyRecipient.objects.create(
            survey=survey, user=UserFactory(), session=world.session
        )
        survey_service.answer(recipient=recipient, answers={useful.pk: words})

    results = full.get(f"/api/v1/events/{world.event.pk}/survey/results/").json()

    assert results["questions"][2]["texts"] == sorted(answered)


def test_the_survey_lists_its_questions_in_order(world, full):
    survey = full.get(f"/api/v1/events/{world.event.pk}/survey/").json()
    assert [q["kind"] for q in survey["questions"]] == ["rating", "nps", "long_text", "long_text"]


def test_a_review_through_the_api_is_the_token_creator_s_and_replaces_their_own(world, full):
    url = f"/api/v1/submissions/{world.submission.pk}/review/"
    assert full.post(url, {"score": 3}, content_type=JSON).status_code == 200
    assert full.post(url, {"score": 5, "note": "Keen"}, content_type=JSON).status_code == 200
    review = Review.objects.get(submission=world.submission)
    assert (review.reviewer, review.score, review.note) == (world.owner, 5, "Keen")
    bad = full.post(url, {"score": 9}, content_type=JSON)
    assert bad.status_code == 400 and "score" in bad.json()["errors"]
    assert Review.objects.get(submission=world.submission).score == 5


def test_a_call_s_submissions_and_a_segment_s_members_are_listed(world, full):
    submissions = full.get(f"/api/v1/calls/{world.call.pk}/submissions/").json()["results"]
    assert [s["email"] for s in submissions] == ["pool@example.com"]
    panel.refresh(team=world.team)
    everyone = Segment.objects.create(team=world.team, name="Everyone", definition=[])
    members = full.get(f"/api/v1/segments/{everyone.pk}/members/").json()["results"]
    assert [m["email"] for m in members] == [world.attendee.email]


def test_extending_an_invitation_gives_its_link_more_days_as_the_page_does(world, full):
    url = f"/api/v1/invitations/{world.invitation.pk}/extend/"
    Invitation.objects.filter(pk=world.invitation.pk).update(
        status=Invitation.Status.EXPIRED, seat_held=False
    )
    extended = full.post(url, {"days": 1}, content_type=JSON)
    assert extended.status_code == 200
    body = extended.json()
    assert body["status"] == "pending"
    world.invitation.refresh_from_db()
    assert world.invitation.status == Invitation.Status.PENDING
    assert body["expires_at"] == world.invitation.expires_at.isoformat().replace("+00:00", "Z")
    assert world.invitation.expires_at <= world.session.starts_at  # never past the start


@pytest.mark.parametrize(("body", "status"), [({"days": 0}, 400), ({"days": "soon"}, 400)])
def test_a_bad_extension_is_refused_and_the_invitation_is_unchanged(world, full, body, status):
    before = Invitation.objects.values().get(pk=world.invitation.pk)
    response = full.post(
        f"/api/v1/invitations/{world.invitation.pk}/extend/", body, content_type=JSON
    )
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert Invitation.objects.values().get(pk=world.invitation.pk) == before


def test_a_revoked_invitation_cannot_be_extended(world, full):
    url = f"/api/v1/invitations/{world.invitation.pk}/"
    assert full.post(url + "revoke/", content_type=JSON).status_code == 200
    refused = full.post(url + "extend/", content_type=JSON)
    assert refused.status_code == 422
    assert "pending or expired" in refused.json()["detail"]
    assert Invitation.objects.get(pk=world.invitation.pk).status == Invitation.Status.REVOKED
