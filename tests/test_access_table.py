"""Who may open what: every organizer and attendee URL as one table.

Each row is (URL name, method, args builder, POST data builder, access family). A family says
what each of the four roles gets:

    anonymous       -> redirect to the login page (login-required views)
    other user      -> 404 (not an organizer, not the person whose registration it is)
    other organizer -> 404 (organizes another event only)
    owner           -> 200 for a GET; for a POST, the view is reached (200, 302 or 400)

and a POST by anyone but the owner must change nothing. Token URLs (invitation, calendar
feed, check-in QR) are covered by the tests at the end.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from events.invite_parsing import Row
from events.models import (
    Event,
    Invitation,
    Notification,
    OpenCall,
    Question,
    Registration,
    Session,
    Submission,
    Survey,
    SurveyRecipient,
)
from events.services import invitations as invitation_service
from events.services import open_calls as call_service
from events.services import registration as registration_service
from events.services import surveys as survey_service
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    ScreeningQuestionFactory,
    SessionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LOGIN = "login"  # a redirect to reverse("account_login")
OK = "ok"  # 200 for a GET; 200, 302 or 400 for a POST (the view itself answered)
ROLES = ("anonymous", "other_user", "other_organizer", "owner")

# Families: the expected answer of each role.
MANAGE = {"anonymous": LOGIN, "other_user": 404, "other_organizer": 404, "owner": OK}
# Organizer pages of no particular event: any organizer gets their own.
MANAGE_ANY = {"anonymous": LOGIN, "other_user": 404, "other_organizer": OK, "owner": OK}
# Pages of one registration, for the person whose registration it is.
OWN = {"anonymous": LOGIN, "other_user": 404, "other_organizer": 404, "owner": OK}
# Pages about the logged-in person themselves: everyone logged in gets their own.
SELF = {"anonymous": LOGIN, "other_user": OK, "other_organizer": OK, "owner": OK}
# Public pages of a published public event.
PUBLIC = {"anonymous": OK, "other_user": OK, "other_organizer": OK, "owner": OK}


def build_world() -> SimpleNamespace:
    owner = OrganizerFactory()
    event = EventFactory(organizer=owner)
    co_organizer = UserFactory()
    event.organizers.add(co_organizer)
    session = SessionFactory(event=event)
    attendee = UserFactory()
    registration = registration_service.register(user=attendee, session=session)
    assert registration.status == Registration.Status.CONFIRMED
    question = ScreeningQuestionFactory(event=event, label="Why this session?")
    [invitation] = invitation_service.create_batch(
        event=event,
        session=session,
        rows=[Row(line=1, email="invitee@example.com")],
        actor=owner,
    )
    notification = Notification.objects.filter(session=session).order_by("pk").first()
    assert notification is not None
    survey = survey_service.create_survey(event=event, actor=owner)
    survey_question = survey.questionnaire.questions.last()
    recipient = SurveyRecipient.objects.create(survey=survey, user=attendee, session=session)
    call = call_service.create_call(organizer=owner, title="Open call", slug="open-call")
    call_service.set_status(call=call, actor=owner, published=True)
    submission = call_service.submit(
        call=call, email="pool@example.com", profile={"name": "Pool"}, answers={}
    ).submission
    call_service.confirm(submission=submission, nonce=submission.nonce)

    other_organizer = OrganizerFactory()
    other_event = EventFactory(organizer=other_organizer)
    other_session = SessionFactory(event=other_event)
    other_registration = registration_service.register(user=UserFactory(), session=other_session)
    return SimpleNamespace(
        owner=owner,
        event=event,
        co_organizer=co_organizer,
        session=session,
        attendee=attendee,
        registration=registration,
        question=question,
        invitation=invitation,
        notification=notification,
        survey=survey,
        survey_question=survey_question,
        recipient=recipient,
        call=call,
        submission=Submission.objects.get(pk=submission.pk),
        other_user=UserFactory(),
        other_organizer=other_organizer,
        other_event=other_event,
        other_session=other_session,
        other_registration=other_registration,
    )


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    args: Callable[[SimpleNamespace], list]
    family: dict[str, Any]
    owner: str = "organizer"  # who the owner is: "organizer" of the event, or "attendee"
    data: Callable[[SimpleNamespace], dict] = lambda w: {}

    def __str__(self) -> str:
        return f"{self.name}-{self.method}"


def no_args(w):
    return []


def event_pk(w):
    return [w.event.pk]


def session_pk(w):
    return [w.session.pk]


def registration_pk(w):
    return [w.registration.pk]


CASES = [
    # Organizer pages (namespace "manage").
    Case("manage:dashboard", "GET", no_args, MANAGE_ANY),
    Case("manage:event_create", "GET", no_args, MANAGE_ANY),
    Case("manage:event", "GET", event_pk, MANAGE),
    Case("manage:event_edit", "GET", event_pk, MANAGE),
    Case("manage:event_edit", "POST", event_pk, MANAGE, data=lambda w: {"title": "Hijacked"}),
    Case("manage:event_publish", "POST", event_pk, MANAGE),
    Case("manage:event_unpublish", "POST", event_pk, MANAGE),
    Case("manage:event_cancel", "GET", event_pk, MANAGE),
    Case("manage:event_cancel", "POST", event_pk, MANAGE),
    Case(
        "manage:organizer_add",
        "POST",
        event_pk,
        MANAGE,
        data=lambda w: {"email": w.other_user.email},
    ),
    Case("manage:organizer_remove", "POST", lambda w: [w.event.pk, w.co_organizer.pk], MANAGE),
    # The event's screening questions, in the question editor every questionnaire shares.
    Case(
        "manage:question_new",
        "POST",
        lambda w: [w.event.screening_id],
        MANAGE,
        data=lambda w: {"label": "Injected?", "kind": "short_text"},
    ),
    Case("manage:question_edit", "GET", lambda w: [w.question.pk], MANAGE),
    Case(
        "manage:question_edit",
        "POST",
        lambda w: [w.question.pk],
        MANAGE,
        data=lambda w: {"label": "Hijacked", "kind": "short_text"},
    ),
    Case(
        "manage:question_move",
        "POST",
        lambda w: [w.question.pk],
        MANAGE,
        data=lambda w: {"direction": "up"},
    ),
    Case("manage:question_delete", "POST", lambda w: [w.question.pk], MANAGE),
    Case("manage:session_create", "GET", event_pk, MANAGE),
    Case("manage:session_create", "POST", event_pk, MANAGE),
    Case("manage:session_edit", "GET", session_pk, MANAGE),
    Case("manage:session_edit", "POST", session_pk, MANAGE, data=lambda w: {"capacity": "1"}),
    Case("manage:session_cancel", "GET", session_pk, MANAGE),
    Case("manage:session_cancel", "POST", session_pk, MANAGE),
    Case("manage:registrations", "GET", session_pk, MANAGE),
    Case(
        "manage:registrations_action",
        "POST",
        session_pk,
        MANAGE,
        data=lambda w: {"action": "move_in", "ids": [w.registration.pk]},
    ),
    Case("manage:registrations_csv", "GET", session_pk, MANAGE),
    Case("manage:lottery_draw", "POST", session_pk, MANAGE),
    Case("manage:registration", "GET", registration_pk, MANAGE),
    Case("manage:session_messages", "GET", session_pk, MANAGE),
    Case("manage:message_resend", "POST", lambda w: [w.notification.pk], MANAGE),
    Case("manage:invitations", "GET", event_pk, MANAGE),
    Case("manage:invite", "GET", event_pk, MANAGE),
    Case("manage:invite", "POST", event_pk, MANAGE, data=lambda w: {"pasted": "x@example.com"}),
    Case("manage:invite_confirm", "POST", event_pk, MANAGE),
    Case(
        "manage:invitation_action",
        "POST",
        lambda w: [w.invitation.pk, "revoke"],
        MANAGE,
    ),
    Case(
        "manage:invitation_action",
        "POST",
        lambda w: [w.invitation.pk, "extend"],
        MANAGE,
        data=lambda w: {"days": "30"},
    ),
    Case("manage:invitation_action", "POST", lambda w: [w.invitation.pk, "resend"], MANAGE),
    Case("manage:checkin", "GET", session_pk, MANAGE),
    Case("manage:checkin_counts", "GET", session_pk, MANAGE),
    Case("manage:walk_in", "POST", session_pk, MANAGE, data=lambda w: {"email": "w@example.com"}),
    Case("manage:check_in", "POST", registration_pk, MANAGE),
    Case("manage:undo_check_in", "POST", registration_pk, MANAGE),
    Case("manage:correct", "POST", registration_pk, MANAGE, data=lambda w: {"attended": "0"}),
    Case("manage:attendance", "GET", session_pk, MANAGE),
    Case("manage:attendance_csv", "GET", session_pk, MANAGE),
    Case("manage:event_attendance", "GET", event_pk, MANAGE),
    Case("manage:event_attendance_csv", "GET", event_pk, MANAGE),
    Case("manage:survey", "GET", event_pk, MANAGE),
    Case("manage:survey_create", "POST", event_pk, MANAGE),
    Case(
        "manage:survey_settings",
        "POST",
        event_pk,
        MANAGE,
        data=lambda w: {
            "send_after_hours": "1",
            "audience": "confirmed",
            "reminder_after_days": "0",
            "closes_at": "2030-01-01T10:00",
        },
    ),
    Case("manage:survey_sending", "POST", event_pk, MANAGE, data=lambda w: {"action": "start"}),
    Case("manage:survey_preview", "GET", event_pk, MANAGE),
    Case("manage:survey_results", "GET", event_pk, MANAGE),
    Case("manage:survey_csv", "GET", event_pk, MANAGE),
    Case("manage:survey_pending", "GET", event_pk, MANAGE),
    Case("manage:survey_resend", "POST", lambda w: [w.recipient.pk], MANAGE),
    Case(
        "manage:question_new",
        "POST",
        lambda w: [w.survey.questionnaire_id],
        MANAGE,
        data=lambda w: {"label": "Injected?", "kind": "short_text"},
    ),
    Case("manage:question_edit", "GET", lambda w: [w.survey_question.pk], MANAGE),
    Case(
        "manage:question_edit",
        "POST",
        lambda w: [w.survey_question.pk],
        MANAGE,
        data=lambda w: {"label": "Hijacked", "kind": "short_text"},
    ),
    Case(
        "manage:question_move",
        "POST",
        lambda w: [w.survey_question.pk],
        MANAGE,
        data=lambda w: {"direction": "up"},
    ),
    Case("manage:question_delete", "POST", lambda w: [w.survey_question.pk], MANAGE),
    Case("manage:calls", "GET", no_args, MANAGE_ANY),
    Case("manage:call_create", "GET", no_args, MANAGE_ANY),
    Case("manage:call", "GET", lambda w: [w.call.pk], MANAGE),
    Case("manage:call_edit", "GET", lambda w: [w.call.pk], MANAGE),
    Case(
        "manage:call_edit",
        "POST",
        lambda w: [w.call.pk],
        MANAGE,
        data=lambda w: {"title": "Hijacked", "slug": "hijacked"},
    ),
    Case(
        "manage:call_status",
        "POST",
        lambda w: [w.call.pk],
        MANAGE,
        data=lambda w: {"action": "unpublish"},
    ),
    Case(
        "manage:call_organizer_add",
        "POST",
        lambda w: [w.call.pk],
        MANAGE,
        data=lambda w: {"email": w.other_user.email},
    ),
    Case("manage:call_preview", "GET", lambda w: [w.call.pk], MANAGE),
    Case("manage:pool", "GET", lambda w: [w.call.pk], MANAGE),
    Case(
        "manage:pool_action",
        "POST",
        lambda w: [w.call.pk],
        MANAGE,
        data=lambda w: {"action": "tag", "scope": "all", "tag": "hijacked"},
    ),
    Case("manage:pool_csv", "GET", lambda w: [w.call.pk], MANAGE),
    Case("manage:pool_results", "GET", lambda w: [w.call.pk], MANAGE),
    Case("manage:submission", "GET", lambda w: [w.submission.pk], MANAGE),
    Case(
        "manage:submission_review",
        "POST",
        lambda w: [w.submission.pk],
        MANAGE,
        data=lambda w: {"score": "5", "note": "forged"},
    ),
    Case(
        "manage:submission_tags",
        "POST",
        lambda w: [w.submission.pk],
        MANAGE,
        data=lambda w: {"tags": "hijacked"},
    ),
    Case("events:call", "GET", lambda w: [w.call.slug], PUBLIC),
    # Attendee pages (namespace "events").
    Case("events:list", "GET", no_args, PUBLIC),
    Case("events:detail", "GET", event_pk, PUBLIC),
    Case("events:event_feed", "GET", event_pk, PUBLIC),
    Case("events:register", "GET", session_pk, SELF, owner="attendee"),
    Case("events:my_sessions", "GET", no_args, SELF, owner="attendee"),
    Case("events:cancel", "GET", registration_pk, OWN, owner="attendee"),
    Case("events:cancel", "POST", registration_pk, OWN, owner="attendee"),
    Case("events:offer", "GET", registration_pk, OWN, owner="attendee"),
    Case(
        "events:offer",
        "POST",
        registration_pk,
        OWN,
        owner="attendee",
        data=lambda w: {"action": "decline"},
    ),
    Case("events:invite_ics", "GET", registration_pk, OWN, owner="attendee"),
    Case("events:reset_feed_token", "POST", no_args, SELF, owner="attendee"),
    # Account pages: each person's own.
    Case("accounts:profile", "GET", no_args, SELF, owner="attendee"),
    Case("accounts:export", "GET", no_args, SELF, owner="attendee"),
    Case("accounts:delete", "GET", no_args, SELF, owner="attendee"),
]


def snapshot(w: SimpleNamespace) -> dict:
    """Everything a POST of someone other than the owner might wrongly change."""

    def rows(model):
        return list(model.objects.order_by("pk").values())

    return {
        "events": rows(Event),
        "organizers": sorted(Event.organizers.through.objects.values_list("event_id", "user_id")),
        "sessions": rows(Session),
        "registrations": rows(Registration),
        "questions": rows(Question),
        "invitations": rows(Invitation),
        "notifications": rows(Notification),
        "surveys": rows(Survey),
        "survey_questions": rows(Question),
        "survey_recipients": rows(SurveyRecipient),
        "calls": rows(OpenCall),
        "call_organizers": sorted(
            OpenCall.organizers.through.objects.values_list("opencall_id", "user_id")
        ),
        "submissions": rows(Submission),
        "reviews": rows(Submission.reviews.rel.related_model),
        "tags": sorted(Submission.tags.through.objects.values_list("submission_id", "pooltag_id")),
        "owners": list(
            User.objects.filter(pk__in=[w.owner.pk, w.attendee.pk, w.co_organizer.pk])
            .order_by("pk")
            .values("pk", "calendar_token", "is_active", "email")
        ),
    }


def client_as(w: SimpleNamespace, role: str, case: Case) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    if role == "owner":
        user = w.owner if case.owner == "organizer" else w.attendee
    else:
        user = getattr(w, role)
    client.force_login(user)
    return client


def check_status(response, expected, method: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 302, response.status_code
        assert urlsplit(response["Location"]).path == reverse("account_login")
    elif expected == OK:
        allowed = {200} if method == "GET" else {200, 302, 400}
        assert response.status_code in allowed, response.status_code
        if response.status_code == 302:
            assert urlsplit(response["Location"]).path != reverse("account_login")
    else:
        assert response.status_code == expected, response.status_code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_access(case: Case, role: str) -> None:
    w = build_world()
    client = client_as(w, role, case)
    url = reverse(case.name, args=case.args(w))
    before = snapshot(w)
    response = client.get(url) if case.method == "GET" else client.post(url, case.data(w))
    check_status(response, case.family[role], case.method)
    if case.method == "POST" and role != "owner":
        assert snapshot(w) == before, f"{role} changed something through {case}"


def test_table_covers_every_manage_and_attendee_url() -> None:
    from events import urls, urls_manage

    names = {f"manage:{p.name}" for p in urls_manage.urlpatterns}
    names |= {f"events:{p.name}" for p in urls.urlpatterns}
    tokens = {
        "events:invitation",
        "events:user_feed",
        "events:checkin_qr",
        "events:survey",
        "events:survey_thanks",
        "events:call_confirm",
        "events:call_withdraw",
    }
    assert names - tokens <= {case.name for case in CASES}


# Token URLs ---------------------------------------------------------------------------------


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_forged_invitation_token_is_404_and_declines_nothing() -> None:
    w = build_world()
    token = invitation_service.token_for(w.invitation)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    before = snapshot(w)
    for client in (Client(), logged_in(w.other_user), logged_in(w.owner)):
        url = reverse("events:invitation", args=[forged])
        assert client.get(url).status_code == 404
        assert client.post(url, {"action": "decline"}).status_code == 404
        bogus = reverse("events:invitation", args=["not-a-token"])
        assert client.post(bogus, {"action": "decline"}).status_code == 404
    assert snapshot(w) == before


def test_invitation_token_cannot_be_accepted_by_someone_else() -> None:
    w = build_world()
    url = reverse("events:invitation", args=[invitation_service.token_for(w.invitation)])
    assert Client().get(url).status_code == 200
    before = snapshot(w)
    # A stranger holding the link is not the invited person: no seat for them.
    response = logged_in(w.other_user).post(url, {"action": "accept"})
    assert response.status_code in {400, 302}
    assert not Registration.objects.filter(user=w.other_user).exists()
    assert snapshot(w) == before
    # Anonymous accept goes to login first; nothing changes.
    response = Client().post(url, {"action": "accept"})
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("account_login")
    assert snapshot(w) == before


def test_user_feed_token_shows_only_its_owners_sessions() -> None:
    w = build_world()
    w.attendee.refresh_from_db()
    w.other_user.refresh_from_db()
    mine = Client().get(reverse("events:user_feed", args=[w.attendee.calendar_token]))
    assert mine.status_code == 200
    assert w.event.title.encode() in mine.content
    theirs = Client().get(reverse("events:user_feed", args=[w.other_user.calendar_token]))
    assert theirs.status_code == 200
    assert w.event.title.encode() not in theirs.content
    forged = Client().get(reverse("events:user_feed", args=["0" * 43]))
    assert forged.status_code == 404


def test_user_feed_old_token_dies_on_reset() -> None:
    w = build_world()
    w.attendee.refresh_from_db()
    old = w.attendee.calendar_token
    assert logged_in(w.attendee).post(reverse("events:reset_feed_token")).status_code == 302
    assert Client().get(reverse("events:user_feed", args=[old])).status_code == 404


def checked_in(registration: Registration) -> bool:
    registration.refresh_from_db()
    return registration.checked_in_at is not None


@pytest.mark.parametrize("role", ["anonymous", "other_user", "attendee", "other_organizer"])
def test_checkin_token_acts_only_for_an_organizer_of_its_event(role: str) -> None:
    w = build_world()
    url = reverse("events:checkin_qr", args=[w.registration.checkin_token])
    client = Client() if role == "anonymous" else logged_in(getattr(w, role))
    before = snapshot(w)
    response = client.get(url)
    if role == "anonymous":
        assert response.status_code == 200  # "log in to scan" page, whatever the token
    else:
        assert response.status_code == 404
    assert not checked_in(w.registration)
    assert snapshot(w) == before


def test_checkin_token_of_another_event_does_nothing_for_this_events_organizer() -> None:
    w = build_world()
    before = snapshot(w)
    url = reverse("events:checkin_qr", args=[w.other_registration.checkin_token])
    assert logged_in(w.owner).get(url).status_code == 404
    assert not checked_in(w.other_registration)
    forged = reverse("events:checkin_qr", args=["f" * 43])
    assert logged_in(w.owner).get(forged).status_code == 404
    assert snapshot(w) == before


def test_checkin_token_opens_for_the_events_organizer() -> None:
    w = build_world()
    url = reverse("events:checkin_qr", args=[w.registration.checkin_token])
    assert logged_in(w.owner).get(url).status_code == 200
