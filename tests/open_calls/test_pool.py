"""The pool, as an organizer of the call sees it: filters, history from real invitations and
registrations, reviews, hidden names, tags, CSV and charts; and nobody else sees any of it."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Review, Submission
from events.services import open_calls as service
from tests.factories import (
    EventFactory,
    InvitationFactory,
    OrganizerFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
    organizer_of,
)

from .conftest import in_pool, make_call, questions

pytestmark = pytest.mark.django_db


def shown(client: Client, call, **params) -> set[str]:
    """The emails of the people the pool page lists."""
    response = client.get(reverse("manage:pool", args=[call.pk]), params)
    assert response.status_code == 200
    ids = re.findall(r'name="ids" value="(\d+)"', response.content.decode())
    return set(Submission.objects.filter(pk__in=ids).values_list("email", flat=True))


@pytest.fixture
def people(call, organizer):
    """Five people with different profiles, answers and histories."""
    q = questions(call)
    ada = in_pool(
        call,
        "ada@example.com",
        answers={q.single.pk: 0, q.long.pk: "Agents for code review"},
        role="developer",
        affiliation="Example Labs",
        join_feedback=True,
        consent=True,
    )
    grace = in_pool(
        call,
        "grace@example.com",
        answers={q.single.pk: 1, q.short.pk: "Retrieval at scale"},
        role="researcher",
        affiliation="Navy Research",
        join_demo=True,
        consent=True,
    )
    linus = in_pool(call, "linus@example.com", answers={q.single.pk: 0}, role="developer")
    ken = in_pool(call, "ken@example.com", role="community", affiliation="example labs")
    new = in_pool(call, "new@example.com", role="other")
    # Unconfirmed: never in the pool.
    service.submit(call=call, email="ghost@example.com", profile={"role": "developer"}, answers={})
    event = EventFactory(organizer=organizer)
    session = SessionFactory(event=event)
    past = SessionFactory(event=event, starts_at=timezone.now() - timedelta(days=3))
    past.ends_at = past.starts_at + timedelta(hours=1)
    past.save()
    expires = timezone.now() + timedelta(days=7)
    InvitationFactory(event=event, session=session, email="Grace@Example.com", expires_at=expires)
    InvitationFactory(
        event=event, session=past, email="linus@example.com", status="accepted", expires_at=expires
    )
    RegistrationFactory(
        session=past,
        user=UserFactory(email="linus@example.com"),
        status="confirmed",
        checked_in_at=timezone.now() - timedelta(days=3),
    )
    RegistrationFactory(
        session=past, user=UserFactory(email="ken@example.com"), status="confirmed", no_show=True
    )
    return {"ada": ada, "grace": grace, "linus": linus, "ken": ken, "new": new}


EVERYONE = {
    "ada@example.com",
    "grace@example.com",
    "linus@example.com",
    "ken@example.com",
    "new@example.com",
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, EVERYONE),
        ({"role": "developer"}, {"ada@example.com", "linus@example.com"}),
        ({"affiliation": "example"}, {"ada@example.com", "ken@example.com"}),
        ({"join": "feedback"}, {"ada@example.com"}),
        ({"join": "demo"}, {"grace@example.com"}),
        ({"history": "invited"}, {"grace@example.com", "linus@example.com"}),
        ({"history": "accepted"}, {"linus@example.com"}),
        ({"history": "attended"}, {"linus@example.com"}),
        ({"history": "no_show"}, {"ken@example.com"}),
        ({"history": "new"}, {"ada@example.com", "ken@example.com", "new@example.com"}),
        ({"q": "code REVIEW"}, {"ada@example.com"}),
        ({"q": "retrieval"}, {"grace@example.com"}),
        ({"role": "developer", "history": "new"}, {"ada@example.com"}),
        ({"role": "nonsense"}, EVERYONE),
    ],
)
def test_the_pool_filters_find_exactly_the_matching_people(org, call, people, params, expected):
    assert shown(org, call, **params) == expected


def test_filtering_on_a_choice_answer(org, call, people):
    q = questions(call)
    assert shown(org, call, choice=f"{q.single.pk}:0") == {"ada@example.com", "linus@example.com"}
    assert shown(org, call, choice=f"{q.single.pk}:1") == {"grace@example.com"}
    # Another call's question is ignored, not an error.
    other = make_call(OrganizerFactory(), slug="elsewhere")
    assert shown(org, call, choice=f"{questions(other).single.pk}:0") == EVERYONE


def test_filtering_on_a_tag(org, call, people, organizer):
    service.set_tags(submission=people["ken"], actor=organizer, names=["EU", "shortlist"])
    service.set_tags(submission=people["ada"], actor=organizer, names=["shortlist"])
    assert shown(org, call, tag="eu") == {"ken@example.com"}
    assert shown(org, call, tag="shortlist") == {"ada@example.com", "ken@example.com"}


def test_the_pool_shows_history_badges_from_invitations_and_attendance(org, call, people):
    body = org.get(reverse("manage:pool", args=[call.pk])).content.decode()
    assert body.count(">attended<") == 1
    assert body.count(">invited<") == 1
    assert "1 no-show" in body


@pytest.fixture
def elsewhere(people):
    """Another organizer's event, where Ada was invited, accepted, attended and also
    missed a session: nothing of it is the call organizer's to see."""
    stranger = OrganizerFactory()
    event = EventFactory(organizer=stranger)
    past = SessionFactory(event=event, starts_at=timezone.now() - timedelta(days=5))
    past.ends_at = past.starts_at + timedelta(hours=1)
    past.save()
    later = SessionFactory(event=event, starts_at=timezone.now() - timedelta(days=4))
    later.ends_at = later.starts_at + timedelta(hours=1)
    later.save()
    expires = timezone.now() + timedelta(days=7)
    InvitationFactory(
        event=event, session=past, email="ada@example.com", status="accepted", expires_at=expires
    )
    ada = UserFactory(email="ada@example.com")
    RegistrationFactory(session=past, user=ada, status="confirmed", checked_in_at=past.starts_at)
    RegistrationFactory(session=later, user=ada, status="confirmed", no_show=True)
    return stranger


