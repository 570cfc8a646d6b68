"""Issue #18, the organizer's side of events: an organizer who chose French reads the pages of
events, registrations, attendance, check-in, invitations, messages, surveys and the question
editor in French (and their CSV exports, with French headers and dates), and gives an event
its French title and description on the event form."""

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from events.exports import stream_csv
from events.models import Event
from events.services import ServiceError, scheduling
from tests.factories import (
    EventFactory,
    InvitationFactory,
    OrganizerFactory,
    RegistrationFactory,
    SessionFactory,
    SurveyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def organizer():
    return OrganizerFactory(display_name="Odile Organisatrice", language="fr")


@pytest.fixture
def french(organizer, client_for) -> Client:
    return client_for(organizer)


@pytest.fixture
def event(organizer):
    return EventFactory(organizer=organizer, title="Model preview", registration_mode="approval")


@pytest.fixture
def past(event):
    """A session that took place yesterday, with one person checked in."""
    start = timezone.now() - timedelta(days=1)
    return SessionFactory(event=event, starts_at=start, ends_at=start + timedelta(hours=1))


@pytest.fixture
def attendee(past, organizer):
    return RegistrationFactory(
        session=past,
        user=UserFactory(display_name="Ada Lovelace"),
        confirmed_at=past.starts_at - timedelta(days=2),
        checked_in_at=past.starts_at + timedelta(minutes=5),
        checked_in_by=organizer,
    )


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_dashboard_and_the_event_page_read_in_french(french, event, past):
    dashboard = page(french, reverse("manage:dashboard"))
    assert "Nouvel événement" in dashboard
    assert "Prochaine session" in dashboard
    assert "Sur acceptation" in dashboard  # the registration mode, from its machine value
    assert "New event" not in dashboard and "Needs attention" not in dashboard

    detail = page(french, reverse("manage:event", args=[event.pk]))
    assert "Ajouter une session" in detail
    assert "Fuseau horaire" in detail
    assert "Questions de sélection" in detail
    assert "Add a session" not in detail and "Time zone" not in detail


@pytest.mark.parametrize(
    ("name", "about", "french_words", "english_words"),
    [
        (
            "manage:event_edit",
            "event",
            ["Modifier l’événement", "Titre en français"],
            ["Save the event"],
        ),
        ("manage:event_cancel", "event", ["Annuler cet événement\u202f?"], ["Keep it"]),
        (
            "manage:session_edit",
            "session",
            ["Enregistrer la session", "Nombre de places"],
            ["Capacity"],
        ),
        ("manage:session_cancel", "session", ["Cette session est annulée", "Retour"], ["Back to"]),
        (
            "manage:registrations",
            "session",
            ["Inscriptions", "Exporter en CSV", "Pour les personnes cochées"],
            ["With the people ticked"],
        ),
        (
            "manage:registration",
            "registration",
            ["Historique", "Membre depuis", "1 présence"],
            ["Member since", "1 attended"],
        ),
        (
            "manage:attendance",
            "session",
            ["Taux de présence", "Arrivée enregistrée"],
            ["Attendance rate", "In numbers"],
        ),
        (
            "manage:event_attendance",
            "event",
            ["Présence par session", "Annulations tardives"],
            ["Late cancellations"],
        ),
        (
            "manage:checkin",
            "session",
            ["Rechercher par nom ou e-mail", "Attendus"],
            ["Find by name or email", "Expected"],
        ),
        (
            "manage:invitations",
            "event",
            ["Inviter des personnes", "Filtrer par statut"],
            ["Invite people"],
        ),
        (
            "manage:invite",
            "event",
            ["Vérifier la liste", "Adresses e-mail"],
            ["Check the list", "Email addresses"],
        ),
        (
            "manage:session_messages",
            "session",
            ["Messages de cette session", "Aucun message pour l’instant."],
            ["No messages"],
        ),
        (
            "manage:survey",
            "event",
            ["Créer le questionnaire", "Questionnaire de suivi"],
            ["Create the survey"],
        ),
    ],
)
def test_the_organizer_pages_read_in_french(
    french, event, past, attendee, name, about, french_words, english_words
):
    if name == "manage:session_cancel":
        past.status = past.Status.CANCELLED
        past.save(update_fields=["status"])
    arg = {"event": event, "session": past, "registration": attendee}[about].pk

    html = page(french, reverse(name, args=[arg]))

    for words in french_words:
        assert words in html, words
    for words in english_words:
        assert words not in html, words
    assert 'lang="fr"' in html


def test_the_survey_pages_and_the_question_editor_read_in_french(french, event, past):
    survey = SurveyFactory(event=event)
    question = survey.questionnaire.questions.order_by("position").first()

    builder = page(french, reverse("manage:survey", args=[event.pk]))
    assert "Activer l’envoi" in builder and "Ajouter une question" in builder
    assert "Turn sending on" not in builder and "Add a question" not in builder

    results = page(french, reverse("manage:survey_results", args=[event.pk]))
    assert "Taux de réponse" in results and "Toutes les sessions" in results
    assert "Response rate" not in results

    pending = page(french, reverse("manage:survey_pending", args=[event.pk]))
    assert "Pas encore de réponse" in pending and "Retour au questionnaire" in pending

    edit = page(french, reverse("manage:question_edit", args=[question.pk]))
    assert "Enregistrer la question" in edit and "Type de réponse" in edit
    assert "Save the question" not in edit

    preview = page(french, reverse("manage:survey_preview", args=[event.pk]))
    assert "Comment s’est passé « Model preview »" in preview.replace("\u00a0", " ")
    assert "Envoyer mes réponses" in preview


def test_a_change_made_in_french_is_confirmed_in_french(french, event):
    response = french.post(reverse("manage:event_unpublish", args=[event.pk]))

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Repassé en brouillon\u00a0: seuls les organisateurs voient maintenant l’événement."
    ]
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_a_refusal_raised_in_the_invitations_view_reads_in_french(french, event):
    invitation = InvitationFactory(event=event)

    response = french.post(
        reverse("manage:invitation_action", args=[invitation.pk, "extend"]), {"days": "0"}
    )

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Prolongez d’un nombre entier de jours entre 1 et 90."
    ]
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now()


