"""The pool page asks the database the same number of questions however big the pool is."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import Invitation, PoolTag, Review, Submission
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
)

from .conftest import make_call

pytestmark = pytest.mark.django_db


def fill(call, organizer, n: int) -> None:
    """n confirmed submissions, each reviewed twice and tagged, a third invited, some
    attended or missed a session."""
    now = timezone.now()
    Submission.objects.bulk_create(
        Submission(
            call=call,
            email=f"p{i}@{call.slug}.example.com",
            name=f"Person {i}",
            role="developer",
            submitted_at=now - timedelta(minutes=i),
            confirmed_at=now,
        )
        for i in range(n)
    )
    rows = list(Submission.objects.filter(call=call))
    colleague = OrganizerFactory()
    add_to_team(call.team, colleague)
    Review.objects.bulk_create(
        Review(submission=s, reviewer=r, score=1 + s.pk % 5)
        for s in rows
        for r in (organizer, colleague)
    )
    tags = [PoolTag.objects.create(call=call, name=f"tag{i}") for i in range(3)]
    Submission.tags.through.objects.bulk_create(
        Submission.tags.through(submission=s, pooltag=t)
        for i, s in enumerate(rows)
        for t in tags[: 1 + i % 3]
    )
    event = EventFactory(organizer=organizer)
    session = SessionFactory(event=event)
    Invitation.objects.bulk_create(
        Invitation(
            event=event,
            email=s.email,
            status="accepted" if s.pk % 2 else "declined",
            expires_at=now + timedelta(days=3),
        )
        for s in rows[1::3]
    )
    for s in rows[:3]:
        RegistrationFactory(
            session=session, user=UserFactory(email=s.email), status="confirmed", no_show=True
        )


def count_queries(client, call, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("manage:pool", args=[call.pk]), params)
    assert response.status_code == 200
    # Someone is listed: an empty page skips the per-row queries and would hide a leak.
    assert b'name="ids"' in response.content
    return len(queries)


@pytest.mark.parametrize(
    "params", [{}, {"sort": "score"}, {"tag": "tag1", "history": "invited"}, {"blind": "1"}]
)
def test_the_pool_page_takes_as_many_queries_for_500_people_as_for_5(params, client_for):
    small_org, big_org = OrganizerFactory(), OrganizerFactory()
    small, big = make_call(small_org, slug="small"), make_call(big_org, slug="big")
    fill(small, small_org, 5)
    fill(big, big_org, 500)
    small_client, big_client = client_for(small_org), client_for(big_org)
    count_queries(small_client, small, **params)  # warm the session and caches alike
    count_queries(big_client, big, **params)
    few = count_queries(small_client, small, **params)
    many = count_queries(big_client, big, **params)

    assert many == few, (few, many)
    assert few < 22  # 20 before screening: its counts and the call's quotas, a query each
