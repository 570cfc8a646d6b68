"""Mail is written in its recipient's language, whoever caused it: an account holder's own
language, else what we know of the recipient (the language they used on the invitation's page,
the one their submission was written in), else their team's default. Through the real outbox
(owed by the services, rendered and sent to a real SMTP server at delivery time)."""

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import User
from events.messages import registrations as registration_messages
from events.models import Invitation, Notification, Submission
from events.outbox import rendering
from events.services import invitations as invitation_service
from events.services import open_calls, surveys, teams
from events.services.registration import cancel, register
from events.services.review import approve
from events.services.scheduling import update_session
from tests.factories import (
    EventFactory,
    OpenCallFactory,
    OrganizerFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    organizer_of,
)
from tests.invitations.helpers import invite_one
from tests.notifications.helpers import bodies, calendar_part, deliver_pending, parse_calendar
from tests.notifications.test_emails import EVIL, every_kind_of_row
from tests.surveys.conftest import end, seat, survey_for

pytestmark = pytest.mark.django_db

# A Tuesday, 15:00 in Paris (CET): "mardi 8 décembre 2037, 15 h 00" in French.
START = datetime(2037, 12, 8, 14, 0, tzinfo=UTC)
NBSP = "\u00a0"
ESCAPED_EVIL = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;friends&lt;/b&gt;"


def fr(text: str) -> str:
    """A French time as timefmt writes it: "15 h 00" with no-break spaces."""
    return re.sub(r"(\d) h (\d)", rf"\1{NBSP}h{NBSP}\2", text)


def mail_for(smtp, address: str) -> list[EmailMessage]:
    return smtp.to(address)


def french_team(**fields):
    return TeamFactory(language="fr", timezone="Europe/Paris", **fields)


def test_a_french_account_holder_reads_in_french_though_an_english_organizer_approved_them(
    smtp,
):
    session = SessionFactory(
        event__registration_mode="approval",
        event__title="Model preview",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        online_url="https://meet.example.com/abc",
    )
    ada = UserFactory(language="fr", timezone="Europe/Paris")
    registration = register(user=ada, session=session)
    organizer = organizer_of(session.event)
    assert organizer.language in ("", "en")

    # The organizer acts, and the worker sends, with English active.
    with translation.override("en"):
        approve(registration=registration, actor=organizer)
        deliver_pending()

    applied, approved = mail_for(smtp, ada.email)
    assert applied["Subject"].endswith(f"Candidature reçue{NBSP}: Model preview")
    assert approved["Subject"].endswith(f"Votre candidature est acceptée{NBSP}: Model preview")
    text, html = bodies(approved)
    for part in (text, html):
        assert "Bonjour" in part and "Hello" not in part
        assert fr("mardi 8 décembre 2037, 15 h 00") in part
        assert f"Bonne nouvelle{NBSP}: les organisateurs ont accepté votre candidature" in part
        assert "Can't make it" not in part
    assert "Les horaires sont indiqués dans votre fuseau horaire (Europe/Paris)" in text
    assert '<html lang="fr">' in html
    invite = parse_calendar(calendar_part(approved))
    join = f"/join/{registration.join_token}/"
    assert f"Rejoindre en ligne{NBSP}: " in invite.description and join in invite.description
    assert "meet.example.com" not in invite.description
    assert "Join online" not in invite.description
    # What calendars match entries by is the same whatever the language.
    assert invite.method == "REQUEST"
    assert invite.uid == f"session-{session.uid}@feedback-sessions"


def test_a_moved_session_reaches_each_attendee_in_their_own_language(smtp):
    team = french_team()
    session = SessionFactory(
        event=EventFactory(team=team, title="Démo du modèle"),
        starts_at=START,
        ends_at=START + timedelta(hours=1),
    )
    french = UserFactory(language="fr", timezone="Europe/Paris")
    english = UserFactory(language="en", timezone="Europe/Paris")
    undecided = UserFactory(timezone="Europe/Paris")  # no language of their own: the team's
    for person in (french, english, undecided):
        register(user=person, session=session)
    deliver_pending()
    smtp.messages.clear()

    with translation.override("en"):
        update_session(
            session=session,
            actor=organizer_of(session.event),
            starts_at=START + timedelta(hours=1),
            ends_at=START + timedelta(hours=2),
        )
        deliver_pending()

    [to_french] = mail_for(smtp, french.email)
    [to_english] = mail_for(smtp, english.email)
    [to_undecided] = mail_for(smtp, undecided.email)
    for message in (to_french, to_undecided):
        assert message["Subject"].endswith(f"Modification{NBSP}: Démo du modèle")
        text, html = bodies(message)
        assert fr("mardi 8 décembre 2037, 16 h 00") in text
        assert "votre entrée d’agenda est mise à jour" in html
    assert to_english["Subject"].endswith("Changed: Démo du modèle")
    text, html = bodies(to_english)
    assert "Tue 8 Dec 2037, 16:00" in text
    assert "The session has changed" in html and "Bonjour" not in html
    # One calendar entry for everyone: the update keeps its UID whatever the language.
    uids = {parse_calendar(calendar_part(m)).uid for m in (to_french, to_english, to_undecided)}
    assert len(uids) == 1


