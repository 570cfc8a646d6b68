import json

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")


def profile_data(**overrides):
    data = {
        "display_name": "Ada L.",
        "github_handle": "ada-l",
        "affiliation": "Analytical Engines Ltd",
        "role": "researcher",
        "timezone": "Europe/London",
        "what_i_build": "Compilers for looms",
    }
    return {**data, **overrides}


def test_pages_of_the_account_need_a_login():
    for name in ("accounts:profile", "accounts:export", "accounts:delete"):
        response = Client().get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_a_user_edits_their_profile(user, user_client):
    response = user_client.post(PROFILE, profile_data(github_handle="https://github.com/ada-l"))

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.github_handle, user.role, user.timezone) == (
        "Ada L.",
        "ada-l",
        "researcher",
        "Europe/London",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "not one of the available choices"),
        ("github_handle", "not a handle!", "GitHub handle"),
        ("display_name", "x" * 101, "at most 100"),
        ("role", "emperor", "not one of the available choices"),
        ("what_i_build", "y" * 1001, "at most 1000"),
    ],
)
def test_bad_profile_input_is_refused_with_a_message(user, user_client, field, value, message):
    before = User.objects.values().get(pk=user.pk)

    response = user_client.post(PROFILE, profile_data(**{field: value}))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert User.objects.values().get(pk=user.pk) == before


def test_requests_run_in_the_viewers_time_zone(user, rf):
    from django.contrib.auth.models import AnonymousUser
    from django.utils import timezone

    from accounts.middleware import UserTimezoneMiddleware

    seen = []
    middleware = UserTimezoneMiddleware(lambda r: seen.append(timezone.get_current_timezone_name()))
    user.timezone = "Asia/Tokyo"
    request = rf.get("/")
    request.user = user
    middleware(request)
    request.user = AnonymousUser()
    middleware(request)

    assert seen == ["Asia/Tokyo", "UTC"]


def test_data_export_holds_the_users_own_data_only(user, user_client):
    UserFactory(email="someone.else@example.com")

    response = user_client.get(reverse("accounts:export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["profile"]["email"] == user.email
    assert data["profile"]["display_name"] == user.display_name
    assert data["email_addresses"] == [{"email": user.email, "verified": True, "primary": True}]
    assert "someone.else@example.com" not in response.content.decode()
    assert "password" not in data["profile"]


def test_deleting_the_account_needs_the_password(user, user_client):
    response = user_client.post(reverse("accounts:delete"), {"confirmation": "wrong"})

    assert response.status_code == 400
    assert "not correct" in response.content.decode()
    assert User.objects.filter(pk=user.pk).exists()


def test_deleting_the_account_removes_personal_data_and_logs_out(user, user_client):
    other = UserFactory()

    response = user_client.post(reverse("accounts:delete"), {"confirmation": PASSWORD})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert not EmailAddress.objects.filter(email=user.email).exists()
    assert User.objects.filter(pk=other.pk).exists()
    assert not user_client.get(reverse("home")).wsgi_request.user.is_authenticated


def test_create_team_command_makes_a_team_owned_by_that_person(user):
    from events.models import Membership

    call_command("create_team", "Model launch", user.email.upper(), "--timezone", "Europe/Paris")

    membership = Membership.objects.select_related("team").get(user=user)
    assert (membership.team.name, membership.team.slug, membership.role) == (
        "Model launch",
        "model-launch",
        "owner",
    )
    assert membership.team.timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Team", "nobody@example.com"], "No user"),
        (["Team", "{email}", "--timezone", "Mars/Olympus"], "not a known time zone"),
        (["  ", "{email}"], "needs a name"),
    ],
)
def test_create_team_command_refuses_bad_input_and_creates_nothing(user, args, message):
    from events.models import Team

    with pytest.raises(CommandError, match=message):
        call_command("create_team", *[a.format(email=user.email) for a in args])
    assert not Team.objects.exists()


def test_deleting_an_account_gives_its_seats_to_the_waitlist(user, user_client):
    from events.models import Registration
    from events.services.registration import register
    from tests.factories import SessionFactory

    session = SessionFactory(capacity=1)
    register(user=user, session=session)
    waiting = register(user=UserFactory(), session=session)

    user_client.post(reverse("accounts:delete"), {"confirmation": PASSWORD})

    session.refresh_from_db()
    assert session.seats_taken == 1
    assert Registration.objects.get(pk=waiting.pk).status == "offered"


def test_the_only_owner_of_a_team_with_a_live_event_cannot_vanish_with_it():
    from tests.factories import EventFactory, OrganizerFactory

    organizer = OrganizerFactory()
    event = EventFactory(organizer=organizer, title="Model launch feedback")
    event.team.name = "Model launch team"
    event.team.save()
    client = Client()
    client.login(email=organizer.email, password=PASSWORD)

    response = client.post(reverse("accounts:delete"), {"confirmation": PASSWORD})

    assert response.status_code == 400
    assert "only owner of the team Model launch team" in response.content.decode()
    assert User.objects.filter(pk=organizer.pk).exists()


def test_the_export_includes_registrations_and_their_history(user, user_client):
    from events.services.registration import register
    from tests.factories import SessionFactory

    register(user=user, session=SessionFactory(event__title="Demo day"))

    data = json.loads(user_client.get(reverse("accounts:export")).content)

    [registration] = data["registrations"]
    assert registration["event"] == "Demo day"
    assert registration["status"] == "confirmed"
    assert registration["history"][0]["to"] == "confirmed"