@pytest.mark.parametrize("history", ["invited", "accepted", "attended", "no_show"])
def test_history_counts_only_the_events_the_viewing_organizer_organizes(
    org, call, people, elsewhere, history
):
    assert "ada@example.com" not in shown(org, call, history=history)
    assert "ada@example.com" in shown(org, call, history="new")


def test_the_pool_shows_no_badge_from_another_organizers_event(org, call, people, elsewhere):
    body = org.get(reverse("manage:pool", args=[call.pk])).content.decode()
    assert body.count(">attended<") == 1  # Linus, at the call organizer's own event
    assert body.count(">accepted<") == 0
    assert "1 no-show" in body and "2 no-shows" not in body


def test_a_pool_counts_the_history_of_its_own_teams_events_whoever_looks(
    call, people, elsewhere, client_for
):
    # `elsewhere` runs an event in another team, where Ada attended; joining the call's team
    # does not bring that team's history into this pool.
    add_to_team(call.team, elsewhere)
    theirs = client_for(elsewhere)
    staff = client_for(UserFactory(is_staff=True))

    for viewer in (theirs, staff):
        assert shown(viewer, call, history="attended") == {"linus@example.com"}
        assert "ada@example.com" in shown(viewer, call, history="new")
    csv_text = b"".join(
        theirs.get(
            reverse("manage:pool_csv", args=[call.pk]), {"history": "attended"}
        ).streaming_content
    ).decode()
    assert "linus@example.com" in csv_text and "ada@example.com" not in csv_text


def test_reviews_show_mean_and_count_and_scoring_again_replaces_ones_own(
    org, call, people, organizer, client_for
):
    colleague = OrganizerFactory()
    add_to_team(call.team, colleague)
    ada = people["ada"]
    url = reverse("manage:submission_review", args=[ada.pk])
    assert org.post(url, {"score": "2", "note": "meh"}).status_code == 302
    assert org.post(url, {"score": "4", "note": "better on reread"}).status_code == 302
    assert client_for(colleague).post(url, {"score": "5"}).status_code == 302
    assert Review.objects.filter(submission=ada).count() == 2
    assert Review.objects.get(reviewer=organizer).note == "better on reread"
    body = org.get(reverse("manage:pool", args=[call.pk])).content.decode()
    assert "4.5 <span" in body and "(2)" in body
    assert "you: 4" in body


@pytest.mark.parametrize("score", ["0", "6", "abc", "", "4.5"])
def test_an_invalid_score_says_so_and_writes_nothing(org, call, people, score):
    url = reverse("manage:submission_review", args=[people["ada"].pk])
    response = org.post(url, {"score": score}, follow=True)
    assert b"Choose a score from 1 to 5" in response.content
    assert not Review.objects.exists()


