"""The language people read the public pages in: ?lang= first (and remembered), then the
profile's language, then the footer's cookie, then the browser's Accept-Language, and when
none of them names a language we have, the team's own language on a page about its event or
call (English elsewhere). The language used is kept on invitations and submissions, so that
later mail speaks it. And the pages really are in French: French sentences, not only a 200."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from events.models import Event, Invitation, Submission, SurveyRecipient, Team
from events.services import invitations, surveys
from tests.factories import (
    EventFactory,
    InvitationFactory,
    OrganizerFactory,
    SessionFactory,
    UserFactory,
    team_of,
)
from tests.open_calls.conftest import call_url, form_data, make_call
from tests.surveys.conftest import survey_for

pytestmark = pytest.mark.django_db

HOME = reverse("home")
SWITCH = reverse("set_language")
PROFILE = reverse("accounts:profile")
COOKIE = "django_language"
# Sentences of the event list in each language.
ENGLISH_LIST = "Feedback sessions and prototype demos"
FRENCH_LIST = "Sessions de retours et démos de prototype"


def text(response) -> str:
    return response.content.decode()


def french_team() -> Team:
    team = team_of(OrganizerFactory())
    Team.objects.filter(pk=team.pk).update(language="fr")
    team.refresh_from_db()
    return team


@pytest.fixture
def event() -> Event:
    event = EventFactory(title="Model preview", description="Try the **new model**.")
    SessionFactory(event=event, location="Room 1")
    return event


# The order of choice


def test_lang_in_the_address_beats_profile_cookie_and_browser_and_is_remembered(client_for):
    person = UserFactory(language="en")
    client = client_for(person)
    client.cookies[COOKIE] = "en"

    page = client.get(HOME, {"lang": "fr"}, HTTP_ACCEPT_LANGUAGE="en")

    assert FRENCH_LIST in text(page)
    assert page.cookies[COOKIE].value == "fr"


def test_the_profile_language_beats_the_cookie_and_the_browser(client_for):
    client = client_for(UserFactory(language="fr"))
    client.cookies[COOKIE] = "en"

    page = client.get(HOME, HTTP_ACCEPT_LANGUAGE="en")

    assert FRENCH_LIST in text(page)


def test_the_cookie_beats_the_browser():
    client = Client()
    client.cookies[COOKIE] = "fr"

    assert FRENCH_LIST in text(client.get(HOME, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))


def test_a_browser_asking_for_canadian_french_reads_french():
    page = Client().get(HOME, HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9")

    assert FRENCH_LIST in text(page)
    assert page["Content-Language"] == "fr"


def test_a_language_we_do_not_have_reads_the_teams_language_on_its_event_page(event):
    french = EventFactory(team=french_team(), title="Aperçu du modèle")
    SessionFactory(event=french)

    french_page = Client().get(
        reverse("events:detail", args=[french.pk]), HTTP_ACCEPT_LANGUAGE="de"
    )
    english_page = Client().get(
        reverse("events:detail", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="de"
    )

    assert "Se connecter pour s’inscrire" in text(french_page)
    assert '<html lang="fr">' in text(french_page)
    assert "Log in to sign up" in text(english_page)


def test_a_language_we_do_not_have_reads_english_on_pages_about_no_team():
    page = Client().get(HOME, HTTP_ACCEPT_LANGUAGE="de")

    assert ENGLISH_LIST in text(page)
    assert '<html lang="en">' in text(page)


def test_a_reader_who_chose_english_reads_a_french_teams_event_in_english():
    french = EventFactory(team=french_team())
    SessionFactory(event=french)

    page = Client().get(reverse("events:detail", args=[french.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert "Log in to sign up" in text(page)


# The footer's switcher


def test_the_switcher_sets_the_cookie_and_goes_back_to_the_page():
    response = Client().post(SWITCH, {"language": "fr", "next": "/my-sessions/"})

    assert response.status_code == 302
    assert response["Location"] == "/my-sessions/"
    assert response.cookies[COOKIE].value == "fr"


def test_the_switcher_saves_the_language_on_the_profile_of_a_logged_in_person(client_for):
    person = UserFactory()
    client = client_for(person)

    client.post(SWITCH, {"language": "fr", "next": "/"})

    person.refresh_from_db()
    assert person.language == "fr"
    # The profile now wins even over an English cookie.
    client.cookies[COOKIE] = "en"
    assert FRENCH_LIST in text(client.get(HOME))


def test_the_switcher_refuses_to_send_people_to_another_site():
    response = Client().post(SWITCH, {"language": "fr", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_switcher_ignores_a_language_we_do_not_have(client_for):
    person = UserFactory(language="fr")
    response = client_for(person).post(SWITCH, {"language": "klingon", "next": "/"})

    assert response.status_code == 302
    assert COOKIE not in response.cookies
    person.refresh_from_db()
    assert person.language == "fr"


def test_the_switcher_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)

    response = client.post(SWITCH, {"language": "fr", "next": "/"})

    assert response.status_code == 403
    assert COOKIE not in response.cookies


def test_the_switcher_answers_a_get_with_405():
    assert Client().get(SWITCH).status_code == 405


# The scripts' catalogue


def test_the_javascript_catalogue_speaks_french_under_french():
    response = Client().get(reverse("javascript_catalog"), HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    body = text(response)
    assert "django.gettext" in body
    # French formats: a decimal comma, day before month.
    assert '"DECIMAL_SEPARATOR": ","' in body
    assert '"%d/%m/%Y"' in body


def test_the_javascript_catalogue_speaks_english_without_a_choice():
    body = text(Client().get(reverse("javascript_catalog")))

    assert '"DECIMAL_SEPARATOR": "."' in body


# The profile's language


def profile_data(**overrides) -> dict:
    data = {
        "display_name": "Ada L.",
        "github_handle": "ada-l",
        "affiliation": "Analytical Engines Ltd",
        "role": "researcher",
        "timezone": "Europe/London",
        "language": "fr",
        "what_i_build": "Compilers for looms",
    }
    return {**data, **overrides}


def test_the_profile_page_offers_the_languages_we_have(user_client):
    page = text(user_client.get(PROFILE))

    assert 'name="language"' in page
    assert '<option value="" selected>Same as my browser</option>' in page
    assert '<option value="fr">français</option>' in page


def test_choosing_french_on_the_profile_saves_it_and_the_pages_follow(user, user_client):
    response = user_client.post(PROFILE, profile_data(language="fr"))

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "fr"
    page = text(user_client.get(PROFILE, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Enregistrer le profil" in page
    assert '<option value="fr" selected>français</option>' in page


def test_same_as_my_browser_clears_the_profile_language(client_for):
    person = UserFactory(language="fr")
    response = client_for(person).post(PROFILE, profile_data(language=""))

    assert response.status_code == 302
    person.refresh_from_db()
    assert person.language == ""


def test_a_language_we_do_not_have_is_refused_on_the_profile_and_nothing_is_saved(
    user, user_client
):
    before = User.objects.values().get(pk=user.pk)

    response = user_client.post(PROFILE, profile_data(language="de", display_name="Changed"))

    assert response.status_code == 400
    assert "Select a valid choice. de is not one of the available choices." in text(response)
    assert User.objects.values().get(pk=user.pk) == before


# The language kept for later mail


def invitation_link(invitation: Invitation) -> str:
    return reverse("events:invitation", args=[invitations.token_for(invitation)])


def test_opening_an_invitation_shows_it_in_french_and_records_nothing(event):
    """A GET writes nothing (mail scanners open links, in their own language)."""
    invitation = InvitationFactory(event=event)

    page = Client().get(invitation_link(invitation), HTTP_ACCEPT_LANGUAGE="fr-FR")

    assert "Pour accepter" in text(page)
    invitation.refresh_from_db()
    assert invitation.language == ""


def test_declining_in_french_keeps_french_on_the_invitation(event):
    invitation = InvitationFactory(event=event)

    response = Client().post(
        invitation_link(invitation), {"action": "decline"}, HTTP_ACCEPT_LANGUAGE="fr-FR"
    )

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert (invitation.status, invitation.language) == (Invitation.Status.DECLINED, "fr")


def test_answering_in_english_after_opening_in_french_keeps_english(event):
    invitation = InvitationFactory(event=event)
    client = Client()
    client.get(invitation_link(invitation), {"lang": "fr"})

    client.cookies[COOKIE] = "en"  # the footer's switcher
    response = client.post(invitation_link(invitation), {"action": "decline"})

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert (invitation.status, invitation.language) == (Invitation.Status.DECLINED, "en")


def test_answering_again_in_the_same_language_writes_no_language(event):
    invitation = InvitationFactory(event=event)
    client = Client()
    client.post(invitation_link(invitation), {"action": "nonsense"}, HTTP_ACCEPT_LANGUAGE="fr")
    invitation.refresh_from_db()
    assert invitation.language == "fr"

    with CaptureQueriesContext(connection) as queries:
        client.post(invitation_link(invitation), {"action": "nonsense"}, HTTP_ACCEPT_LANGUAGE="fr")

    assert not [q for q in queries if q["sql"].startswith('UPDATE "events_invitation"')]


def test_an_invitation_opened_by_a_browser_naming_no_language_we_have_keeps_the_teams(event):
    invitation = InvitationFactory(event=EventFactory(team=french_team()))

    page = Client().get(invitation_link(invitation), HTTP_ACCEPT_LANGUAGE="de")

    assert "Pour accepter" in text(page)
    invitation.refresh_from_db()
    assert invitation.language == ""  # the team's, whatever it becomes


def test_an_open_call_reads_in_its_teams_language_for_a_browser_naming_none_we_have():
    call = make_call(OrganizerFactory())
    Team.objects.filter(pk=call.team_id).update(language="fr")

    french = text(Client().get(call_url(call), HTTP_ACCEPT_LANGUAGE="de"))
    english = text(Client().get(call_url(call), HTTP_ACCEPT_LANGUAGE="en"))

    assert "À propos de vous" in french
    assert "About you" in english


def test_a_submission_keeps_the_language_its_form_was_filled_in():
    organizer = OrganizerFactory()
    call = make_call(organizer)

    response = Client().post(call_url(call), form_data(call), HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200
    assert "Consultez vos e-mails" in text(response)
    assert Submission.objects.get(call=call).language == "fr"


def test_a_submission_from_a_browser_naming_no_language_we_have_keeps_the_teams():
    organizer = OrganizerFactory()
    call = make_call(organizer)

    Client().post(call_url(call), form_data(call), HTTP_ACCEPT_LANGUAGE="de")

    assert Submission.objects.get(call=call).language == ""


def test_sending_the_form_again_in_another_language_keeps_the_new_one():
    organizer = OrganizerFactory()
    call = make_call(organizer)
    Client().post(call_url(call), form_data(call), HTTP_ACCEPT_LANGUAGE="fr")

    Client().post(call_url(call), form_data(call), HTTP_ACCEPT_LANGUAGE="en")

    assert Submission.objects.get(call=call).language == "en"


# Titles in the reader's language


def test_french_readers_see_the_french_title_and_english_readers_the_english_one(event):
    Event.objects.filter(pk=event.pk).update(
        translations={"fr": {"title": "Aperçu du modèle", "description": "Essayez le modèle."}}
    )
    url = reverse("events:detail", args=[event.pk])

    french = text(Client().get(url, HTTP_ACCEPT_LANGUAGE="fr"))
    english = text(Client().get(url, HTTP_ACCEPT_LANGUAGE="en"))

    assert "<h1>Aperçu du modèle</h1>" in french and "Essayez le modèle." in french
    assert "Model preview" not in french
    assert "<h1>Model preview</h1>" in english and "Aperçu" not in english


def test_the_event_list_shows_the_french_title_to_french_readers(event):
    Event.objects.filter(pk=event.pk).update(translations={"fr": {"title": "Aperçu du modèle"}})

    assert "Aperçu du modèle" in text(Client().get(HOME, HTTP_ACCEPT_LANGUAGE="fr"))
    assert "Model preview" in text(Client().get(HOME, HTTP_ACCEPT_LANGUAGE="en"))


# The public pages in French


def french_client(user: User | None = None, client_for=None) -> Client:
    client = client_for(user) if user is not None else Client()
    client.cookies[COOKIE] = "fr"
    return client


def test_the_event_list_and_an_event_read_in_french(event):
    client = french_client()

    listing = text(client.get(HOME))
    detail = text(client.get(reverse("events:detail", args=[event.pk])))

    assert '<html lang="fr">' in listing
    assert "Inscrivez-vous en quelques secondes" in listing
    assert "10 places libres" in listing
    assert "Se connecter pour s’inscrire" in detail
    assert "10 places libres sur 10" in detail


def test_signing_up_reads_in_french(event, user, client_for):
    client = french_client(user, client_for)
    session = event.sessions.get()

    form = text(client.get(reverse("events:register", args=[session.pk])))
    response = client.post(reverse("events:register", args=[session.pk]), follow=True)
    sessions = text(client.get(reverse("events:my_sessions")))

    assert "S’inscrire à Model preview" in form
    assert "Retour à l’événement" in form
    assert "C’est fait\u00a0: votre place est confirmée." in text(response)
    assert "Mes sessions" in sessions and "Ajouter à l’agenda" in sessions


def test_the_profile_reads_in_french(user, client_for):
    page = text(french_client(user, client_for).get(PROFILE))

    assert "Votre profil" in page
    assert "Fuseau horaire" in page
    assert "Comme mon navigateur" in page
    assert "Télécharger toutes mes données (JSON)" in page


def test_log_in_and_sign_up_read_in_french():
    client = french_client()

    login = text(client.get(reverse("account_login")))
    signup = text(client.get(reverse("account_signup")))

    assert "Se connecter" in login
    assert "Si vous n’avez pas encore créé de compte" in login  # allauth's own French
    assert "Créer un compte" in signup
    assert "Votre nom" in signup


def test_the_invitation_page_reads_in_french(event):
    invitation = InvitationFactory(event=event, email="ann@example.com")

    page = text(french_client().get(invitation_link(invitation)))

    assert "Vous êtes invité\u00a0: Model preview" in page
    assert "Cette invitation est destinée à <strong>ann@example.com</strong>" in page
    assert "Refuser" in page


def test_the_call_page_reads_in_french():
    call = make_call(OrganizerFactory())

    page = text(french_client().get(call_url(call)))

    assert "À propos de vous" in page
    assert "Nous vous envoyons un e-mail pour confirmer votre adresse" in page
    assert ">Envoyer</button>" in page


def test_the_survey_page_reads_in_french(event):
    survey = survey_for(event)
    recipient = SurveyRecipient.objects.create(
        survey=survey, user=UserFactory(), session=event.sessions.get(), sent_at=timezone.now()
    )

    page = text(french_client().get(reverse("events:survey", args=[surveys.token_for(recipient)])))

    assert "Comment s’est passé Model preview\u202f?" in page
    assert "Envoyer mes réponses" in page


def test_a_survey_answer_error_reads_in_french(event):
    survey = survey_for(event)
    recipient = SurveyRecipient.objects.create(
        survey=survey, user=UserFactory(), session=event.sessions.get(), sent_at=timezone.now()
    )
    url = reverse("events:survey", args=[surveys.token_for(recipient)])
    question = survey.questionnaire.questions.filter(required=True).first()
    assert question is not None

    response = french_client().post(url, {})

    assert response.status_code == 400
    assert "Cette question demande une réponse." in text(response)


def test_the_error_pages_read_in_french():
    page = french_client().get("/no-such-page/")

    assert page.status_code == 404
    assert "Page introuvable" in text(page)


def test_a_french_teams_survey_reads_in_french_for_a_browser_naming_no_language_we_have():
    event = EventFactory(team=french_team(), title="Aperçu")
    session = SessionFactory(event=event)
    recipient = SurveyRecipient.objects.create(
        survey=survey_for(event), user=UserFactory(), session=session, sent_at=timezone.now()
    )
    url = reverse("events:survey", args=[surveys.token_for(recipient)])

    assert "Envoyer mes réponses" in text(Client().get(url, HTTP_ACCEPT_LANGUAGE="de"))
    assert "Send my answers" in text(Client().get(url, HTTP_ACCEPT_LANGUAGE="en"))


def test_signing_up_for_a_french_teams_session_reads_in_french_without_a_choice(client_for):
    event = EventFactory(team=french_team(), title="Aperçu")
    session = SessionFactory(event=event)
    client = client_for(UserFactory())

    page = text(client.get(reverse("events:register", args=[session.pk])))

    assert "S’inscrire à Aperçu" in page


# Calendar feeds: a calendar app names no language, so the feed is in its owner's


def test_a_persons_feed_is_written_in_their_language_whatever_the_app_asks(event):
    from events.services.registration import register

    person = UserFactory(language="fr")
    register(user=person, session=event.sessions.get())

    feed = Client().get(
        reverse("events:user_feed", args=[person.calendar_token]), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert feed.status_code == 200
    assert "Mes sessions" in feed.content.decode()
    english = UserFactory(language="en")
    register(user=english, session=event.sessions.get())
    feed = Client().get(reverse("events:user_feed", args=[english.calendar_token]))
    assert "My sessions" in feed.content.decode()


def test_an_events_feed_follows_its_teams_language_for_an_app_naming_none():
    event = EventFactory(
        team=french_team(),
        title="Model preview",
        translations={"fr": {"title": "Aperçu du modèle"}},
    )
    SessionFactory(event=event)

    feed = Client().get(reverse("events:event_feed", args=[event.pk]))

    assert "Aperçu du modèle" in feed.content.decode()