def test_a_session_crossing_the_end_of_summer_time_shows_each_ends_offset_in_french(smtp):
    # Clocks go back at 03:00 CEST on the last Sunday of October 2037: 02:30 comes twice.
    start = datetime(2037, 10, 25, 0, 30, tzinfo=UTC)
    session = SessionFactory(starts_at=start, ends_at=start + timedelta(hours=1))
    ada = UserFactory(language="fr", timezone="Europe/Paris")

    register(user=ada, session=session)
    deliver_pending()

    [confirmed] = mail_for(smtp, ada.email)
    text, html = bodies(confirmed)
    assert fr("dimanche 25 octobre 2037, 2 h 30 CEST–2 h 30 CET") in text
    assert fr("dimanche 25 octobre 2037, 2 h 30 CEST–2 h 30 CET") in html


def test_the_event_title_is_in_the_readers_language_when_the_event_has_one(smtp):
    event = EventFactory(
        title="Model preview",
        translations={"fr": {"title": "Aperçu du modèle", "description": "En français."}},
    )
    session = SessionFactory(event=event, starts_at=START, ends_at=START + timedelta(hours=1))
    french = UserFactory(language="fr")
    english = UserFactory(language="en")

    register(user=french, session=session)
    register(user=english, session=session)
    deliver_pending()

    [to_french] = mail_for(smtp, french.email)
    [to_english] = mail_for(smtp, english.email)
    assert to_french["Subject"].endswith(f"Inscription confirmée{NBSP}: Aperçu du modèle")
    assert "Aperçu du modèle" in bodies(to_french)[0]
    assert "Aperçu du modèle" in parse_calendar(calendar_part(to_french)).ical.to_ical().decode()
    assert to_english["Subject"].endswith("You're in: Model preview")
    assert "Aperçu" not in bodies(to_english)[0] + bodies(to_english)[1]
    assert str(parse_calendar(calendar_part(to_english)).ical.walk("VEVENT")[0]["SUMMARY"]) == (
        "Model preview"
    )


def test_an_invitee_without_an_account_reads_the_teams_language_then_the_one_they_used(smtp):
    owner = OrganizerFactory()
    team = french_team(owner=owner)
    event = EventFactory(team=team, title="Aperçu privé", registration_mode="invitation")
    session = SessionFactory(event=event, starts_at=START, ends_at=START + timedelta(hours=1))

    invitation = invite_one(session, "zoe@example.com")
    deliver_pending()
    [first] = mail_for(smtp, "zoe@example.com")
    assert first["Subject"].endswith(f"Vous êtes invité{NBSP}: Aperçu privé")
    text, html = bodies(first)
    assert "Accepter ou refuser" in html and "Accept or decline" not in html
    # Without an account (nor a zone of her own) the times are in UTC, said in French too.
    assert fr("mardi 8 décembre 2037, 14 h 00") in text
    assert "Les horaires sont indiqués dans le fuseau horaire UTC." in text
    for word in ENGLISH:
        assert word not in text and word not in html, word

    # Zoe read the invitation's page in English; the language she used is kept on it.
    Invitation.objects.filter(pk=invitation.pk).update(language="en")
    invitation_service.resend(invitation=invitation, actor=owner)
    deliver_pending()

    again = mail_for(smtp, "zoe@example.com")[-1]
    assert again["Subject"].endswith("You're invited: Aperçu privé")
    text, html = bodies(again)
    assert "Accept or decline" in html and "Tue 8 Dec 2037, 14:00" in text
    assert "Bonjour" not in text


def test_an_open_call_submitter_reads_the_language_their_submission_was_written_in(smtp):
    organizer = OrganizerFactory()
    call = OpenCallFactory(organizer=organizer, title="Tell us")
    open_calls.set_status(call=call, actor=organizer, published=True)
    assert call.team.language == "en"

    submitted = open_calls.submit(
        call=call, email="lea@example.com", profile={"name": "Léa"}, answers={}
    )
    Submission.objects.filter(pk=submitted.submission.pk).update(language="fr")
    deliver_pending()

    [confirm] = mail_for(smtp, "lea@example.com")
    assert confirm["Subject"].endswith(f"Confirmez votre adresse e-mail{NBSP}: Tell us")
    text, html = bodies(confirm)
    assert text.startswith("Bonjour,")  # her name is kept once she confirms
    assert "Confirmer mon adresse e-mail" in html
    assert "Tant que vous n’avez pas confirmé" in text
    for word in ENGLISH:
        assert word not in text and word not in html, word