def test_sorting_by_mean_score_puts_the_best_first_and_the_unreviewed_last(
    org, call, people, organizer
):
    service.review(submission=people["ken"], reviewer=organizer, score=5)
    service.review(submission=people["grace"], reviewer=organizer, score=3)
    service.review(submission=people["ada"], reviewer=organizer, score=1)
    body = org.get(reverse("manage:pool", args=[call.pk]), {"sort": "score"}).content.decode()
    order = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', body)]
    assert order[:3] == [people["ken"].pk, people["grace"].pk, people["ada"].pk]


def test_hiding_names_hides_name_email_and_affiliation_in_the_table_and_the_detail(
    org, call, people
):
    ada = people["ada"]
    body = org.get(reverse("manage:pool", args=[call.pk]), {"blind": "1"}).content.decode()
    for secret in ("ada@example.com", "Ada", "Example Labs", "Navy Research"):
        assert secret not in body, secret
    assert f"Submission #{ada.pk}" in body
    # It stays on for the organizer's next pages, the detail too.
    detail = org.get(reverse("manage:submission", args=[ada.pk])).content.decode()
    for secret in ("ada@example.com", "Example Labs"):
        assert secret not in detail, secret
    assert "Agents for code review" in detail
    shown_again = org.get(reverse("manage:pool", args=[call.pk]), {"blind": "0"}).content.decode()
    assert "ada@example.com" in shown_again


def test_tags_per_person_are_saved_from_the_detail_page(org, call, people):
    ada = people["ada"]
    url = reverse("manage:submission_tags", args=[ada.pk])
    assert org.post(url, {"tags": "Shortlist, eu, shortlist"}).status_code == 302
    assert sorted(ada.tags.values_list("name", flat=True)) == ["eu", "shortlist"]
    org.post(url, {"tags": "eu"})
    assert list(ada.tags.values_list("name", flat=True)) == ["eu"]


def test_bulk_tagging_all_matching_a_filter_tags_exactly_the_filtered_people(org, call, people):
    response = org.post(
        reverse("manage:pool_action", args=[call.pk]),
        {
            "action": "tag",
            "scope": "all",
            "tag": "devs",
            "query": "role=developer",
            "role": "developer",
        },
    )
    assert response.status_code == 302
    tagged = set(Submission.objects.filter(tags__name="devs").values_list("email", flat=True))
    assert tagged == {"ada@example.com", "linus@example.com"}


def test_bulk_tagging_all_matching_a_tag_filter_tags_the_people_with_that_tag(
    org, call, people, organizer
):
    service.set_tags(submission=people["ken"], actor=organizer, names=["eu"])
    service.set_tags(submission=people["grace"], actor=organizer, names=["eu"])
    # The pool page filtered on tag "eu": post its bulk form as a browser would.
    page = org.get(reverse("manage:pool", args=[call.pk]), {"tag": "eu"}).content.decode()
    form = page.split('action="' + reverse("manage:pool_action", args=[call.pk]))[1]
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    data: dict[str, list[str]] = {}
    for name, value in hidden:
        data.setdefault(name, []).append(value.replace("&amp;", "&"))
    data.setdefault("tag", []).append("invite-next")
    data.update({"action": ["tag"], "scope": ["all"]})
    response = org.post(reverse("manage:pool_action", args=[call.pk]), data)
    assert response.status_code == 302
    tagged = set(
        Submission.objects.filter(tags__name="invite-next").values_list("email", flat=True)
    )
    assert tagged == {"ken@example.com", "grace@example.com"}


def test_bulk_tagging_the_ticked_people_ignores_ids_from_another_call(org, call, people, organizer):
    other = make_call(OrganizerFactory(), slug="elsewhere")
    stranger = in_pool(other, "stranger@example.com")
    response = org.post(
        reverse("manage:pool_action", args=[call.pk]),
        {"action": "tag", "scope": "ticked", "tag": "x", "ids": [people["ada"].pk, stranger.pk]},
    )
    assert response.status_code == 302
    assert set(Submission.objects.filter(tags__name="x").values_list("email", flat=True)) == {
        "ada@example.com"
    }


