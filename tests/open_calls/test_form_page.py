"""The public form as people (and screen readers) meet it: a label on every input, every
description and error tied to its field, the honeypot out of reach, and what was typed kept."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.factories import UserFactory

from .conftest import call_url, form_data, questions

pytestmark = pytest.mark.django_db

VOID = {"input", "br", "hr", "img", "meta", "link", "source", "wbr"}


class Page(HTMLParser):
    """Every element with its attributes and its open ancestors."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict, list[tuple[str, dict]]]] = []
        self.stack: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes, list(self.stack)))
        if tag not in VOID:
            self.stack.append((tag, attributes))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def ids(self) -> set[str]:
        return {a["id"] for _, a, _ in self.elements if a.get("id")}

    def form_controls(self):
        for tag, attrs, ancestors in self.elements:
            if tag in {"input", "select", "textarea"} and attrs.get("type") not in {
                "hidden",
                "submit",
            }:
                if any(a.get("action") for t, a in ancestors if t == "form"):
                    continue  # another form on the page (e.g. the log-out button)
                yield attrs, ancestors


def controls_without_labels(page: Page) -> list[str]:
    labelled = {a.get("for") for t, a, _ in page.elements if t == "label"}
    missing = []
    for attrs, ancestors in page.form_controls():
        wrapped = any(t == "label" for t, _ in ancestors)
        if not wrapped and attrs.get("id") not in labelled and not attrs.get("aria-label"):
            missing.append(attrs.get("name", "?"))
    return missing


def broken_references(page: Page) -> list[str]:
    known = page.ids()
    return [
        ref
        for _, attrs, _ in page.elements
        for ref in attrs.get("aria-describedby", "").split()
        if ref not in known
    ]


def test_every_input_of_the_form_has_a_label(call):
    page = Page(Client().get(call_url(call)).content.decode())
    assert list(page.form_controls())
    assert controls_without_labels(page) == []


def test_every_description_and_error_the_fields_point_at_exists(call):
    q = questions(call)
    bad = form_data(call, email="not an email", name="", role=None, consent=None)
    bad[f"q{q.rating.pk}"] = "9"
    bad[f"q{q.short.pk}"] = "x" * 301
    body = Client().post(call_url(call), bad).content.decode()
    page = Page(body)
    assert broken_references(page) == []
    assert broken_references(Page(Client().get(call_url(call)).content.decode())) == []
    # Each error is named by its field (or by the group of radios it belongs to).
    described = {
        ref for _, attrs, _ in page.elements for ref in attrs.get("aria-describedby", "").split()
    }
    errors = {a["id"] for _, a, _ in page.elements if "field-error" in a.get("class", "")}
    assert errors >= {"id_email_error", "id_name_error", "id_role_error", "id_consent_error"}
    assert errors - described == set()
    assert 'role="alert"' in body


def test_the_honeypot_is_out_of_reach_of_keyboards_and_screen_readers(call):
    page = Page(Client().get(call_url(call)).content.decode())
    [(attrs, ancestors)] = [(a, anc) for a, anc in page.form_controls() if a["name"] == "website"]
    assert attrs.get("tabindex") == "-1"
    assert attrs.get("autocomplete") == "off"
    assert any(a.get("aria-hidden") == "true" and "hp" in a.get("class", "") for _, a in ancestors)


def test_a_wrong_field_keeps_everything_typed_including_choices(call):
    q = questions(call)
    data = form_data(call, name="")
    body = Client().post(call_url(call), data).content.decode()
    assert 'value="ada@example.com"' in body and 'value="Example Labs"' in body
    assert re.search(rf'id="q{q.multiple.pk}-0"[^>]*checked', body)
    assert re.search(rf'id="q{q.multiple.pk}-2"[^>]*checked', body)
    assert not re.search(rf'id="q{q.multiple.pk}-1"[^>]*checked', body)
    assert re.search(rf'id="q{q.rating.pk}-4"[^>]*checked', body)
    assert "Agents for code review</textarea>" in body
    assert 'id="id_join_feedback" checked' in body


def test_the_form_fits_a_phone(call):
    body = Client().get(call_url(call)).content.decode()
    assert 'name="viewport" content="width=device-width' in body


def test_a_logged_in_persons_page_has_no_unlabelled_inputs_either(call, client_for):
    page = Page(client_for(UserFactory()).get(call_url(call)).content.decode())
    assert controls_without_labels(page) == []


def test_a_profile_error_and_an_answer_error_are_shown_together_each_beside_its_field(call):
    """The profile fields and the questions are one form: one post reports both."""
    q = questions(call)
    data = form_data(call, name="", **{f"q{q.rating.pk}": "9"})

    response = Client().post(call_url(call), data)

    assert response.status_code == 400
    page = Page(response.content.decode())
    assert {"id_name_error", f"q{q.rating.pk}-error"} <= page.ids()
    assert "Pick a number from 1 to 5." in response.content.decode()
    assert broken_references(page) == []