def test_the_site_language_is_used_when_nothing_is_known(smtp):
    session = SessionFactory(starts_at=START, ends_at=START + timedelta(hours=1))
    someone = UserFactory()
    assert someone.language == "" and session.event.team.language == "en"

    with translation.override("fr"):  # whoever is at work reads French: not the recipient
        register(user=someone, session=session)
        deliver_pending()

    [message] = mail_for(smtp, someone.email)
    assert message["Subject"].endswith("You're in: " + session.event.title)
    assert "Your seat is confirmed." in bodies(message)[0]


def test_a_language_without_a_catalogue_falls_back_to_the_next_known_one(smtp):
    team = french_team()
    session = SessionFactory(event=EventFactory(team=team), starts_at=START)
    someone = UserFactory(language="xx")  # not one of settings.LANGUAGES: the team's then

    register(user=someone, session=session)
    deliver_pending()

    [message] = mail_for(smtp, someone.email)
    assert "Votre place est confirmée." in bodies(message)[0]
    assert Notification.objects.get(recipient=someone).status == Notification.Status.SENT


def test_the_script_catalogue_has_the_scripts_sentences_in_french():
    client = Client()
    catalogue = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    english = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Pas compt" in catalogue
    assert "personnes remplissent ces conditions" in catalogue
    assert "Décompte impossible" in catalogue or "D\\u00e9compte impossible" in catalogue
    assert "Pas compt" not in english


# Words of our English templates: none may be left in a French message (people's own words,
# here hostile titles and names, and links are not ours to translate).
ENGLISH = [
    "Hello",
    "Times are",
    "Event page",
    "My sessions",
    "Where:",
    "Join online",
    "Can't make it",
    "calendar invite",
    "Accept or decline",
    "Your ",
    "your ",
    "The ",
    " the ",
    "You're",
]


def test_every_kind_of_registration_news_reads_french_to_a_french_reader():
    rows = every_kind_of_row()
    User.objects.update(language="fr")

    assert set(rows) == set(registration_messages.KINDS)
    for kind, row in rows.items():
        row = Notification.objects.get(pk=row.pk)  # as the worker loads it
        message = rendering.build(row)
        text, rich = message.body, message.alternatives[0].content
        assert "Bonjour" in text and "Bonjour" in rich, kind
        for word in ENGLISH:
            assert word not in message.subject, (kind, word)
            assert word not in text.replace(EVIL, ""), (kind, word, text)
            assert word not in rich.replace(ESCAPED_EVIL, ""), (kind, word)
        # What people typed is still escaped in the French HTML.
        assert ESCAPED_EVIL in rich and "<script>" not in rich, kind


def test_a_team_invitation_reads_the_teams_language(smtp):
    owner = OrganizerFactory()
    team = french_team(owner=owner, name="Lancement")

    teams.invite_member(team=team, actor=owner, email="dana@example.com", role="organizer")
    deliver_pending()

    [message] = mail_for(smtp, "dana@example.com")
    assert "Rejoindre Lancement en tant que" in message["Subject"]
    text, html = bodies(message)
    assert "vous invite à rejoindre l’équipe" in text
    assert "Voir l’invitation" in html
    for word in ENGLISH:
        assert word not in text.split("--")[0].replace("dana@example.com", ""), word


def test_a_survey_reaches_an_attendee_of_a_french_team_in_french(smtp):
    team = french_team()
    event = EventFactory(team=team, title="Aperçu", checkin_enabled=False)
    session = SessionFactory(event=event, capacity=10)
    [seated] = seat(session)
    survey = survey_for(event, [("rating", "How was it?", None, True)])
    surveys.start_sending(survey=survey, actor=None)
    end(session)
    surveys.queue_due()

    deliver_pending()

    confirmed, message = mail_for(smtp, seated.user.email)
    assert "Inscription confirmée" in confirmed["Subject"]
    assert message["Subject"].endswith(f"Votre avis sur Aperçu{NBSP}: un court questionnaire")
    text, html = bodies(message)
    assert "Il y a 1 question et cela ne prend que quelques minutes." in text
    assert "Répondre au questionnaire" in html
    assert "Désabonnez-vous" in html  # programme mail: its unsubscribe line in French too
    for word in ENGLISH:
        assert word not in text, word


def test_why_a_message_was_skipped_is_kept_in_english_and_can_be_shown_in_french(smtp):
    session = SessionFactory(starts_at=START, ends_at=START + timedelta(hours=1))
    someone = UserFactory(language="fr")
    registration = register(user=someone, session=session)
    cancel(registration=registration, actor=someone)

    deliver_pending()

    confirmed = Notification.objects.get(recipient=someone, kind=Notification.Kind.CONFIRMED)
    assert confirmed.status == Notification.Status.SKIPPED
    assert confirmed.last_error == "Their seat was given up or taken away before this went out."
    with translation.override("fr"):
        assert translation.gettext(confirmed.last_error) == (
            "La place a été libérée ou retirée avant le départ de ce message."
        )
