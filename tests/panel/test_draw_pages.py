"""The draw pages as an organizer uses them: from a segment, draw a sample with a minimum
share and a cap, read who was picked and why others were not, hand the picked people to the
invitation page; bad input as a 400 that writes nothing; reviewers read, door staff get a
404; query counts that do not grow with the panel."""

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Draw, PanelMember
from events.services import draws
from tests.factories import (
    EventFactory,
    PanelMemberFactory,
    SegmentFactory,
    as_role,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner)


@pytest.fixture
def segment(team):
    return SegmentFactory(
        team=team, name="Everyone", definition=[{"field": "consent", "op": "is", "value": True}]
    )


def picked_emails(html: str) -> list[str]:
    return re.findall(r'<tr class="picked">.*?data-email="([^"]+)"', html, re.S)


def the_form(**extra) -> dict:
    return {"size": "4", "seed": "s1"} | extra


def test_an_organizer_draws_a_sample_with_a_minimum_and_a_cap_and_sees_why_others_were_not(
    team, owner_client
):
    # Everyone in the panel, those known only from an event (no consent) too.
    segment = SegmentFactory(
        team=team, name="Everyone", definition=[{"field": "attended", "op": "lte", "value": 5}]
    )
    for n in range(6):
        PanelMemberFactory(team=team, email=f"d{n}@x.org", role="developer", affiliation="Acme")
    for n in range(3):
        PanelMemberFactory(team=team, email=f"r{n}@x.org", role="researcher", affiliation=f"L{n}")
    PanelMemberFactory(team=team, email="quiet@x.org", consent=False, registrations=1)
    form_page = owner_client.get(reverse("manage:draw_new", args=[segment.pk]))
    assert form_page.status_code == 200
    assert 'for="m-0-share"' in form_page.content.decode()

    response = owner_client.post(
        reverse("manage:draw_new", args=[segment.pk]),
        the_form(
            **{
                "m-0-field": "role",
                "m-0-value": "researcher",
                "m-0-share": "50",
                "k-0-field": "affiliation",
                "k-0-limit": "1",
                "k-0-unit": "people",
            }
        ),
    )
    drawn = Draw.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("manage:draw", args=[drawn.pk])
    html = owner_client.get(response["Location"]).content.decode()

    shown = picked_emails(html)
    assert len(shown) == 4
    assert sum(e.startswith("r") for e in shown) == 3
    assert sum(e.startswith("d") for e in shown) == 1  # at most one from Acme
    assert "s1" in html
    assert "cap reached: at most 1 per affiliation" in html
    assert draws.NO_CONSENT in html
    assert "quiet@x.org" in html  # among the first passed over, with the reason
    assert "From “Everyone”: attended at most 5 times" in unescape(html)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"size": "0"}, "The sample's size: from 1 to 1,000."),
        ({"size": "lots"}, "is not a whole number"),
        (
            {"m-0-field": "role", "m-0-value": "researcher", "m-0-share": "150"},
            "Minimum 1, its share: from 0 to 100.",
        ),
        (
            {
                "m-0-field": "role",
                "m-0-value": "researcher",
                "m-0-share": "70",
                "m-1-field": "role",
                "m-1-value": "developer",
                "m-1-share": "40",
            },
            "add up to more than 100%",
        ),
        ({"m-0-field": "role", "m-0-value": "", "m-0-share": "10"}, "give the value"),
        ({"m-0-field": "height", "m-0-value": "x", "m-0-share": "10"}, "not a field to draw by"),
        ({"k-0-field": "affiliation", "k-0-limit": "0", "k-0-unit": "people"}, "from 1 to"),
        ({"k-0-field": "affiliation", "k-0-limit": "0", "k-0-unit": "percent"}, "from 1 to 100"),
        ({"seed": "two words"}, "The seed is 1 to 64 letters"),
    ],
)
def test_bad_input_is_a_400_with_the_form_as_typed_and_nothing_is_written(
    team, segment, owner_client, data, message
):
    PanelMemberFactory(team=team)

    response = owner_client.post(reverse("manage:draw_new", args=[segment.pk]), the_form(**data))

    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert message in html
    assert 'role="alert"' in html
    assert not Draw.objects.exists()


def test_the_picked_people_arrive_on_the_invitation_page_and_nobody_else(
    team, segment, owner, owner_client
):
    event = EventFactory(organizer=owner, team=team, title="Preview")
    for n in range(8):
        PanelMemberFactory(team=team, email=f"p{n}@x.org", name=f"P {n}")
    drawn = draws.draw_sample(team=team, actor=owner, segment=segment, size=3, seed="x")
    # One of them withdraws their consent after the draw: they are not handed on.
    withdrawn = PanelMember.objects.get(pk=drawn.picked[0])
    PanelMember.objects.filter(pk=withdrawn.pk).update(consent=False, registrations=1)
    picked = list(
        PanelMember.objects.filter(pk__in=drawn.picked[1:]).values_list("email", flat=True)
    )

    response = owner_client.post(
        reverse("manage:draw_invite", args=[drawn.pk]), {"event": str(event.pk)}
    )
    assert response["Location"] == reverse("manage:invite", args=[event.pk]) + "?from_pool=1"
    page = owner_client.get(response["Location"]).content.decode()

    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S)
    assert textarea is not None
    lines = [line for line in unescape(textarea[1]).strip().splitlines() if line]
    assert sorted(re.search(r"<(.+)>", line)[1] for line in lines) == sorted(picked)


