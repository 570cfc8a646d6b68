"""Signing up, applying and cancelling: the rules a developer meets
(events.services.registration)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import (
    Notification,
    Question,
    Registration,
    RegistrationChange,
    Session,
    TermsAcceptance,
)
from events.services import ServiceError
from events.services import questionnaire as engine
from events.services.registration import (
    SignUpInput,
    SignUpRefused,
    accept_terms,
    cancel,
    check_can_sign_up,
    register,
    sign_up,
)
from events.services.review import approve, reject
from events.services.scheduling import update_event
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    ScreeningQuestionFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
    answers_in_words,
    choice_id,
    organizer_of,
)

pytestmark = pytest.mark.django_db

Status = Registration.Status


def fresh(registration: Registration) -> Registration:
    return Registration.objects.get(pk=registration.pk)


def assert_seats_add_up(session) -> None:
    """The seat counter equals the confirmed + offered people, and never exceeds capacity."""
    session.refresh_from_db()
    seated = Registration.objects.filter(session=session, status__in=Registration.SEATED).count()
    assert session.seats_taken == seated
    assert seated <= session.capacity


def snapshot(session) -> tuple:
    """Everything a sign-up could change, to show that a refusal changed nothing."""
    session.refresh_from_db()
    return (
        session.seats_taken,
        list(
            Registration.objects.filter(session=session)
            .order_by("pk")
            .values_list("user_id", "status", "answers", "waitlisted_at", "cancelled_at")
        ),
        RegistrationChange.objects.count(),
        Notification.objects.count(),
        TermsAcceptance.objects.count(),
    )


def history(registration: Registration) -> list[tuple]:
    return list(
        registration.changes.order_by("pk").values_list("from_status", "to_status", "actor_id")
    )


def assert_refused(user, session, message: str) -> None:
    """Refused by the check and by register alike, with the same message, and nothing written."""
    session = Session.objects.select_related("event").get(pk=session.pk)  # as a request sees it
    with pytest.raises(ServiceError, match=message):
        check_can_sign_up(user=user, session=session)
    before = snapshot(session)
    with pytest.raises(ServiceError, match=message):
        register(user=user, session=session)
    assert snapshot(session) == before
    assert not Registration.objects.filter(user=user, session=session).exists()


# Open mode


def test_a_verified_user_gets_a_seat_in_an_open_session(user):
    session = SessionFactory(capacity=2)

    registration = register(user=user, session=session)

    registration = fresh(registration)
    assert registration.status == Status.CONFIRMED
    assert registration.confirmed_at is not None
    assert registration.answers == {}
    session.refresh_from_db()
    assert session.seats_taken == 1
    assert history(registration) == [("", Status.CONFIRMED, user.pk)]
    assert_seats_add_up(session)


def test_a_full_session_waitlists_the_next_person():
    session = SessionFactory(capacity=1)
    first, second = UserFactory(), UserFactory()

    seated = register(user=first, session=session)
    waiting = register(user=second, session=session)

    assert fresh(seated).status == Status.CONFIRMED
    waiting = fresh(waiting)
    assert waiting.status == Status.WAITLISTED
    assert waiting.waitlisted_at is not None
    assert waiting.confirmed_at is None
    assert history(waiting) == [("", Status.WAITLISTED, second.pk)]
    assert_seats_add_up(session)
    assert session.seats_taken == 1


def test_a_full_session_without_a_waitlist_refuses_and_records_nothing():
    session = SessionFactory(capacity=1, waitlist_enabled=False)
    register(user=UserFactory(), session=session)
    latecomer = UserFactory()
    before = snapshot(session)

    with pytest.raises(ServiceError, match="This session is full"):
        register(user=latecomer, session=session)

    assert snapshot(session) == before
    assert not Registration.objects.filter(user=latecomer).exists()


# Every refusal of check_can_sign_up


def test_an_unverified_email_cannot_sign_up():
    assert_refused(UserFactory(verified=False), SessionFactory(), "Verify your email address")


def test_a_draft_event_cannot_be_signed_up_for(user):
    assert_refused(user, SessionFactory(event__status="draft"), "not open for registration")


def test_a_cancelled_event_cannot_be_signed_up_for(user):
    assert_refused(user, SessionFactory(event__status="cancelled"), "This session is cancelled")


def test_a_cancelled_session_cannot_be_signed_up_for(user):
    assert_refused(user, SessionFactory(status="cancelled"), "This session is cancelled")


def test_a_session_that_has_started_cannot_be_signed_up_for(user):
    now = timezone.now()
    session = SessionFactory(
        starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=1)
    )

    assert_refused(user, session, "already started")


def test_a_past_session_cannot_be_signed_up_for(user):
    now = timezone.now()
    session = SessionFactory(
        starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=3, hours=-1)
    )

    assert_refused(user, session, "already started")


def test_an_invitation_only_session_cannot_be_signed_up_for(user):
    assert_refused(user, SessionFactory(event__registration_mode="invitation"), "invitation only")


def test_registration_that_has_not_opened_yet_is_refused(user):
    session = SessionFactory(event__registration_opens_at=timezone.now() + timedelta(days=1))

    assert_refused(user, session, "Registration for this event")


def test_registration_that_has_closed_is_refused(user):
    session = SessionFactory(event__registration_closes_at=timezone.now() - timedelta(minutes=1))

    assert_refused(user, session, "Registration for this event is closed")


def test_registration_inside_its_window_is_accepted(user):
    now = timezone.now()
    session = SessionFactory(
        event__registration_opens_at=now - timedelta(days=1),
        event__registration_closes_at=now + timedelta(days=1),
    )

    assert register(user=user, session=session).status == Status.CONFIRMED


def test_confidential_terms_must_be_accepted_before_signing_up(user):
    session = SessionFactory(event__terms_text="Do not share the demo.", event__terms_version=1)

    assert_refused(user, session, "Accept the confidentiality terms")

    acceptance = accept_terms(user=user, event=session.event, version=1)
    assert (acceptance.user, acceptance.version) == (user, 1)
    check_can_sign_up(user=user, session=session)
    assert register(user=user, session=session).status == Status.CONFIRMED


def test_signing_up_through_the_page_service_names_each_field_that_does_not_do(user):
    """The sign-up page's service checks what the page sent itself (no check handed in by
    the page): an unticked terms box and a missing answer are refused by field, with the
    session read once so the page can be shown again, and nothing is written."""
    session = SessionFactory(
        event__registration_mode="approval",
        event__terms_text="Do not share the demo.",
        event__terms_version=2,
    )
    why = ScreeningQuestionFactory(event=session.event, label="Why?", kind="long_text")
    uses = ScreeningQuestionFactory(
        event=session.event, label="Uses", kind="multiple", choices=["CLI", "API"]
    )
    before = snapshot(session)

    with pytest.raises(SignUpRefused) as refused:
        sign_up(user=user, pk=session.pk, sent=SignUpInput(terms_version="2"))

    assert set(refused.value.errors) == {"accept_terms", f"q{why.pk}", f"q{uses.pk}"}
    assert refused.value.session.pk == session.pk and refused.value.needs_terms
    assert snapshot(session) == before

    sent = SignUpInput(
        terms_version="2",
        accepted_terms=True,
        answers={
            str(why.pk): ["  I build agents "],
            str(uses.pk): [str(choice_id(uses, "CLI")), str(choice_id(uses, "API"))],
        },
    )
    registration = sign_up(user=user, pk=session.pk, sent=sent)
    assert registration.status == Status.APPLIED
    assert answers_in_words(registration) == {
        str(why.pk): "I build agents",
        str(uses.pk): ["CLI", "API"],
    }
    assert TermsAcceptance.objects.filter(user=user, version=2).exists()


def test_a_session_the_person_may_not_see_is_refused_as_if_it_did_not_exist(user):
    draft = SessionFactory(event__status="draft")

    for pk in (draft.pk, 987654):
        with pytest.raises(SignUpRefused) as refused:
            sign_up(user=user, pk=pk, sent=SignUpInput())
        assert refused.value.session is None

    assert not Registration.objects.exists()


def test_accepting_the_terms_twice_keeps_one_record(user):
    event = EventFactory(terms_text="Do not share the demo.", terms_version=1)

    accept_terms(user=user, event=event, version=1)
    accept_terms(user=user, event=event, version=1)

    assert TermsAcceptance.objects.filter(user=user, event=event).count() == 1


def test_accepting_an_outdated_version_of_the_terms_is_refused(user):
    session = SessionFactory(event__terms_text="Version two of the terms.", event__terms_version=2)

    with pytest.raises(ServiceError, match="terms have changed"):
        accept_terms(user=user, event=session.event, version=1)

    assert not TermsAcceptance.objects.filter(user=user).exists()
    assert_refused(user, session, "Accept the confidentiality terms")


def test_accepting_terms_of_an_event_without_terms_is_refused(user):
    with pytest.raises(ServiceError, match="no confidentiality terms"):
        accept_terms(user=user, event=EventFactory(), version=0)

    assert not TermsAcceptance.objects.exists()


def test_a_new_version_of_the_terms_asks_everyone_again(user):
    session = SessionFactory(event__terms_text="Do not share the demo.", event__terms_version=1)
    event = session.event
    accept_terms(user=user, event=event, version=1)
    check_can_sign_up(user=user, session=session)

    event = update_event(
        event=event, actor=organizer_of(event), terms_text="Do not share the demo or slides."
    )

    assert event.terms_version == 2
    assert_refused(user, session, "Accept the confidentiality terms")
    accept_terms(user=user, event=event, version=2)
    assert register(user=user, session=session).status == Status.CONFIRMED


# Signing up again


def test_signing_up_twice_is_refused_and_changes_nothing(user):
    session = SessionFactory(capacity=5)
    register(user=user, session=session)
    before = snapshot(session)

    with pytest.raises(ServiceError, match=r"already on this session \(Confirmed\)"):
        register(user=user, session=session)

    assert snapshot(session) == before
    assert session.seats_taken == 1


def test_signing_up_twice_from_the_waitlist_is_refused_and_changes_nothing(user):
    session = SessionFactory(capacity=1)
    register(user=UserFactory(), session=session)
    register(user=user, session=session)
    before = snapshot(session)

    with pytest.raises(ServiceError, match=r"already on this session \(Waitlisted\)"):
        register(user=user, session=session)

    assert snapshot(session) == before


def test_a_rejected_person_cannot_sign_up_again(user):
    session = SessionFactory(event__registration_mode="approval")
    registration = register(user=user, session=session)
    reject(registration=registration, actor=organizer_of(session.event))
    before = snapshot(session)

    with pytest.raises(ServiceError, match="did not select you"):
        register(user=user, session=session)

    assert snapshot(session) == before
    assert fresh(registration).status == Status.REJECTED


def test_a_person_who_cancelled_can_take_a_free_seat_again(user):
    session = SessionFactory(capacity=2)
    registration = register(user=user, session=session)
    cancel(registration=registration, actor=user)

    again = register(user=user, session=session)

    again = fresh(again)
    assert again.pk == registration.pk  # same row, history kept
    assert again.status == Status.CONFIRMED
    assert again.cancelled_at is None
    assert history(again) == [
        ("", Status.CONFIRMED, user.pk),
        (Status.CONFIRMED, Status.CANCELLED, user.pk),
        (Status.CANCELLED, Status.CONFIRMED, user.pk),
    ]
    assert again.changes.last().note == "Signed up again"
    assert_seats_add_up(session)


def test_a_person_who_cancelled_goes_to_the_back_of_the_queue():
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    quitter, patient = UserFactory(), UserFactory()
    first_place = register(user=quitter, session=session)
    second_place = register(user=patient, session=session)
    cancel(registration=first_place, actor=quitter)

    back = fresh(register(user=quitter, session=session))

    assert back.status == Status.WAITLISTED
    assert back.waitlisted_at > fresh(second_place).waitlisted_at
    cancel(registration=seated, actor=seated.user)
    assert fresh(second_place).status == Status.OFFERED
    assert fresh(back).status == Status.WAITLISTED
    assert_seats_add_up(session)


# Overlaps


def test_overlapping_confirmed_sessions_are_refused_with_a_clear_message(user):
    starts = timezone.now() + timedelta(days=3)
    first = SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=2))
    clashing = SessionFactory(
        starts_at=starts + timedelta(hours=1), ends_at=starts + timedelta(hours=3)
    )
    register(user=user, session=first)
    before = snapshot(clashing)

    with pytest.raises(ServiceError) as refusal:
        register(user=user, session=clashing)

    assert refusal.value.message == (
        f"You already have a confirmed seat at that time: {first.event.title}."
    )
    assert snapshot(clashing) == before
    assert not Registration.objects.filter(user=user, session=clashing).exists()


def test_back_to_back_sessions_do_not_overlap(user):
    starts = timezone.now() + timedelta(days=3)
    first = SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=1))
    next_one = SessionFactory(starts_at=first.ends_at, ends_at=first.ends_at + timedelta(hours=1))
    register(user=user, session=first)

    assert register(user=user, session=next_one).status == Status.CONFIRMED


def test_a_cancelled_seat_does_not_block_a_session_at_the_same_time(user):
    starts = timezone.now() + timedelta(days=3)
    first = SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=1))
    same_time = SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=1))
    cancel(registration=register(user=user, session=first), actor=user)

    assert register(user=user, session=same_time).status == Status.CONFIRMED


# Applications (approval and lottery)


def add_questions(event) -> dict[str, Question]:
    return {
        "what": ScreeningQuestionFactory(
            event=event, position=1, label="What do you build?", kind="short_text"
        ),
        "stack": ScreeningQuestionFactory(
            event=event, position=2, label="Main language", kind="single", choices=["Go", "Rust"]
        ),
        "uses": ScreeningQuestionFactory(
            event=event,
            position=3,
            label="Uses",
            kind="multiple",
            choices=["chat", "code", "agents"],
        ),
        "more": ScreeningQuestionFactory(
            event=event, position=4, label="Anything else?", kind="long_text", required=False
        ),
    }


def good_answers(questions) -> dict[str, object]:
    return {
        str(questions["what"].pk): "  A compiler for looms  ",
        str(questions["stack"].pk): choice_id(questions["stack"], "Rust"),
        str(questions["uses"].pk): [
            choice_id(questions["uses"], "code"),
            choice_id(questions["uses"], "agents"),
        ],
    }


@pytest.mark.parametrize("mode", ["approval", "lottery"])
def test_applying_records_an_application_with_cleaned_answers(user, mode):
    session = SessionFactory(event__registration_mode=mode, capacity=3)
    questions = add_questions(session.event)

    registration = fresh(register(user=user, session=session, answers=good_answers(questions)))

    assert registration.status == Status.APPLIED
    assert answers_in_words(registration) == {
        str(questions["what"].pk): "A compiler for looms",
        str(questions["stack"].pk): "Rust",
        str(questions["uses"].pk): ["code", "agents"],
        str(questions["more"].pk): "",
    }
    assert registration.confirmed_at is None
    assert history(registration) == [("", Status.APPLIED, user.pk)]
    assert_seats_add_up(session)
    assert session.seats_taken == 0


def test_screening_answers_keep_the_words_picked_whatever_happens_to_the_choices(user):
    # Screening answers name a choice by its stable id: changing the list afterwards moves
    # nothing, and a choice no longer offered keeps the words picked.
    session = SessionFactory(event__registration_mode="approval", capacity=3)
    questions = add_questions(session.event)
    registration = register(user=user, session=session, answers=good_answers(questions))

    engine.edit_question(
        question=questions["stack"],
        label="Main language",
        kind="single",
        choices=["Zig", "Go"],
        required=True,
    )
    engine.edit_question(
        question=questions["uses"],
        label="Uses",
        kind="multiple",
        choices=["agents", "x"],
        required=True,
    )

    registration = fresh(registration)
    assert answers_in_words(registration)[str(questions["stack"].pk)] == "Rust"
    assert answers_in_words(registration)[str(questions["uses"].pk)] == ["code", "agents"]


def test_applying_to_a_full_session_still_records_an_application(user):
    session = SessionFactory(event__registration_mode="approval", capacity=1)
    organizer = organizer_of(session.event)

    approve(registration=register(user=UserFactory(), session=session), actor=organizer)

    assert register(user=user, session=session).status == Status.APPLIED
    assert_seats_add_up(session)


def other_events_question():
    return ScreeningQuestionFactory(event=EventFactory(), label="Elsewhere", kind="short_text")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda q: {str(q["what"].pk): "   "}, "what", "needs an answer"),
        (lambda q: {str(q["what"].pk): None}, "what", "needs an answer"),
        (lambda q: {str(q["stack"].pk): ""}, "stack", "needs an answer"),
        (lambda q: {str(q["uses"].pk): []}, "uses", "needs an answer"),
        (lambda q: {str(q["what"].pk): "x" * 301}, "what", "At most 300 characters"),
        (lambda q: {str(q["more"].pk): "y" * 5001}, "more", "At most 5000 characters"),
        (lambda q: {str(q["stack"].pk): "COBOL"}, "stack", "Pick one of the choices"),
        (lambda q: {str(q["uses"].pk): ["code", "mining"]}, "uses", "Pick among the choices"),
    ],
    ids=[
        "blank",
        "missing",
        "no-choice",
        "no-choices",
        "short-too-long",
        "long-too-long",
        "unknown-choice",
        "unknown-choices",
    ],
)
def test_bad_screening_answers_are_refused_and_create_nothing(user, change, field, message):
    session = SessionFactory(event__registration_mode="approval")
    questions = add_questions(session.event)
    answers = {**good_answers(questions), **change(questions)}
    before = snapshot(session)

    with pytest.raises(ValidationError) as refusal:
        register(user=user, session=session, answers=answers)

    errors = refusal.value.message_dict
    assert list(errors) == [f"q{questions[field].pk}"]
    assert message in errors[f"q{questions[field].pk}"][0]
    assert snapshot(session) == before
    assert not Registration.objects.filter(user=user).exists()


def test_every_missing_required_answer_is_reported_at_once(user):
    session = SessionFactory(event__registration_mode="lottery")
    questions = add_questions(session.event)

    with pytest.raises(ValidationError) as refusal:
        register(user=user, session=session, answers={})

    assert set(refusal.value.message_dict) == {
        f"q{questions[name].pk}" for name in ("what", "stack", "uses")
    }
    assert not Registration.objects.filter(user=user).exists()


def test_an_answer_to_another_events_question_is_refused(user):
    session = SessionFactory(event__registration_mode="approval")
    questions = add_questions(session.event)
    forged = other_events_question()
    before = snapshot(session)

    with pytest.raises(ValidationError, match="questions this event does not ask"):
        register(
            user=user,
            session=session,
            answers={**good_answers(questions), str(forged.pk): "sneaky"},
        )

    assert snapshot(session) == before
    assert not Registration.objects.filter(user=user).exists()


def test_an_application_sign_up_reads_the_events_questions_once(user):
    session = SessionFactory(event__registration_mode="approval", capacity=3)
    questions = add_questions(session.event)
    sent = SignUpInput(
        answers={
            pk: value if isinstance(value, list) else [value]
            for pk, value in good_answers(questions).items()
        }
    )

    with CaptureQueriesContext(connection) as ctx:
        registration = sign_up(user=user, pk=session.pk, sent=sent)

    assert registration.status == Status.APPLIED
    question_table = Question._meta.db_table
    reads = [q["sql"] for q in ctx.captured_queries if f'FROM "{question_table}"' in q["sql"]]
    assert len(reads) == 1


def test_open_mode_keeps_no_screening_answers(user):
    session = SessionFactory()
    questions = add_questions(session.event)

    registration = register(user=user, session=session, answers=good_answers(questions))

    assert fresh(registration).answers == {}


# Cancelling


def test_nobody_can_cancel_someone_elses_registration(user):
    session = SessionFactory()
    registration = register(user=user, session=session)
    before = snapshot(session)

    with pytest.raises(ServiceError, match="not yours"):
        cancel(registration=registration, actor=UserFactory())

    assert snapshot(session) == before
    assert fresh(registration).status == Status.CONFIRMED


def test_cancelling_releases_the_seat(user):
    session = SessionFactory(capacity=1)
    registration = register(user=user, session=session)

    cancel(registration=registration, actor=user)

    registration = fresh(registration)
    assert registration.status == Status.CANCELLED
    assert registration.cancelled_at is not None
    session.refresh_from_db()
    assert session.seats_taken == 0
    assert history(registration)[-1] == (Status.CONFIRMED, Status.CANCELLED, user.pk)
    assert register(user=UserFactory(), session=session).status == Status.CONFIRMED
    assert_seats_add_up(session)


def test_an_organizer_cancelling_someone_is_recorded_as_the_actor(user):
    session = SessionFactory()
    organizer = organizer_of(session.event)
    registration = register(user=user, session=session)

    cancel(registration=registration, actor=organizer, by_organizer=True)

    registration = fresh(registration)
    assert registration.status == Status.CANCELLED
    change = registration.changes.last()
    assert (change.from_status, change.to_status, change.actor) == (
        Status.CONFIRMED,
        Status.CANCELLED,
        organizer,
    )
    assert change.note == "Cancelled by an organizer"
    assert_seats_add_up(session)


def test_cancelling_twice_is_refused(user):
    session = SessionFactory()
    registration = register(user=user, session=session)
    cancel(registration=registration, actor=user)
    before = snapshot(session)

    with pytest.raises(ServiceError, match="already closed"):
        cancel(registration=registration, actor=user)

    assert snapshot(session) == before


def test_withdrawing_an_application_frees_no_seat(user):
    session = SessionFactory(event__registration_mode="approval", capacity=2)
    organizer = OrganizerFactory()
    add_to_team(session.event.team, organizer)

    approve(registration=register(user=UserFactory(), session=session), actor=organizer)
    application = register(user=user, session=session)

    cancel(registration=application, actor=user)

    assert fresh(application).status == Status.CANCELLED
    session.refresh_from_db()
    assert session.seats_taken == 1
    assert_seats_add_up(session)
