"""The screening rules page, the pool's verdicts and filter, the invite action leaving the
disqualified out, the CSV and the submission page: as an organizer sees them."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import Answer, CallQuota, CallRule, OpenCall, Response, Submission
from events.services import call_screening as screening
from tests.factories import EventFactory, OrganizerFactory, UserFactory, add_to_team

from .conftest import choice, in_pool, make_call, questions, verdicts

pytestmark = pytest.mark.django_db


def rules_url(call) -> str:
    return reverse("manage:call_rules", args=[call.pk])


def post_rules(client, call, **marks):
    data = {"form": "rules"}
    for key, effect in marks.items():
        question, label = key.split("__")
        data[f"rule-{choice(call, question, label).pk}"] = effect
    return client.post(rules_url(call), data)


def post_quotas(client, call, *rows):
    data = {"form": "quotas", "quota-count": str(len(rows))}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"quota-{i}-{key}"] = value
    return client.post(rules_url(call), data)


def test_the_call_page_links_to_its_screening_rules(org, call):
    page = org.get(reverse("manage:call", args=[call.pk])).content.decode()
    assert rules_url(call) in page


def test_an_organizer_sets_rules_and_sees_who_each_decided(org, call, people):
    response = post_rules(org, call, Use__RAG="disqualify", Use__Agents="qualify")
    assert response.status_code == 302

    page = org.get(rules_url(call)).content.decode()
    assert "2 qualified" in page and "1 disqualified" in page
    assert re.search(r'<option value="disqualify" selected>', page)
    # Per rule: Agents decided Ada, RAG decided Grace.
    rows = re.findall(
        r'for="rule-(\d+)">.*?<td class="num" data-label="Decided">(.*?)</td>', page, re.S
    )
    decided = {int(pk): n.strip() for pk, n in rows}
    assert decided[choice(call, "Use", "RAG").pk] == "1"
    assert decided[choice(call, "Use", "Agents").pk] == "1"
    assert verdicts(call)["grace@example.com"] == ("disqualified", "Answered “RAG” to “Use”")


def test_quota_rows_are_added_and_removed(org, call):
    row = {"field": "role", "value": "researcher", "bound": "at_least", "percent": "30"}
    cap = {"field": "affiliation", "value": "", "bound": "at_most", "percent": "40"}
    assert post_quotas(org, call, row, cap).status_code == 302
    assert CallQuota.objects.filter(call=call).count() == 2
    assert post_quotas(org, call, row, {**cap, "remove": "1"}).status_code == 302
    assert list(CallQuota.objects.filter(call=call).values_list("field", flat=True)) == ["role"]
    page = org.get(rules_url(call)).content.decode()
    assert 'value="researcher"' in page


def foreign_choice():
    return choice(make_call(OrganizerFactory(), slug="other"), "Use", "RAG")


@pytest.mark.parametrize(
    ("post", "message"),
    [
        (
            lambda c, call: post_quotas(
                c,
                call,
                {"field": "role", "value": "researcher", "bound": "at_least", "percent": "150"},
            ),
            "A quota is a whole percentage from 1 to 100.",
        ),
        (
            lambda c, call: post_quotas(
                c,
                call,
                {"field": "role", "value": "researcher", "bound": "at_least", "percent": "70"},
                {"field": "role", "value": "developer", "bound": "at_least", "percent": "40"},
            ),
            "add up to more than 100%",
        ),
        (
            lambda c, call: post_quotas(
                c,
                call,
                {"field": "affiliation", "value": "Ac\x00me", "bound": "at_most", "percent": "10"},
            ),
            "NUL character",  # the project's 400 page, before any view reads the form
        ),
        (
            lambda c, call: post_rules(
                c,
                call,
                Use__Agents="disqualify",
                Use__RAG="disqualify",
                **{"Use__Fine-tuning": "disqualify"},
            ),
            "Every choice of “Use” disqualifies",
        ),
        (
            lambda c, call: c.post(
                rules_url(call),
                {"form": "rules", f"rule-{foreign_choice().pk}": "disqualify"},
            ),
            "choices this call does not offer",
        ),
        (
            lambda c, call: c.post(rules_url(call), {"form": "rules", "rule-\x00": "qualify"}),
            "NUL character",
        ),
        (
            lambda c, call: post_rules(c, call, Use__RAG="disqualify\x00"),
            "NUL character",
        ),
        (
            lambda c, call: post_rules(c, call, Use__RAG="reject"),
            "Unknown rule",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(org, call, people, post, message):
    before = verdicts(call)

    response = post(org, call)

    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was changed." in body or message == "NUL character"
    assert message.replace("“", "&ldquo;") in body or message in body
    call.refresh_from_db()
    assert call.rules_version == 0
    assert not CallRule.objects.filter(call=call).exists()
    assert not CallQuota.objects.filter(call=call).exists()
    assert verdicts(call) == before


def test_a_reviewer_reads_the_rules_but_cannot_change_them(call, people, client_for):
    reviewer = UserFactory()
    add_to_team(call.team, reviewer, role="reviewer")
    client = client_for(reviewer)
    page = client.get(rules_url(call))
    assert page.status_code == 200
    assert "Save the rules" not in page.content.decode()
    assert post_rules(client, call, Use__RAG="disqualify").status_code == 404
    assert not CallRule.objects.exists()


def test_progress_is_shown_while_rescoring_and_as_json(org, call, people, monkeypatch):
    monkeypatch.setattr(screening, "INLINE_LIMIT", 1)
    monkeypatch.setattr(screening, "enqueue_rescore", lambda call_id: None)  # a stuck worker
    post_rules(org, call, Use__RAG="disqualify")

    page = org.get(rules_url(call)).content.decode()
    assert (
        'Re-scoring: <strong class="progress-current">0</strong> of '
        '<span class="progress-total">3</span>' in page
    )
    data = org.get(reverse("manage:call_rules_progress", args=[call.pk])).json()
    assert data == {"version": 1, "total": 3, "current": 0, "done": False}

    # The "restart" button, for a lost task, runs it again (here inline: the limit is back).
    monkeypatch.setattr(screening, "INLINE_LIMIT", 500)
    assert org.post(rules_url(call), {"form": "rescore"}).status_code == 302
    assert org.get(reverse("manage:call_rules_progress", args=[call.pk])).json()["done"]
    assert "Re-scoring:" not in org.get(rules_url(call)).content.decode()


def test_the_pool_shows_verdicts_filters_by_them_and_counts_them(org, call, people):
    post_rules(org, call, Use__RAG="disqualify")
    pool = reverse("manage:pool", args=[call.pk])

    page = org.get(pool).content.decode()
    assert "All (3)" in page and "Qualified (2)" in page and "Disqualified (1)" in page
    assert "Answered “RAG” to “Use”" in page.replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert "No rule applies" in page

    def listed(**params):
        body = org.get(pool, params).content.decode()
        ids = re.findall(r'name="ids" value="(\d+)"', body)
        return set(Submission.objects.filter(pk__in=ids).values_list("email", flat=True))

    assert listed() == {"ada@example.com", "grace@example.com", "linus@example.com"}
    assert listed(screening="disqualified") == {"grace@example.com"}
    assert listed(screening="qualified") == {"ada@example.com", "linus@example.com"}
    assert len(listed(screening="bogus")) == 3  # an unknown value filters nothing


def test_inviting_from_the_pool_leaves_out_the_disqualified_and_says_so(org, call, people):
    post_rules(org, call, Use__RAG="disqualify")
    event = EventFactory(registration_mode="invitation", team=call.team)

    response = org.post(
        reverse("manage:pool_action", args=[call.pk]),
        {"action": "invite", "scope": "all", "query": "", "event": event.pk},
        follow=True,
    )

    body = response.content.decode()
    assert "Left out 1 person disqualified by this call" in body
    pasted = re.search(r'<textarea[^>]*name="pasted"[^>]*>(.*?)</textarea>', body, re.S).group(1)
    assert "ada@example.com" in pasted and "linus@example.com" in pasted
    assert "grace@example.com" not in pasted


def test_inviting_only_disqualified_people_invites_nobody(org, call, people):
    post_rules(org, call, Use__RAG="disqualify")
    event = EventFactory(registration_mode="invitation", team=call.team)
    grace = people["grace"]

    response = org.post(
        reverse("manage:pool_action", args=[call.pk]),
        {"action": "invite", "scope": "ticked", "ids": [grace.pk], "event": event.pk, "query": ""},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("manage:pool", args=[call.pk]))


def test_the_csv_and_the_submission_page_show_the_verdict(org, call, people):
    post_rules(org, call, Use__RAG="disqualify")
    body = b"".join(org.get(reverse("manage:pool_csv", args=[call.pk])).streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = rows[0]
    by_email = {row[header.index("Email")]: row for row in rows[1:]}
    grace = by_email["grace@example.com"]
    assert grace[header.index("Screening")] == "disqualified"
    assert grace[header.index("Screening reason")] == "Answered “RAG” to “Use”"

    page = org.get(reverse("manage:submission", args=[people["grace"].pk])).content.decode()
    assert "Disqualified" in page and "RAG" in page


def fill(call, n: int) -> None:
    """n confirmed submissions, each answering the rule questions."""
    q = questions(call)
    now = timezone.now()
    responses = Response.objects.bulk_create(
        Response(questionnaire=call.questionnaire, respondent=f"r{i}") for i in range(n)
    )
    Answer.objects.bulk_create(
        Answer(response=r, question=q.single, number=i % 3) for i, r in enumerate(responses)
    )
    Submission.objects.bulk_create(
        Submission(
            call=call,
            email=f"p{i}@{call.slug}.example.com",
            response=r,
            submitted_at=now - timedelta(minutes=i),
            confirmed_at=now,
        )
        for i, r in enumerate(responses)
    )


def count_queries(client, call) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(rules_url(call))
    assert response.status_code == 200
    assert "qualified" in response.content.decode()
    return len(queries)


def test_the_rules_page_takes_as_many_queries_for_500_people_as_for_5(client_for):
    small_org, big_org = OrganizerFactory(), OrganizerFactory()
    small, big = make_call(small_org, slug="small"), make_call(big_org, slug="big")
    fill(small, 5)
    fill(big, 500)
    for who, call in ((small_org, small), (big_org, big)):
        screening.set_rules(
            call=call, actor=who, effects={choice(call, "Use", "RAG").pk: "disqualify"}
        )
        screening.set_quotas(
            call=call,
            actor=who,
            quotas=[{"field": "role", "value": "researcher", "bound": "at_least", "percent": 30}],
        )
    assert OpenCall.objects.get(pk=big.pk).rules_version == 2
    assert Submission.objects.filter(call=big, screening="disqualified").count() == 167
    small_client, big_client = client_for(small_org), client_for(big_org)
    count_queries(small_client, small)
    count_queries(big_client, big)

    few, many = count_queries(small_client, small), count_queries(big_client, big)

    assert many == few, (few, many)
    assert few < 20


def test_the_rules_page_and_the_pool_show_the_qualified_mix_against_each_quota(org, call):
    q = questions(call)
    for n, (role, affiliation) in enumerate(
        [("researcher", "Acme"), ("developer", "Acme"), ("developer", "Beta"), ("other", "")]
    ):
        in_pool(call, f"p{n}@example.com", {q.single.pk: 0}, role=role, affiliation=affiliation)
    in_pool(call, "out@example.com", {q.single.pk: 1}, role="researcher", affiliation="Gamma")
    post_rules(org, call, Use__RAG="disqualify")
    post_quotas(
        org,
        call,
        {"field": "role", "value": "researcher", "bound": "at_least", "percent": "30"},
        {"field": "affiliation", "value": "", "bound": "at_most", "percent": "40"},
    )

    page = org.get(rules_url(call)).content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    # Of the 4 qualified: 1 researcher (25% < 30%), Acme 2 of 4 (50% > 40%); the
    # disqualified researcher from Gamma does not count.
    assert "“researcher” (role): now 25% of 4 qualified" in page
    assert "from any one (affiliation): now 50% (“acme”) of 4 qualified" in page
    assert page.count("outside") == 2
    pool = org.get(reverse("manage:pool", args=[call.pk])).content.decode()
    assert "now 25% of 4 qualified" in pool
