"""Refreshes of one panel at once (the minute's task, an hourly rebuild, the command, a new
attribute) run one after the other: no error, one row per person, one attribute per name."""

import threading

import pytest
from django.db import connection

from events.models import PanelAttribute, PanelMember
from events.services import ServiceError, panel
from tests.factories import OrganizerFactory, choice_id, team_of

from .conftest import confirmed, make_call

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_refreshes_and_new_attributes_at_once_leave_one_row_per_person_and_one_attribute():
    organizer = OrganizerFactory()
    team = team_of(organizer)
    call = make_call(organizer, team, slug="expect")
    from events.services import questionnaire as engine

    builds = engine.add_question(
        questionnaire=call.questionnaire, label="Build?", kind="single", choices=["Agents", "RAG"]
    )
    for n in range(30):
        confirmed(call, f"person{n}@example.com", answers={builds.pk: choice_id(builds, "RAG")})
    work = (
        [lambda: panel.refresh(team=team)] * 4
        + [lambda: panel.refresh_team(team=team)] * 3
        + [lambda: panel.add_attribute(team=team, question=builds, name="builds")] * 3
    )
    barrier = threading.Barrier(len(work))
    outcomes: list[str] = []

    def run(action) -> None:
        try:
            barrier.wait()
            action()
            outcomes.append("done")
        except ServiceError as refusal:
            outcomes.append(refusal.message)
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to report
            outcomes.append(f"error: {error.__class__.__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(set(outcomes)) == ["The panel already has an attribute named builds.", "done"]
    assert outcomes.count("done") == 8
    assert PanelAttribute.objects.filter(team=team).count() == 1
    rows = PanelMember.objects.filter(team=team)
    assert rows.count() == 30
    assert {tuple(r.attributes.items()) for r in rows} == {(("builds", "RAG"),)}


def test_forgetting_a_person_while_the_panel_refreshes_leaves_no_row_of_them():
    """Forgetting takes the panel's lock, as refreshes do, so they run one after the other
    and no refresh writes the row back from sources read before the forgetting. Two owners
    forgetting the same person at once: one does it, the other is told, nothing fails."""
    from events.services import erasure
    from tests.factories import UserFactory, add_to_team

    organizer = OrganizerFactory()
    team = team_of(organizer)
    second_owner = UserFactory()
    add_to_team(team, second_owner, role="owner")
    call = make_call(organizer, team, slug="forget-race")
    for n in range(20):
        confirmed(call, f"person{n}@example.com", consent=True)
    panel.refresh(team=team)
    member = PanelMember.objects.get(team=team, email="person7@example.com")
    work = [lambda: panel.refresh(team=team)] * 3 + [
        lambda: panel.refresh_team(team=team),
        lambda: erasure.forget(team=team, member=member, actor=organizer),
        lambda: erasure.forget(team=team, member=member, actor=second_owner),
    ]
    barrier = threading.Barrier(len(work))
    outcomes: list[str] = []

    def run(action) -> None:
        try:
            barrier.wait()
            action()
            outcomes.append("done")
        except ServiceError as refusal:
            outcomes.append(refusal.message)
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to report
            outcomes.append(f"error: {error.__class__.__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == sorted(
        ["done"] * 5 + ["This person is not in the team's panel any more."]
    )
    # Right after: no refresh wrote the row back from what it read before the forgetting.
    emails = set(PanelMember.objects.filter(team=team).values_list("email", flat=True))
    assert "person7@example.com" not in emails and len(emails) == 19
