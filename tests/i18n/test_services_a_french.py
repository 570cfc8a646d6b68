"""The services' refusals and words in the reader's language: each service called for real with
bad input says why in French under French, and in the English the other tests expect under
English; one refusal reaches a French organizer on their page, with nothing written."""

import html
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from events.invite_parsing import Row
from events.models import CallQuota, Draw, Invitation, PanelAttribute, Registration
from events.services import (
    ServiceError,
    attendance,
    call_screening,
    contact,
    draws,
    funnel,
    invitations,
    lottery,
    notices,
    open_calls,
    panel,
    panel_person,
)
from events.services import questionnaire as engine
from tests.factories import (
    EventFactory,
    InvitationFactory,
    OpenCallFactory,
    OrganizerFactory,
    PanelMemberFactory,
    RegistrationFactory,
    SessionFactory,
    organizer_of,
    team_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def language_restored():
    """A request activates its reader's language and leaves it active in this thread (the
    middleware does not reset it after the response): put back what was there, so the tests
    after these do not run in French."""
    with translation.override(translation.get_language()):
        yield


def said(language: str, act: Callable[[], object]) -> str:
    """The refusal `act` raises, with `language` active (as a request or a mail would have it)."""
    with translation.override(language), pytest.raises(ServiceError) as refused:
        act()
    return refused.value.message


# Each case sets up real rows and returns the call that must be refused.


def check_in_a_cancelled_registration():
    registration = RegistrationFactory(status=Registration.Status.CANCELLED)
    organizer = organizer_of(registration.session.event)
    return lambda: attendance.check_in(registration=registration, actor=organizer)


def check_in_a_day_too_early():
    registration = RegistrationFactory(
        session=SessionFactory(starts_at=timezone.now() + timedelta(days=3))
    )
    organizer = organizer_of(registration.session.event)
    return lambda: attendance.check_in(registration=registration, actor=organizer)


def rules_that_disqualify_everyone():
    organizer = OrganizerFactory()
    call = OpenCallFactory(organizer=organizer)
    engine.add_question(
        questionnaire=call.questionnaire, label="Use", kind="single", choices=["Agents", "RAG"]
    )
    question = call.questionnaire.questions.get()
    effects = {c.pk: "disqualify" for c in question.choices.all()}
    return lambda: call_screening.set_rules(call=call, actor=organizer, effects=effects)


def quotas_that_contradict():
    organizer = OrganizerFactory()
    call = OpenCallFactory(organizer=organizer)
    quotas = [
        {"field": "role", "value": "researcher", "bound": "at_least", "percent": "30"},
        {"field": "role", "value": "researcher", "bound": "at_most", "percent": "20"},
    ]
    return lambda: call_screening.set_quotas(call=call, actor=organizer, quotas=quotas)


def lifting_an_unsubscription():
    organizer = OrganizerFactory()
    team = team_of(organizer)
    entry = contact.unsubscribe(team=team, email="ann@example.com").entry
    return lambda: contact.unblock(team=team, actor=organizer, entry=entry)


def a_draw_with_an_impossible_quota():
    organizer = OrganizerFactory()
    team = team_of(organizer)
    return lambda: draws.draw_sample(
        team=team,
        actor=organizer,
        definition=[],
        size=10,
        minimums=[{"field": "role", "value": "researcher", "share": 50}],
        caps=[{"field": "role", "count": 2}],
    )


def inviting_only_a_do_not_contact_address():
    session = SessionFactory()
    event = session.event
    organizer = organizer_of(event)
    contact.block(team=event.team, actor=organizer, email="ann@example.com")
    return lambda: invitations.create_batch(
        event=event, session=session, rows=[Row(line=1, email="ann@example.com")], actor=organizer
    )


def accepting_an_expired_invitation():
    invitation = InvitationFactory(expires_at=timezone.now() - timedelta(hours=1))
    return lambda: invitations.check_open(invitation)


def drawing_a_session_that_is_not_a_lottery():
    session = SessionFactory(event__registration_mode="approval")
    return lambda: lottery.draw(session=session)


def sending_again_a_message_that_did_not_fail():
    registration = RegistrationFactory()
    sent = notices.owe_news(
        kind="confirmed", user=registration.user, version="v1", registration=registration
    )
    return lambda: notices.resend(notification=sent, actor=organizer_of(registration.session.event))


def submitting_to_a_draft_call():
    call = OpenCallFactory()
    return lambda: open_calls.submit(call=call, email="ann@example.com", profile={}, answers={})


def naming_a_panel_attribute_badly():
    organizer = OrganizerFactory()
    call = OpenCallFactory(organizer=organizer)
    question = engine.add_question(
        questionnaire=call.questionnaire, label="Models", kind="short_text"
    )
    return lambda: panel.add_attribute(team=call.team, question=question, name="Models Used!")


CASES = {
    "attendance: a cancelled registration": (
        check_in_a_cancelled_registration,
        "»\u00a0: seule l’arrivée des personnes confirmées peut être enregistrée.",
        "not confirmed: only confirmed attendees can be checked in. Let them in as a walk-in if "
        "a seat is free.",
    ),
    "attendance: too early at the door": (
        check_in_a_day_too_early,
        "L’enregistrement des arrivées ouvre 24 heures avant le début de la session, le ",
        "Check-in opens 24 hours before the session starts, on ",
    ),
    "screening: every choice disqualifies": (
        rules_that_disqualify_everyone,
        "Tous les choix de «\u00a0Use\u00a0» écartent\u00a0: personne ne pourrait être retenu. "
        "Laissez au moins un choix sans cette règle.",
        "Every choice of “Use” disqualifies: nobody could qualify. Leave at least one choice "
        "without that rule.",
    ),
    "screening: quotas contradict": (
        quotas_that_contradict,
        "Pour «\u00a0researcher\u00a0», «\u00a0au plus 20\u00a0%\u00a0» est inférieur à "
        "«\u00a0au moins 30\u00a0%\u00a0».",
        "At most 20% is below at least 30% for “researcher”.",
    ),
    "contact: an unsubscription is the person's": (
        lifting_an_unsubscription,
        "ann@example.com s’est désabonné\u00a0: seule cette personne peut demander à être de "
        "nouveau contactée par l’équipe.",
        "ann@example.com unsubscribed themselves: only they can ask to hear from the team again.",
    ),
    "draws: an impossible quota": (
        a_draw_with_an_impossible_quota,
        "Au moins 50\u00a0% avec rôle «\u00a0researcher\u00a0», c’est 5 sur 10, mais le plafond "
        "en autorise au plus 2 par rôle\u00a0: les règles se contredisent.",
        "At least 50% with role “researcher” is 5 of 10, but the cap allows at most 2 per role: "
        "the rules contradict each other.",
    ),
    "invitations: only a do-not-contact address": (
        inviting_only_a_do_not_contact_address,
        "Personne dans cette liste ne peut être invité (voir les raisons indiquées).",
        "Nobody in this list can be invited (see the reasons listed).",
    ),
    "invitations: expired": (
        accepting_an_expired_invitation,
        "Cette invitation a expiré.",
        "This invitation has expired.",
    ),
    "lottery: not a lottery": (
        drawing_a_session_that_is_not_a_lottery,
        "Cette session n’utilise pas de tirage au sort.",
        "This session does not use a lottery.",
    ),
    "notices: only a failed message": (
        sending_again_a_message_that_did_not_fail,
        "Seul un message en échec peut être renvoyé.",
        "Only a failed message can be sent again.",
    ),
    "open calls: a draft takes nothing": (
        submitting_to_a_draft_call,
        "Cet appel n’est pas ouvert.",
        "This call is not open.",
    ),
    "panel: an attribute's name": (
        naming_a_panel_attribute_badly,
        "Nommez l’attribut avec des lettres minuscules, des chiffres et des tirets bas",
        "Name the attribute with lower-case letters, digits and underscores",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_service_refuses_in_french_for_a_french_reader(case):
    setup, french, english = CASES[case]

    message = said("fr", setup())

    assert french in message
    assert english not in message


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_refusals_stay_in_the_english_the_other_tests_expect(case):
    setup, french, english = CASES[case]

    message = said("en", setup())

    assert english in message
    assert french not in message


def test_refused_calls_write_nothing_in_either_language():
    draw = a_draw_with_an_impossible_quota()
    attribute = naming_a_panel_attribute_badly()
    for language in ("fr", "en"):
        said(language, draw)
        said(language, attribute)

    assert not Draw.objects.exists()
    assert not PanelAttribute.objects.exists()


def test_a_contact_verdict_reads_in_french_in_a_preview_and_on_a_person():
    event = EventFactory()
    organizer = organizer_of(event)
    contact.block(team=event.team, actor=organizer, email="ann@example.com")
    member = PanelMemberFactory(team=event.team, email="ann@example.com")

    with translation.override("fr"):
        checked = invitations.preview(
            event=event, session=None, rows=[Row(line=1, email="ann@example.com")]
        )
        person = panel_person.person(event.team, member)

    reason = "Sur la liste «\u00a0ne pas contacter\u00a0» de l’équipe."
    assert checked.refused == [(1, "ann@example.com", reason)]
    assert person.blocked == reason
    assert not Invitation.objects.exists()


def test_the_funnel_names_its_steps_in_the_reader_s_language():
    team = team_of(OrganizerFactory())

    with translation.override("fr"):
        french = [(s.label, s.meaning) for s in funnel.for_team(team).steps]
    with translation.override("en"):
        english = [s.label for s in funnel.for_team(team).steps]

    assert french[0] == (
        "Formulaire envoyé",
        "ont envoyé le formulaire\u00a0: les personnes qui ont confirmé, et chaque adresse qui "
        "n’a jamais confirmé",
    )
    assert [label for label, _meaning in french][-1] == "Ont répondu à un questionnaire"
    assert english == [
        "Submitted",
        "Confirmed",
        "Qualified",
        "Invited",
        "Accepted",
        "Attended",
        "Answered a survey",
    ]


def test_a_walk_in_counts_its_seats_in_french_with_the_right_plural():
    session = SessionFactory(capacity=2, starts_at=timezone.now() + timedelta(hours=1))
    organizer = organizer_of(session.event)

    with translation.override("fr"):
        first = attendance.add_walk_in(session=session, actor=organizer, email="a@example.com")
        second = attendance.add_walk_in(session=session, actor=organizer, email="b@example.com")

    # French counts 0 and 1 in the singular.
    assert first.message.endswith(
        "est entré sur place et son arrivée est enregistrée. Il reste 1 place."
    )
    assert second.message.endswith("Il reste 0 place.")
    full = said(
        "fr",
        lambda: attendance.add_walk_in(session=session, actor=organizer, email="c@example.com"),
    )
    assert full.startswith("La session est complète (2 places attribuées sur 2)\u00a0: ")
    assert Registration.objects.filter(session=session).count() == 2


def test_a_french_organizer_sees_a_refused_quota_in_french_and_nothing_is_saved(client_for):
    organizer = OrganizerFactory(language="fr")
    call = OpenCallFactory(organizer=organizer)
    rows = [
        {"field": "role", "value": "researcher", "bound": "at_least", "percent": "70"},
        {"field": "role", "value": "developer", "bound": "at_least", "percent": "40"},
    ]
    data = {"form": "quotas", "quota-count": str(len(rows))}
    for i, row in enumerate(rows):
        data |= {f"quota-{i}-{key}": value for key, value in row.items()}

    response = client_for(organizer).post(reverse("manage:call_rules", args=[call.pk]), data)

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Les quotas «\u00a0au moins\u00a0» (rôle) dépassent 100\u00a0% au total." in page
    assert "add up to more than 100%" not in page
    call.refresh_from_db()
    assert call.rules_version == 0
    assert not CallQuota.objects.filter(call=call).exists()
