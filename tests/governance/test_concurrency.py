"""Two organizers inviting overlapping lists to one team at the same instant, with real
threads on PostgreSQL: the invitations service locks the team's row before it checks the
contact rules, so the second batch sees the first's invitations. Nobody gets two invitations
inside the cool-down, nor passes the 90-day limit."""

import threading
import time
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from events.invite_parsing import Row
from events.models import Event, Invitation, Session, Team
from events.services import ServiceError, contact
from events.services import invitations as service
from tests.factories import EventFactory, SessionFactory, TeamFactory, UserFactory, add_to_team

from .helpers import invited_days_ago

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(batches: list[tuple]) -> list[str]:
    """Run each (actor, session id, emails) batch in its own thread, all at one instant."""
    barrier = threading.Barrier(len(batches))
    outcomes = [""] * len(batches)

    def run(index: int, actor, session_id: int, emails: list[str]) -> None:
        try:
            session = Session.objects.select_related("event").get(pk=session_id)
            rows = [Row(line=n, email=e) for n, e in enumerate(emails, start=1)]
            barrier.wait()
            created = service.create_batch(
                event=session.event, session=session, rows=rows, actor=actor
            )
            outcomes[index] = f"created {len(created)}"
        except ServiceError as refusal:
            outcomes[index] = f"refused: {refusal.message}"
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to report
            outcomes[index] = f"error: {error.__class__.__name__}: {error}"
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, *b)) for i, b in enumerate(batches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def team_with_two_organizers(**rules):
    olga, omar = UserFactory(), UserFactory()
    team = TeamFactory(owner=olga, **rules)
    add_to_team(team, omar, role="organizer")
    first = SessionFactory(event=EventFactory(team=team, registration_mode="invitation"))
    second = SessionFactory(event=EventFactory(team=team, registration_mode="invitation"))
    return team, (olga, first), (omar, second)


@pytest.mark.parametrize("round_number", range(3))
def test_two_organizers_at_once_never_invite_one_person_twice_in_the_cooldown(round_number):
    team, (olga, first), (omar, second) = team_with_two_organizers()
    people = [f"p{n}.r{round_number}@example.com" for n in range(45)]

    outcomes = at_once([(olga, first.pk, people[:30]), (omar, second.pk, people[15:])])

    assert not [o for o in outcomes if o.startswith("error")], outcomes
    # One batch went first with all its people; the second kept only the 15 nobody had.
    assert sorted(outcomes) == ["created 15", "created 30"], outcomes
    per_person = Counter(
        Invitation.objects.filter(event__team=team).values_list("email", flat=True)
    )
    assert set(per_person) == set(people)
    assert set(per_person.values()) == {1}


def test_two_organizers_at_once_never_take_anyone_past_the_90_day_limit():
    team, (olga, first), (omar, second) = team_with_two_organizers(
        invite_cooldown_days=0, max_invitations_per_90_days=3
    )
    people = [f"p{n}@example.com" for n in range(30)]
    old = EventFactory(team=team)
    for email in people:  # two invitations each already: room for one more
        invited_days_ago(old, email, 20)
        invited_days_ago(old, email, 40)

    outcomes = at_once([(olga, first.pk, people[:20]), (omar, second.pk, people[10:])])

    assert not [o for o in outcomes if o.startswith("error")], outcomes
    assert sorted(outcomes) == ["created 10", "created 20"], outcomes
    per_person = Counter(
        Invitation.objects.filter(event__team=team).values_list("email", flat=True)
    )
    assert set(per_person.values()) == {3}, per_person
    assert Event.objects.filter(team=team).count() == 3


def test_without_the_team_lock_the_same_rush_invites_people_twice(monkeypatch):
    """The negative control: a batch that reads the team without locking it (with the gap a
    busy server has between reading and writing) lets both batches see nobody invited yet;
    the harness must see that."""

    def unlocked(team_id: int) -> Team:
        team = Team.objects.get(pk=team_id)
        time.sleep(0.2)
        return team

    monkeypatch.setattr(contact, "lock_team", unlocked)
    team, (olga, first), (omar, second) = team_with_two_organizers()
    people = [f"p{n}@example.com" for n in range(45)]

    outcomes = at_once([(olga, first.pk, people[:30]), (omar, second.pk, people[15:])])

    assert sorted(outcomes) == ["created 30", "created 30"], outcomes
    per_person = Counter(
        Invitation.objects.filter(event__team=team).values_list("email", flat=True)
    )
    assert max(per_person.values()) == 2