def test_inviting_to_an_event_of_another_team_hands_nobody_on(
    team, segment, owner, owner_client, other_team
):
    PanelMemberFactory(team=team)
    drawn = draws.draw_sample(team=team, actor=owner, segment=segment, size=1)
    theirs = EventFactory(team=other_team)

    response = owner_client.post(
        reverse("manage:draw_invite", args=[drawn.pk]), {"event": str(theirs.pk)}
    )

    assert response["Location"] == reverse("manage:draw", args=[drawn.pk])
    assert "invitation-from-pool" not in owner_client.session


def test_drawing_again_with_the_seed_picks_the_same_people(team, segment, owner, owner_client):
    PanelMemberFactory.create_batch(20, team=team)
    drawn = draws.draw_sample(team=team, actor=owner, segment=segment, size=5)

    response = owner_client.post(reverse("manage:draw_rerun", args=[drawn.pk]))

    again = Draw.objects.exclude(pk=drawn.pk).get()
    assert response["Location"] == reverse("manage:draw", args=[again.pk])
    assert (again.seed, again.picked) == (drawn.seed, drawn.picked)


def test_the_draws_list_shows_who_drew_when_the_seed_and_the_segment_as_it_was(
    team, segment, owner, owner_client
):
    PanelMemberFactory(team=team)
    draws.draw_sample(team=team, actor=owner, segment=segment, size=1, seed="listed-seed")
    segment.name = "Renamed"
    segment.definition = [{"field": "attended", "op": "gte", "value": 2}]
    segment.save()

    html = owner_client.get(reverse("manage:draws", args=[team.slug])).content.decode()

    assert "listed-seed" in html
    assert "Everyone: agreed to be contacted" in html
    assert owner.name in html


def test_reviewers_read_draws_but_do_not_draw_and_door_staff_see_nothing(
    team, segment, owner, client_for
):
    event = EventFactory(organizer=owner, team=team)
    PanelMemberFactory(team=team)
    drawn = draws.draw_sample(team=team, actor=owner, segment=segment, size=1)
    reviewer = as_role(team, "reviewer", client_for)
    door = as_role(team, "door", client_for)

    page = reviewer.get(reverse("manage:draw", args=[drawn.pk]))
    assert page.status_code == 200
    assert "Invite these to" not in page.content.decode()
    assert reviewer.get(reverse("manage:draw_new", args=[segment.pk])).status_code == 404
    handed = reviewer.post(reverse("manage:draw_invite", args=[drawn.pk]), {"event": event.pk})
    assert handed.status_code == 404
    assert door.get(reverse("manage:draw", args=[drawn.pk])).status_code == 404
    assert door.get(reverse("manage:draws", args=[team.slug])).status_code == 404


def test_a_segment_page_offers_the_draw_to_those_who_may_draw(
    team, segment, owner_client, client_for
):
    link = reverse("manage:draw_new", args=[segment.pk])
    url = reverse("manage:segment", args=[segment.pk])
    assert link in owner_client.get(url).content.decode()
    assert link not in as_role(team, "reviewer", client_for).get(url).content.decode()


def test_drawing_and_the_draw_page_take_as_many_queries_at_500_people_as_at_5(
    team, segment, owner, owner_client
):
    EventFactory(organizer=owner, team=team)

    def people(start: int, count: int) -> None:
        PanelMember.objects.bulk_create(
            PanelMember(
                team=team,
                email=f"p{n:04}@x.org",
                role="researcher" if n % 3 else "developer",
                affiliation=f"Org {n % 7}",
                consent=bool(n % 10),
            )
            for n in range(start, start + count)
        )

    form = the_form(
        size="5",
        **{
            "m-0-field": "role",
            "m-0-value": "developer",
            "m-0-share": "40",
            "k-0-field": "affiliation",
            "k-0-limit": "2",
        },
    )

    def measure() -> tuple[list, list, str]:
        with CaptureQueriesContext(connection) as drawing:
            response = owner_client.post(reverse("manage:draw_new", args=[segment.pk]), form)
        assert response.status_code == 302
        with CaptureQueriesContext(connection) as page:
            html = owner_client.get(response["Location"]).content.decode()
        return drawing.captured_queries, page.captured_queries, html

    people(0, 5)
    few_drawing, few_page, _ = measure()
    people(5, 495)
    many_drawing, many_page, html = measure()

    assert len(picked_emails(html)) == 5
    assert len(many_drawing) == len(few_drawing)
    assert len(many_page) == len(few_page)
