"""The respondent's form is usable with a screen reader and on a phone: every input has a
label, each choice question is a fieldset with its question as legend, every error and hint
is tied to its question, and ids are unique."""

from collections import Counter
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.surveys.conftest import (
    EVERY_KIND,
    Kind,
    field,
    invite,
    link,
    questions_of,
    survey_for,
)

pytestmark = pytest.mark.django_db


class Tags(HTMLParser):
    """Each start tag in the form as (tag, attributes, the fieldsets it sits in)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict, int]] = []
        self.open_fieldsets = 0
        self.legends = 0

    def handle_starttag(self, tag, attrs):
        if tag == "fieldset":
            self.open_fieldsets += 1
        if tag == "legend":
            self.legends += 1
        self.tags.append((tag, dict(attrs), self.open_fieldsets))

    def handle_endtag(self, tag):
        if tag == "fieldset":
            self.open_fieldsets -= 1


def parse(html: str) -> Tags:
    form = html[html.index("<form") : html.index("</form>")]
    tags = Tags()
    tags.feed(html[: html.index("<form")].rsplit("<main", 1)[-1] + form)
    return tags


@pytest.fixture
def survey(event):
    kinds = [(k, label, choices, required) for k, label, choices, required in EVERY_KIND]
    kinds.append((Kind.SINGLE, "Helpful?", ["Yes", "No"], True))
    survey = survey_for(event, kinds)
    question = questions_of(survey)[2]
    question.help_text = "The one you spent most time in."
    question.save(update_fields=["help_text"])
    return survey


@pytest.fixture
def page(survey, session):
    recipient = invite(survey, UserFactory(), session)
    # Answer wrongly, so every kind of error markup is there too.
    questions = questions_of(survey)
    response = Client().post(
        link(recipient),
        {field(questions[1]): "11", field(questions[4]): "x" * 301},
    )
    assert response.status_code == 400
    return response.content.decode()


def test_every_input_has_a_label(page):
    tags = parse(page)
    labelled = {attrs["for"] for tag, attrs, _ in tags.tags if tag == "label" and "for" in attrs}
    inputs = [
        attrs
        for tag, attrs, _ in tags.tags
        if tag in ("input", "textarea", "select") and attrs.get("type") != "hidden"
    ]

    assert len(inputs) == 5 + 11 + 3 + 3 + 1 + 1 + 2
    assert [a.get("id") for a in inputs if a.get("id") not in labelled] == []


def test_choice_and_scale_questions_are_fieldsets_with_a_legend(page, survey):
    tags = parse(page)
    grouped = [
        attrs
        for tag, attrs, depth in tags.tags
        if tag == "input" and attrs.get("type") in ("radio", "checkbox")
    ]
    fieldsets = [attrs for tag, attrs, _ in tags.tags if tag == "fieldset"]

    assert len(fieldsets) == tags.legends == 5
    assert all(
        depth == 1
        for tag, attrs, depth in tags.tags
        if tag == "input" and attrs.get("type") in ("radio", "checkbox")
    )
    assert len(grouped) == 24


def test_hints_and_errors_are_tied_to_their_question(page):
    tags = parse(page)
    ids = [attrs["id"] for _, attrs, _ in tags.tags if "id" in attrs]
    described = [
        attrs["aria-describedby"] for _, attrs, _ in tags.tags if "aria-describedby" in attrs
    ]

    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert all(value.strip() for value in described), described
    assert {ref for value in described for ref in value.split()} <= set(ids)
    invalid = [attrs for _, attrs, _ in tags.tags if attrs.get("aria-invalid") == "true"]
    # The missing rating and yes/no, the NPS of 11, the too long text.
    assert len(invalid) == 4
    assert all(attrs["aria-describedby"].endswith("-error") for attrs in invalid)


def test_required_questions_say_so_to_screen_readers(page):
    assert page.count('<span class="sr-only"> (required)</span>') == 2
