"""Issue #18, the services' side: a refusal says why in the reader's language. Each service is
called for real with real bad input under French, and the same call in English still says
what it always said; the choices' labels and the team roles' help read in French too."""

import zoneinfo
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from events.invite_parsing import parse_pasted
from events.models import Event, Membership, Registration, Session, Team
from events.models.team import ROLE_HELP, Role
from events.services import ServiceError, scheduling, segments, surveys, teams
from events.services import questionnaire as engine
from events.services.registration import register
from events.services.review import approve
from tests.factories import (
    EventFactory,
    SessionFactory,
    SurveyFactory,
    TeamFactory,
    UserFactory,
    in_days,
)
from tests.surveys.conftest import answer, end, field, questions_of, seat, survey_for

pytestmark = pytest.mark.django_db

NNBSP, NBSP = "\u202f", "\u00a0"


def refusal(call, language: str, **kwargs) -> str:
    """What the service says when it refuses, with `language` active."""
    with translation.override(language), pytest.raises(ServiceError) as refused:
        call(**kwargs)
    return refused.value.message


def test_a_full_session_says_so_in_french_and_in_english():
    session = SessionFactory(capacity=1, waitlist_enabled=False)
    register(user=UserFactory(), session=session)
    late = UserFactory()

    said = refusal(register, "fr", user=late, session=session)

    assert said == "Cette session est complète."
    assert refusal(register, "en", user=late, session=session) == "This session is full."
    assert not Registration.objects.filter(user=late).exists()
    session.refresh_from_db()
    assert session.seats_taken == 1


def test_a_closed_or_not_yet_open_registration_says_when_in_french():
    closed = SessionFactory(event=EventFactory(registration_closes_at=in_days(-1)))
    person = UserFactory()
    assert refusal(register, "fr", user=person, session=closed) == (
        "Les inscriptions à cet événement sont closes."
    )
    assert refusal(register, "en", user=person, session=closed) == (
        "Registration for this event is closed."
    )

    opens = timezone.now().replace(microsecond=0) + timedelta(days=3)
    later = SessionFactory(event=EventFactory(registration_opens_at=opens))
    with timezone.override("Europe/Paris"):
        french = refusal(register, "fr", user=person, session=later)
        english = refusal(register, "en", user=person, session=later)
    there = timezone.localtime(opens, zoneinfo.ZoneInfo("Europe/Paris"))
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"]
    months += ["septembre", "octobre", "novembre", "décembre"]
    # The day and time in French words and formats: "… le mardi 8 décembre 2026 à 15 h 00 CET."
    assert french.startswith("Les inscriptions à cet événement ouvrent le ")
    assert f"{there.day} {months[there.month - 1]} {there.year}" in french
    assert f" à {there.hour} h {there.minute:02d} {there.tzname()}." in french.replace(NBSP, " ")
    assert english == (f"Registration for this event opens on {there:%a %-d %b %Y at %H:%M %Z}.")
    assert not Registration.objects.exists()


def test_publishing_a_lottery_without_a_closing_time_is_refused_in_french():
    event = EventFactory(status="draft", registration_mode="lottery")
    SessionFactory(event=event)
    organizer = Membership.objects.get(team=event.team).user

    said = refusal(scheduling.publish_event, "fr", event=event, actor=organizer)

    assert said == (
        f"Le tirage au sort a lieu à la clôture des inscriptions{NBSP}: indiquez l’heure de "
        "clôture des inscriptions."
    )
    assert refusal(scheduling.publish_event, "en", event=event, actor=organizer) == (
        "A lottery is drawn when registration closes: set the time registration closes."
    )
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_lowering_the_capacity_below_the_seats_given_counts_them_in_french():
    session = SessionFactory(capacity=5)
    for _person in range(2):
        register(user=UserFactory(), session=session)
    organizer = Membership.objects.get(team=session.event.team).user

    said = refusal(scheduling.update_session, "fr", session=session, actor=organizer, capacity=1)

    assert said == (
        f"2 places sont déjà attribuées (confirmées ou proposées){NBSP}: le nombre de places ne "
        "peut pas descendre sous 2."
    )
    english = refusal(scheduling.update_session, "en", session=session, actor=organizer, capacity=1)
    assert english == (
        "2 seats are already given (confirmed or offered): the capacity cannot go below 2."
    )
    session.refresh_from_db()
    assert session.capacity == 5