# The event's French version -----------------------------------------------------------------


def event_data(event: Event, **overrides) -> dict:
    data = {
        "title": event.title,
        "kind": event.kind,
        "description": event.description,
        "visibility": event.visibility,
        "registration_mode": event.registration_mode,
        "timezone": event.timezone,
        "offer_hours": "24",
        "terms_version": "0",
        "reminder_hours": "24, 1",
    }
    data.update(overrides)
    return data


def test_the_event_form_saves_and_clears_the_french_title_and_description(event, client_for):
    english = client_for(OrganizerFactory(team=event.team, role="organizer"))
    url = reverse("manage:event_edit", args=[event.pk])

    response = english.post(
        url,
        event_data(event, title_fr="  Aperçu du modèle ", description_fr="Dites-nous **tout**."),
    )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.title == "Model preview"
    assert event.translations == {
        "fr": {"title": "Aperçu du modèle", "description": "Dites-nous **tout**."}
    }
    detail = page(english, reverse("manage:event", args=[event.pk]))
    assert "French version" in detail and "Aperçu du modèle" in detail
    form = page(english, url)
    assert "Title in French" in form and 'value="Aperçu du modèle"' in form

    # A French title alone stays; the empty description is dropped.
    english.post(url, event_data(event, title_fr="Aperçu du modèle", description_fr=""))
    event.refresh_from_db()
    assert event.translations == {"fr": {"title": "Aperçu du modèle"}}

    english.post(url, event_data(event, title_fr="", description_fr="  "))
    event.refresh_from_db()
    assert event.translations == {}
    assert "French version" not in page(english, reverse("manage:event", args=[event.pk]))


def test_the_french_version_shows_on_the_event_page_of_a_french_organizer(french, event):
    event.translations = {"fr": {"title": "Aperçu du modèle"}}
    event.save(update_fields=["translations"])

    html = page(french, reverse("manage:event", args=[event.pk]))

    assert "Version en français" in html and "Aperçu du modèle" in html


ONE_LINE_FR = "Le titre en français\u00a0: utilisez une seule ligne de texte brut"


