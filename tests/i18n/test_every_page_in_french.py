"""Every page of ours, read in French, has no English sentence left from our own templates.

The pages are the access table's (every organizer URL and every attendee page, as a person the
row is for) plus the pages people reach before they log in. Each is rendered for a reader
whose language is French; its visible text and the attributes people hear or see (aria-label,
title, placeholder, alt, a button's value) are scanned for English words that French never
uses. What the organizers and people of the world wrote themselves (titles, questions, names)
is removed first: their content stays in the language it was written in. CSV and other
non-HTML answers are left to their own tests.
"""

import re
import zoneinfo
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from events.services import contact, invitations, surveys
from tests.factories import EventFactory, RegistrationFactory, SessionFactory
from tests.test_access_table import CASES, build_world

pytestmark = pytest.mark.django_db

# Words that are English and never French (nor proper nouns or codes we show as they are).
_ENGLISH_ONLY = """
    the and your you with this that these those are is was were will would should could
    has have had been being here there their they them what which when where who whom why
    of to for by at it how from into onto about after before between through without
    within yet not no any
    all each every other some such than then too very can cannot may must our ours we us
    its it's don't can't won't isn't aren't doesn't didn't haven't hasn't
    new add save delete edit remove back show hide more less open close closed sign log
    send sent view people person seat seats left full waitlist waitlisted
    register registered registration registrations cancel cancelled confirmed pending
    attended attendance check checked survey surveys answer answers answered yes next
    previous search filter filters download upload settings
    team teams member members owner owners organizer organizers reviewer reviewers
    invited call calls draw draws sample none nothing
    only also just still already again now today tomorrow yesterday week weeks day days
    hour hours time times event events
"""
ENGLISH_ONLY = frozenset(_ENGLISH_ONLY.split())
# Words that are the same in both languages or names we keep: never reported.
_ALLOWED = """
    session sessions description notes note total contact panel segment segments quota
    quotas thème email e-mail emails csv json ics qr nps url utc github google outlook
    apple markdown ok menu
"""
ALLOWED = frozenset(_ALLOWED.split())
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Addresses and paths ("/call/<short name>/", "https://...") are not sentences.
ADDRESS = re.compile(r"\S*/\S*")
# Codes a person types as they are, quoted or listed ("« yes » ou « no »", "Rôles : developer,
# researcher, community, other", "registration.created"): values, not sentences.
CODES = re.compile(
    r"«\s*[a-z0-9=.,\s]+\s*»"
    r"|\b[a-z]+(?:=\d+)?(?:, [a-z]+(?:=\d+)?)+\b"
    r"|\b[a-z_]+\.[a-z_]+\b"  # an event type a webhook names: registration.created
)
ZONES = frozenset(name.replace("_", " ") for name in zoneinfo.available_timezones())
# Stored values that are codes, not words someone wrote ("confirmed", "short_text"): removing
# them from a page would hide the very English words the scan looks for.
MACHINE = re.compile(r"^[a-z0-9_.:-]+$")
MARKUP = re.compile(r"\*\*|__|[*_`#>\n]")
SHOWN_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")


class VisibleText(HTMLParser):
    """The text a person reads or hears on a page: text outside scripts and styles, and the
    attributes a screen reader or a tooltip says."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self.hidden += 1
        found = dict(attrs)
        for name in SHOWN_ATTRIBUTES:
            if found.get(name):
                self.parts.append(found[name] or "")
        if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
            self.parts.append(found["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.parts.append(data)


def written_by_people() -> list[str]:
    """Every text value in the database: what organizers and people wrote (titles, names,
    questions, answers, addresses), which stays in its own language. Longest first, so a
    title is removed before a word of it."""
    texts: set[str] = set()
    for model in apps.get_models():
        if model._meta.app_label not in ("events", "accounts"):
            continue
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField) and not f.choices
        ]
        for row in model.objects.values_list(*fields) if fields else ():
            for value in row:
                if not isinstance(value, str) or len(value) < 3:
                    continue
                if "@" in value:  # an address, shown whole or by its name part
                    texts.add(value.split("@")[0])
                if not MACHINE.match(value) or "-" in value:  # a slug is shown as it is
                    texts.add(value)
                    # Markdown is rendered in pieces: "think of the **new model**".
                    texts.update(p.strip() for p in MARKUP.split(value) if len(p.strip()) > 2)
    texts.add(settings.SITE_NAME)
    return sorted(texts, key=len, reverse=True)


def english_in(html: str, content: list[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    found = []
    for part in parser.parts:
        text = " ".join(part.split())
        if text in ZONES:
            continue
        text = CODES.sub(" ", ADDRESS.sub(" ", text))
        for written in content:
            if written in text:
                text = text.replace(written, " ")
        words = {w.lower().strip("'’") for w in WORD.findall(text)}
        if (words & ENGLISH_ONLY) - ALLOWED:
            found.append(text.strip()[:400])
    return found


def reader_for(case, w):
    """A person the row is for, preferring the team's owner, then the attendee."""
    for role in ("owner", "attendee", "organizer", "reviewer", "door", "other_user"):
        if role in case.roles:
            return getattr(w, role)
    return None


