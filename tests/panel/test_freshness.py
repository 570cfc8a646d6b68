"""The panel keeps up without hooks in the services: the minute's task refreshes the people
whose source rows changed since the team's last refresh, the hourly one rebuilds it whole, and
`manage.py rebuild_panel` does that at once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from events import tasks
from events.models import (
    PanelMember,
    Registration,
    RegistrationChange,
    Response,
    Submission,
    Team,
)
from events.services import open_calls, panel
from tests.factories import InvitationFactory, OrganizerFactory, RegistrationFactory, UserFactory

from .conftest import confirmed, emails, make_call, past_session, row

pytestmark = pytest.mark.django_db


def test_both_tasks_are_on_the_beat_schedule():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert {"events.tasks.refresh_panels", "events.tasks.rebuild_panels"} <= tasks_scheduled


def test_a_team_never_refreshed_is_built_whole_by_the_minutes_task(team, call):
    confirmed(call, "ada@example.com")

    tasks.refresh_panels()

    assert emails(team) == {"ada@example.com"}
    assert Team.objects.get(pk=team.pk).panel_refreshed_at is not None


def test_the_minutes_task_takes_in_a_new_submission_registration_and_invitation(team, call, event):
    confirmed(call, "ada@example.com")
    tasks.refresh_panels()
    grace = UserFactory(email="grace@example.com")
    RegistrationFactory(session=past_session(event), user=grace, checked_in_at=timezone.now())
    InvitationFactory(event=event, email="ada@example.com")
    confirmed(call, "linus@example.com")

    tasks.refresh_panels()
    tasks.refresh_panels()  # safe to run twice

    assert emails(team) == {"ada@example.com", "grace@example.com", "linus@example.com"}
    assert row(team, "grace@example.com").attended == 1
    assert row(team, "ada@example.com").invitations == 1


def test_the_minutes_task_refreshes_only_the_people_who_changed(team, call):
    confirmed(call, "ada@example.com")
    confirmed(call, "grace@example.com")
    tasks.refresh_panels()
    long_ago = timezone.now() - timedelta(hours=2)
    Team.objects.filter(pk=team.pk).update(panel_refreshed_at=long_ago)
    PanelMember.objects.update(refreshed_at=long_ago)
    Submission.objects.update(confirmed_at=long_ago - timedelta(hours=1))
    Response.objects.update(updated_at=long_ago - timedelta(hours=1))
    open_calls.submit(call=call, email="ada@example.com", profile={}, answers={})
    submission = Submission.objects.get(email="ada@example.com")
    open_calls.confirm(submission=submission, nonce=submission.nonce)

    written = panel.refresh_changed()

    assert written == 1
    assert row(team, "grace@example.com").refreshed_at == long_ago
    assert row(team, "ada@example.com").refreshed_at > long_ago


def test_the_hourly_rebuild_removes_someone_who_withdrew(team, call):
    withdrawn = confirmed(call, "ada@example.com")
    confirmed(call, "grace@example.com")
    tasks.refresh_panels()
    open_calls.withdraw(submission=withdrawn)

    tasks.rebuild_panels()

    assert emails(team) == {"grace@example.com"}


def test_the_command_rebuilds_one_team_or_all(organizer, team, call):
    other = OrganizerFactory()
    their_call = make_call(other, slug="theirs")
    confirmed(call, "ada@example.com")
    confirmed(their_call, "grace@example.com")
    out = StringIO()

    call_command("rebuild_panel", "--team", team.slug, stdout=out)

    assert "1 panel rows written" in out.getvalue()
    assert set(PanelMember.objects.values_list("email", flat=True)) == {"ada@example.com"}
    call_command("rebuild_panel", stdout=StringIO())
    assert PanelMember.objects.count() == 2


def test_the_command_names_an_unknown_team():
    with pytest.raises(CommandError, match="No team with the short name 'nope'"):
        call_command("rebuild_panel", "--team", "nope")


def test_the_minutes_task_counts_attendance_once_a_session_without_check_in_ends(team, event):
    event.checkin_enabled = False
    event.save(update_fields=["checkin_enabled"])
    session = past_session(event, days_ago=-1 / 24)  # ends in two hours
    RegistrationFactory(session=session, user=UserFactory(email="ada@example.com"))
    tasks.refresh_panels()
    assert row(team, "ada@example.com").attended == 0
    Registration.objects.update(updated_at=timezone.now() - timedelta(days=1))
    RegistrationChange.objects.all().delete()

    later = timezone.now() + timedelta(hours=3)
    panel.refresh_changed(now=later)

    assert row(team, "ada@example.com").attended == 1