@pytest.mark.parametrize(
    ("title_fr", "message"),
    [
        ("Aperçu\ndu modèle", ONE_LINE_FR),
        ("Aperçu\r\nBEGIN:VEVENT", ONE_LINE_FR),
        ("Aperçu\tdu modèle", ONE_LINE_FR),
        ("x" * 201, "au plus 200 caractères"),
    ],
)
def test_a_french_title_on_two_lines_or_too_long_is_refused_and_nothing_is_saved(
    french, event, title_fr, message
):
    event.translations = {"fr": {"title": "Ancien titre"}}
    event.save(update_fields=["translations"])

    response = french.post(
        reverse("manage:event_edit", args=[event.pk]),
        event_data(event, title="Renamed", title_fr=title_fr, description_fr="Nouveau"),
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    event.refresh_from_db()
    assert event.title == "Model preview"
    assert event.translations == {"fr": {"title": "Ancien titre"}}


def test_a_french_version_is_offered_to_a_new_event_and_kept(french, organizer):
    response = french.post(
        reverse("manage:event_create"),
        {
            "title": "Prototype demo",
            "kind": "demo",
            "description": "",
            "visibility": "public",
            "registration_mode": "open",
            "timezone": "Europe/Paris",
            "offer_hours": "24",
            "terms_version": "0",
            "title_fr": "Démo de prototype",
        },
    )

    assert response.status_code == 302
    assert Event.objects.get().translations == {"fr": {"title": "Démo de prototype"}}
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Événement créé en brouillon. Ajoutez une session, puis publiez-le."
    ]


# CSV exports ------------------------------------------------------------------------------


def rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


def test_a_french_attendance_export_has_french_headers_and_dates(french, past, attendee):
    response = french.get(reverse("manage:attendance_csv", args=[past.pk]))

    header, row = rows(response)
    assert header == [
        "Événement",
        "Session",
        "Début de la session",
        "Nom",
        "E-mail",
        "Statut",
        "Présence",
        "Arrivée enregistrée à",
        "Arrivée enregistrée par",
        "Sur place",
        "Annulée le",
    ]
    start = timezone.localtime(past.starts_at)
    assert row[2] == start.strftime("%d/%m/%Y %H:%M ") + start.tzname()
    assert row[9] == "non"


def test_a_french_registrations_export_has_french_headers_and_dates(french, past, attendee):
    response = french.get(reverse("manage:registrations_csv", args=[past.pk]))

    header, row = rows(response)
    assert header == ["Nom", "E-mail", "Rôle", "Statut", "Date d’inscription"]
    created = timezone.localtime(attendee.created_at)
    assert row[4] == created.strftime("%d/%m/%Y %H:%M ") + created.tzname()


def test_an_english_export_keeps_its_english_headers_and_dates(past, attendee, client_for):
    english = client_for(OrganizerFactory(team=past.event.team, role="organizer"))

    header, row = rows(english.get(reverse("manage:registrations_csv", args=[past.pk])))

    assert header == ["Name", "Email", "Role", "Status", "Registered"]
    created = timezone.localtime(attendee.created_at)
    assert row[4] == created.strftime("%Y-%m-%d %H:%M ") + created.tzname()


def test_a_streamed_export_keeps_the_language_of_its_request_while_it_streams():
    moment = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    with translation.override("fr"), timezone.override(ZoneInfo("Europe/Paris")):
        response = stream_csv(iter([["Quand", "Présent"], [moment, True]]), "x.csv")

    # Streamed after the view returned, in whatever language the thread has by then.
    with translation.override("en"):
        assert rows(response) == [["Quand", "Présent"], ["08/12/2026 15:00 CET", "oui"]]


# The scheduling service keeps the versions ------------------------------------------------


@pytest.mark.parametrize(
    "translations",
    [
        {"de": {"title": "Modellvorschau"}},  # a language the site does not have
        {"en": {"title": "Model preview"}},  # the source language is the event's own text
        {"fr": {"title": "Aperçu", "subtitle": "?"}},
        {"fr": {"title": 3}},
        {"fr": "Aperçu"},
    ],
)
def test_the_service_refuses_versions_it_cannot_keep(event, organizer, translations):
    with pytest.raises(ServiceError):
        scheduling.update_event(event=event, actor=organizer, translations=translations)

    event.refresh_from_db()
    assert event.translations == {}


def test_a_new_french_title_owes_the_sessions_to_come_a_calendar_update(event, organizer):
    session = SessionFactory(event=event)

    scheduling.update_event(
        event=event, actor=organizer, translations={"fr": {"description": "Texte"}}
    )
    session.refresh_from_db()
    assert session.sequence == 0  # a description is not in the calendar

    scheduling.update_event(
        event=event, actor=organizer, translations={"fr": {"title": "Aperçu du modèle"}}
    )
    session.refresh_from_db()
    assert session.sequence == 1
