"""The journeys once more, in French: a developer whose browser asks for French signs up,
takes a seat and finds it in "Mes sessions"; the organizer (French in their profile) reads the
registrations table; an attendee answers the survey from the link in its French mail, on a
phone. Every page is checked with axe and screenshotted (tests/browser/tabs.py), and each
says `lang="fr"`, so a screen reader reads it with a French voice.

Mail goes through the real outbox and a real SMTP server."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Notification, Registration, Session
from events.outbox import delivery
from events.services import surveys
from events.services.registration import register
from tests.factories import (
    PASSWORD,
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
)

from .steps import confirmation_link, open_menu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def deliver_pending() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        delivery.deliver(notification_id=pk)


def in_french(tab) -> None:
    expect(tab.page.locator("html")).to_have_attribute("lang", "fr")


def test_a_french_developer_signs_up_takes_a_seat_and_the_organizer_reads_the_table(open_tab, smtp):
    organizer = OrganizerFactory(email="odile@example.com", display_name="Odile", language="fr")
    event = EventFactory(
        title="Open model feedback",
        translations={"fr": {"title": "Retours sur le modèle ouvert"}},
        kind="feedback",
    )
    add_to_team(event.team, organizer)
    session = SessionFactory(event=event, capacity=8, title="Créneau européen")

    tab = open_tab("développeuse", locale="fr-FR")
    page = tab.page
    tab.visit("/", "accueil")
    in_french(tab)
    open_menu(tab)
    tab.click(page.get_by_role("link", name="Créer un compte"), "formulaire d’inscription")
    page.get_by_label("E-mail").fill("dev@example.com")
    page.get_by_label("Votre nom").fill("Dana")
    page.get_by_label(re.compile(r"^Mot de passe\s*:?$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"Mot de passe \(")).fill(PASSWORD)
    tab.click(page.get_by_role("button", name="Créer un compte"), "vérifiez votre e-mail")
    in_french(tab)
    deliver_pending()  # the mail worker's part: allauth's mail goes through the outbox
    [mail] = smtp.to("dev@example.com")
    assert "Confirmez votre adresse e-mail" in mail["Subject"]  # allauth's French mail
    tab.visit(confirmation_link(smtp, "dev@example.com"), "confirmer l’adresse")
    tab.click(page.get_by_role("button", name="Confirmer"), "adresse confirmée")
    expect(page.get_by_role("navigation", name="Principale")).to_contain_text("Dana")

    # The event list, filtered, shows the French title the organizer wrote.
    filters = page.get_by_role("navigation", name="Filtrer les événements")
    tab.click(filters.get_by_role("link", name="Sessions de retours"), "sessions de retours")
    tab.click(page.get_by_role("link", name="Retours sur le modèle ouvert"), "l’événement")
    slot = page.locator(".session-card", has_text="Créneau européen")
    tab.click(slot.get_by_role("button", name="S’inscrire"), "inscrite")
    expect(page.locator(".messages")).to_contain_text("votre place est confirmée")
    expect(page.locator("body")).not_to_contain_text("seats left")

    tab.click(page.get_by_role("link", name="Mes sessions"), "mes sessions")
    mine = page.locator(".registration-row", has_text="Retours sur le modèle ouvert")
    expect(mine).to_contain_text("Confirmé")
    assert Registration.objects.get(user__email="dev@example.com").status == "confirmed"
    deliver_pending()
    [confirmation] = [m for m in smtp.to("dev@example.com") if m is not mail]
    assert "Retours sur le modèle ouvert" in confirmation["Subject"], confirmation["Subject"]

    # The organizer's browser asks for English; their profile says French, which wins once
    # they are logged in.
    org = open_tab("organisatrice")
    org.visit("/accounts/login/", "log in")
    org.page.get_by_label("Email").fill(organizer.email)
    org.page.get_by_label("Password:", exact=True).fill(PASSWORD)
    org.click(org.page.get_by_role("button", name="Log in"), "connectée")
    expect(org.page.get_by_role("navigation", name="Principale")).to_contain_text("Odile")
    org.visit(f"/manage/sessions/{session.pk}/registrations/", "inscriptions")
    in_french(org)
    expect(org.page.get_by_role("heading", level=1)).to_contain_text("Inscriptions")
    table = org.page.locator("table").first
    expect(table).to_contain_text("Dana")
    expect(table).to_contain_text("Confirmé")
    expect(org.page.locator("main")).not_to_contain_text("Registrations")


def test_a_french_attendee_answers_the_survey_from_its_french_mail_on_a_phone(open_tab, smtp):
    organizer = OrganizerFactory(email="odile@example.com", display_name="Odile")
    event = EventFactory(title="Démo du prototype", checkin_enabled=False)
    event.team.language = "fr"
    event.team.save(update_fields=["language"])
    add_to_team(event.team, organizer)
    session = SessionFactory(event=event)
    attendee = UserFactory(email="ana@example.com", display_name="Ana", language="fr")
    register(user=attendee, session=session)
    survey = surveys.create_survey(event=event, actor=organizer)
    surveys.start_sending(survey=survey, actor=organizer)
    ended = timezone.now() - timedelta(hours=3)
    Session.objects.filter(pk=session.pk).update(
        starts_at=ended - timedelta(hours=1), ends_at=ended
    )
    surveys.session_changed(Session.objects.get(pk=session.pk))
    assert surveys.queue_due() == 1
    deliver_pending()
    [mail] = [m for m in smtp.to("ana@example.com") if "questionnaire" in m["Subject"].lower()]
    link = next(u for u in smtp.links(mail) if "/survey/" in u)

    tab = open_tab("participante", phone=True, locale="fr-FR")
    page = tab.page
    tab.visit(urlsplit(link).path, "questionnaire")
    in_french(tab)
    page.get_by_label(re.compile("Que devrions-nous changer ou améliorer")).fill(
        "Plus de pratique."
    )
    tab.click(page.get_by_role("button", name="Envoyer mes réponses"), "réponse manquante")
    expect(page.locator(".field-invalid").first).to_contain_text(
        "Cette question demande une réponse."
    )
    rating = page.get_by_role("group", name=re.compile("quelle note donneriez-vous"))
    rating.get_by_label("4", exact=True).check()
    tab.click(page.get_by_role("button", name="Envoyer mes réponses"), "merci")
    expect(page.get_by_role("heading", name="Merci")).to_be_visible()
    assert tab.fits_the_screen()