def test_approving_someone_who_did_not_apply_names_their_status_in_french():
    session = SessionFactory()
    registration = register(user=UserFactory(display_name="Ada"), session=session)
    organizer = Membership.objects.get(team=session.event.team).user

    said = refusal(approve, "fr", registration=registration, actor=organizer)

    confirmed, applied = f"«{NBSP}Confirmé{NBSP}»", f"«{NBSP}Candidature envoyée{NBSP}»"
    assert said == f"Le statut de Ada est {confirmed}, pas {applied}."
    assert refusal(approve, "en", registration=registration, actor=organizer) == (
        "Ada is Confirmed, not applied."
    )


def test_the_last_owner_cannot_step_down_and_is_told_so_in_french():
    owner = UserFactory()
    team = TeamFactory(owner=owner)
    mine = Membership.objects.get(team=team, user=owner)

    said = refusal(teams.change_role, "fr", team=team, actor=owner, membership=mine, role="door")

    assert said == (
        f"Une équipe a besoin d’au moins un propriétaire{NBSP}: nommez d’abord quelqu’un d’autre "
        "propriétaire."
    )
    assert (
        refusal(teams.change_role, "en", team=team, actor=owner, membership=mine, role="door")
        == "A team needs at least one owner: make someone else owner first."
    )
    assert Membership.objects.get(pk=mine.pk).role == Role.OWNER


def test_a_segment_with_a_bad_condition_says_which_and_why_in_french():
    team = TeamFactory()
    bad = [{"field": "attended", "op": "eq", "value": "many"}]

    said = refusal(segments.validate, "fr", team=team, definition=bad)

    assert said == (
        f"Condition 1 (Sessions suivies){NBSP}: «{NBSP}many{NBSP}» n’est pas un nombre entier."
    )
    assert refusal(segments.validate, "en", team=team, definition=bad) == (
        "Condition 1 (Sessions attended): “many” is not a whole number."
    )
    wrong_op = [{"field": "role", "op": "gte", "value": "2"}]
    assert f"choisissez parmi «{NBSP}est l’un de{NBSP}», pas «{NBSP}gte{NBSP}»" in refusal(
        segments.validate, "fr", team=team, definition=wrong_op
    )


def test_a_segment_is_described_in_french_words_with_french_plurals():
    definition = [
        {"field": "role", "op": "in", "value": ["researcher", "developer"]},
        {"field": "attended", "op": "eq", "value": 0},
        {"field": "no_shows", "op": "gte", "value": 2},
        {"field": "last_contacted_at", "op": "more_than", "value": 1},
        {"field": "review_score", "op": "gte", "value": 3.5},
    ]
    with translation.override("fr"):
        said = segments.describe(definition)
    assert said == (
        "chercheurs ou développeurs, aucune présence, au moins 2 absences, dernier contact il y a "
        "plus de 1 jour, note moyenne d’au moins 3,5"
    )
    assert segments.describe(definition) == (
        "researchers or developers, never attended, at least 2 no-shows, last contacted more "
        "than 1 day ago, mean review score at least 3.5"
    )


def test_a_survey_already_answered_or_closed_refuses_in_french():
    event = EventFactory(checkin_enabled=False)
    session = SessionFactory(event=event, capacity=10)
    seat(session)
    survey = survey_for(event)
    surveys.start_sending(survey=survey, actor=None)
    end(session)
    surveys.queue_due()
    recipient = surveys.SurveyRecipient.objects.select_related("user").get()
    answer(recipient=recipient, data={field(questions_of(survey)[0]): "5"})

    said = refusal(surveys.resend, "fr", recipient=recipient, actor=None)
    assert said == f"{recipient.user.name} a déjà répondu."
    assert refusal(surveys.resend, "en", recipient=recipient, actor=None) == (
        f"{recipient.user.name} has already answered."
    )

    survey.closes_at = timezone.now() - timedelta(minutes=1)
    survey.save(update_fields=["closes_at"])
    assert refusal(surveys.answer, "fr", recipient=recipient, answers={}) == (
        f"Ce questionnaire est fermé{NNBSP}; merci tout de même."
    )