def test_the_csv_has_profile_columns_and_answers_and_is_safe_in_a_spreadsheet(org, call):
    q = questions(call)
    in_pool(
        call,
        "ada@example.com",
        answers={
            q.single.pk: 1,
            q.multiple.pk: [0, 2],
            q.rating.pk: 4,
            q.long.pk: '=HYPERLINK("x")',
        },
        name="@SUM(A1)",
        role="researcher",
        affiliation="+Labs",
        github_handle="ada",
        location="-1",
        join_demo=True,
        consent=True,
    )
    response = org.get(reverse("manage:pool_csv", args=[call.pk]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, row = rows
    cells = dict(zip(header, row, strict=True))
    assert cells["Email"] == "ada@example.com"
    assert cells["Name"] == "'@SUM(A1)"
    assert cells["Affiliation"] == "'+Labs"
    assert cells["Country or time zone"] == "'-1"
    assert cells["Role"] == "researcher"
    assert cells["GitHub"] == "ada"
    assert cells["Would join a prototype demo"] == "yes"
    assert cells["Would join a feedback session"] == "no"
    assert cells["Use"] == "RAG"
    assert cells["Stack"] == "PyTorch; MLX"
    assert cells["Docs"] == "4"
    assert cells["Anything else"] == '\'=HYPERLINK("x")'


def test_the_csv_follows_the_pools_filter(org, call, people):
    response = org.get(reverse("manage:pool_csv", args=[call.pk]), {"role": "developer"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r[2] for r in rows[1:]} == {"ada@example.com", "linus@example.com"}


def test_the_results_page_shows_the_engines_figures_for_a_known_data_set(org, call):
    q = questions(call)
    data = [  # (single, multiple, rating, nps)
        (0, [0, 1], 5, 10),
        (0, [0], 4, 9),
        (1, [2], 3, 7),
        (2, [0, 2], 2, 3),
    ]
    for i, (single, multiple, rating, nps) in enumerate(data):
        in_pool(
            call,
            f"p{i}@example.com",
            answers={
                q.single.pk: single,
                q.multiple.pk: multiple,
                q.rating.pk: rating,
                q.nps.pk: nps,
            },
        )
    results = service.pool_results(call=call, viewer=organizer_of(call))
    assert results.respondents == 4
    by = {r.question.pk: r for r in results.questions}
    assert [o.count for o in by[q.single.pk].options] == [2, 1, 1]
    assert [o.count for o in by[q.multiple.pk].options] == [3, 1, 2]
    assert by[q.multiple.pk].options[0].share == 75
    assert by[q.rating.pk].mean == 3.5
    nps = by[q.nps.pk].nps
    assert (nps.promoters, nps.passives, nps.detractors, nps.score) == (2, 1, 1, 25)
    page = org.get(reverse("manage:pool_results", args=[call.pk])).content.decode()
    assert "3.5" in page and "25" in page
    # Filtered: only the people who chose "Agents".
    filtered = org.get(
        reverse("manage:pool_results", args=[call.pk]), {"choice": f"{q.single.pk}:0"}
    )
    assert filtered.status_code == 200
    assert (
        service.pool_results(
            call=call,
            viewer=organizer_of(call),
            filters=service.PoolFilter(choice=(q.single.pk, 0)),
        ).respondents
        == 2
    )


def test_another_organizer_gets_404_for_the_pool_its_exports_and_its_submissions(
    call, people, client_for
):
    stranger = client_for(OrganizerFactory())
    other_call = make_call(OrganizerFactory(), slug="elsewhere")
    foreign = in_pool(other_call, "someone@example.com")
    for name in ("manage:pool", "manage:pool_csv", "manage:pool_results"):
        assert stranger.get(reverse(name, args=[call.pk])).status_code == 404, name
    assert stranger.get(reverse("manage:submission", args=[people["ada"].pk])).status_code == 404
    assert (
        stranger.post(
            reverse("manage:submission_review", args=[people["ada"].pk]), {"score": "5"}
        ).status_code
        == 404
    )
    assert (
        stranger.post(
            reverse("manage:submission_tags", args=[people["ada"].pk]), {"tags": "x"}
        ).status_code
        == 404
    )
    assert not Review.objects.exists() and not people["ada"].tags.exists()
    # The call's own organizer cannot reach another call's submission through their call.
    owner = client_for(organizer_of(call))
    assert owner.get(reverse("manage:submission", args=[foreign.pk])).status_code == 404
    assert owner.get(reverse("manage:pool_csv", args=[other_call.pk])).status_code == 404
    # An unconfirmed submission is not in the pool for anyone.
    ghost = Submission.objects.get(email="ghost@example.com")
    assert owner.get(reverse("manage:submission", args=[ghost.pk])).status_code == 404
    # Anonymous and attendee.
    assert Client().get(reverse("manage:pool_csv", args=[call.pk])).status_code in (302, 404)
    assert (
        client_for(UserFactory()).get(reverse("manage:pool_csv", args=[call.pk])).status_code == 404
    )