def join_links_in_every_state(w) -> dict[str, str]:
    """A personal join link's page as each kind of attendee finds it."""
    now = timezone.now()

    def link(starts_in: timedelta, **fields) -> str:
        session = SessionFactory(
            event=fields.pop("event", w.event),
            starts_at=now + starts_in,
            ends_at=now + starts_in + timedelta(hours=1),
            location="",
            online_url="https://meet.example.com/room",
        )
        registration = RegistrationFactory(session=session, **fields)
        return reverse("events:join", args=[registration.join_token])

    secret = EventFactory(team=w.team, terms_text="Tout reste entre nous.", terms_version=1)
    return {
        "join link, in person": reverse("events:join", args=[w.registration.join_token]),
        "join link, early": link(timedelta(days=2)),
        "join link, open": link(timedelta(minutes=5)),
        "join link, over": link(timedelta(hours=-3)),
        "join link, terms": link(timedelta(minutes=5), event=secret),
        "join link, not seated": link(timedelta(minutes=5), status="cancelled"),
        "forged join link": reverse("events:join", args=["f" * 32]),
    }


def test_every_page_reads_in_french_without_english_from_our_templates() -> None:
    with translation.override("fr"):
        w = build_world()
        join_pages = join_links_in_every_state(w)
    content = written_by_people()
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for case in CASES:
        if case.method != "GET" or case.refused or case.name in seen:
            continue
        seen.add(case.name)
        person = reader_for(case, w)
        client = Client(HTTP_ACCEPT_LANGUAGE="fr")
        if person is not None:
            person.language = "fr"
            person.save(update_fields=["language"])
            client.force_login(person)
        response = client.get(reverse(case.name, args=case.args(w)))
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        assert '<html lang="fr">' in html, case.name
        english = english_in(html, content)
        if english:
            problems[case.name] = english
    # The pages people reach before logging in, and the links mail brings them to.
    before_login = {
        "log in": reverse("account_login"),
        "sign up": reverse("account_signup"),
        "password reset": reverse("account_reset_password"),
        "home": reverse("home"),
        "invitation": reverse("events:invitation", args=[invitations.token_for(w.invitation)]),
        "survey": reverse("events:survey", args=[surveys.token_for(w.recipient)]),
        "open call": reverse("events:call", args=[w.call.slug]),
        "unsubscribe": reverse(
            "events:unsubscribe", args=[contact.unsubscribe_token(w.team.pk, "pool@example.com")]
        ),
        "not found": "/no-such-page/",
        "forged invitation": reverse("events:invitation", args=["forged"]),
        **join_pages,
    }
    for name, url in before_login.items():
        response = Client(HTTP_ACCEPT_LANGUAGE="fr").get(url)
        assert response.status_code in (200, 404), (name, response.status_code)
        english = english_in(response.content.decode(), content)
        if english:
            problems[name] = english
    report = "\n".join(f"{name}: {lines[:6]}" for name, lines in sorted(problems.items()))
    assert not problems, f"English left on {len(problems)} French pages:\n{report}"


def test_the_scan_sees_an_english_sentence_and_ignores_content() -> None:
    """The negative control: the scan must notice an unmarked sentence, in text and in an
    attribute, and must not report what people wrote."""
    page = (
        '<main><h1>Atelier</h1><p>Vous êtes inscrit.</p><button aria-label="Save your seat">'
        "ok</button><p>Feedback on the prototype</p></main>"
    )
    assert english_in(page, []) == ["Save your seat", "Feedback on the prototype"]
    assert english_in(page, ["Feedback on the prototype"]) == ["Save your seat"]
    assert english_in("<p>Vous êtes sur la liste d’attente.</p>", []) == []