def test_changing_the_kind_of_an_answered_question_is_refused_in_french():
    event = EventFactory(checkin_enabled=False)
    session = SessionFactory(event=event)
    seat(session)
    survey = SurveyFactory(event=event)
    question = questions_of(survey)[0]
    recipient = surveys.SurveyRecipient.objects.create(
        survey=survey, user=UserFactory(), session=session, sent_at=timezone.now()
    )
    answer(recipient=recipient, data={field(question): "4"})

    edit = {"question": question, "label": question.label, "kind": "short_text"}
    said = refusal(engine.edit_question, "fr", **edit)
    assert said.startswith(
        "Des personnes ont répondu à cette question : son type ne peut donc plus changer".replace(
            " :", f"{NBSP}:"
        )
    )
    assert refusal(engine.edit_question, "en", **edit).startswith(
        "People have answered this question, so its kind cannot change"
    )
    question.refresh_from_db()
    assert question.kind == "rating"


def test_a_new_survey_asks_its_starter_questions_in_the_teams_language():
    team = TeamFactory(language="fr")
    event = EventFactory(team=team)
    survey = SurveyFactory(event=event)
    assert questions_of(survey)[0].label == (
        f"Dans l’ensemble, quelle note donneriez-vous à cette session{NNBSP}?"
    )
    english = SurveyFactory(event=EventFactory())
    assert questions_of(english)[0].label == "Overall, how would you rate this session?"


def test_a_bad_line_of_an_invitation_list_is_explained_in_french():
    with translation.override("fr"):
        parsed = parse_pasted("ada@example.com\nnot an address\nBob <<bob@example.com>")
    assert [row.email for row in parsed.rows] == ["ada@example.com"]
    assert parsed.errors == [
        (2, "not an address", "Adresse e-mail non valide."),
        (3, "Bob <<bob@example.com>", "N’est pas de la forme Nom <email@example.com>."),
    ]
    assert parse_pasted("not an address").errors == [
        (1, "not an address", "Not a valid email address.")
    ]


def test_choice_labels_read_in_french_and_language_names_in_their_own_words():
    event = EventFactory(kind="demo", status="cancelled", registration_mode="lottery")
    registration = Registration(status=Registration.Status.WAITLISTED)
    session = Session(status=Session.Status.CANCELLED)
    with translation.override("fr"):
        assert event.get_kind_display() == "Démo de prototype"
        assert event.get_status_display() == "Annulé"
        assert event.get_registration_mode_display() == (
            f"Tirage au sort{NBSP}: places tirées à la clôture des inscriptions"
        )
        assert session.get_status_display() == "Annulée"
        assert registration.get_status_display() == "Sur liste d’attente"
        assert User(role="researcher").get_role_display() == "Chercheur ou chercheuse"
        assert dict(Team.Language.choices) == {"en": "English", "fr": "Français"}
        assert str(ROLE_HELP[Role.DOOR]) == (
            "Enregistre l’arrivée des personnes aux sessions de l’équipe, et rien d’autre."
        )
    assert event.get_kind_display() == "Prototype demo"
    assert event.get_status_display() == "Cancelled"
    assert registration.get_status_display() == "Waitlisted"


def test_a_french_owner_reads_the_roles_and_their_help_in_french_on_the_team_page(client_for):
    owner = UserFactory(language="fr")
    team = TeamFactory(owner=owner)
    client = client_for(owner)

    response = client.get(reverse("manage:team", args=[team.slug]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Propriétaire" in page
    assert "Tout, y compris les membres, les rôles et la suppression de l’équipe." in page
    assert "Enregistre l’arrivée des personnes aux sessions de l’équipe, et rien d’autre." in page
    assert "Everything, including members, roles and deleting the team." not in page

    mine = Membership.objects.get(team=team, user=owner)
    demoted = client.post(
        reverse("manage:member_role", args=[team.slug, mine.pk]), {"role": "organizer"}
    )
    assert demoted.status_code == 400
    assert "Une équipe a besoin d’au moins un propriétaire" in demoted.content.decode()
    assert Membership.objects.get(pk=mine.pk).role == Role.OWNER
