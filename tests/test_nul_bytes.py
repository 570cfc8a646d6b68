"""A NUL byte anywhere in an address, its query or a posted form is answered with our 400 page,
never a 500: PostgreSQL refuses NUL in text, so a NUL that reached a query would raise."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import User
from events.models import Registration, Submission
from tests.factories import PASSWORD, EventFactory, OrganizerFactory, SessionFactory, UserFactory
from tests.open_calls.conftest import call_url, form_data, make_call

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

OUR_400 = "That request did not make sense to us"


@pytest.fixture
def organizer_client(client_for):
    organizer = OrganizerFactory()
    client = client_for(organizer)
    client.organizer = organizer
    return client


def feed_url(client: Client) -> str:
    return "/calendar/"


def home_url(client: Client) -> str:
    return reverse("home")


def pool_url(client: Client) -> str:
    call = make_call(client.organizer)
    return reverse("manage:pool", args=[call.pk])


def checkin_url(client: Client) -> str:
    session = SessionFactory(event=EventFactory(organizer=client.organizer))
    return reverse("manage:checkin", args=[session.pk])


@pytest.mark.parametrize(
    ("page", "query"),
    [
        pytest.param(feed_url, "%00.ics", id="feed-token"),
        pytest.param(feed_url, "abc%00def.ics", id="feed-token-inside"),
        pytest.param(pool_url, "?q=%00", id="pool-q"),
        pytest.param(pool_url, "?tag=%00", id="pool-tag"),
        pytest.param(pool_url, "?affiliation=a%00b", id="pool-affiliation"),
        pytest.param(pool_url, "?%00=1", id="pool-parameter-name"),
        pytest.param(checkin_url, "?q=%00", id="checkin-q"),
        pytest.param(checkin_url, "?q=ada&other=%00", id="checkin-unused-parameter"),
        pytest.param(home_url, "?page=%00", id="home"),
    ],
)
def test_a_nul_byte_in_an_address_or_its_query_is_a_400_with_our_page(
    organizer_client, page, query
):
    response = organizer_client.get(page(organizer_client) + query)

    assert response.status_code == 400
    assert OUR_400 in response.content.decode()


def test_the_same_pages_without_a_nul_byte_still_answer(organizer_client):
    for url in (pool_url(organizer_client) + "?q=ada", checkin_url(organizer_client) + "?q=ada"):
        assert organizer_client.get(url).status_code == 200


def test_a_nul_byte_in_the_sign_up_form_is_refused_and_creates_no_account(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "ada\x00@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 400
    assert OUR_400 in response.content.decode()
    assert not User.objects.exists()
    assert not EmailAddress.objects.exists()


def test_a_nul_byte_in_a_session_sign_up_is_refused_and_registers_nobody():
    session = SessionFactory()
    client = Client()
    client.force_login(UserFactory())

    response = client.post(reverse("events:register", args=[session.pk]), {"terms": "1\x00"})

    assert response.status_code == 400
    assert not Registration.objects.exists()


def test_a_nul_byte_in_an_open_call_answer_is_refused_and_nothing_is_kept(client):
    call = make_call(OrganizerFactory())

    response = client.post(call_url(call), form_data(call, name="Ada\x00Lovelace"))

    assert response.status_code == 400
    assert OUR_400 in response.content.decode()
    assert not Submission.objects.exists()


def test_a_nul_byte_in_the_session_cookie_is_a_400_not_a_500(client):
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"

    response = client.get(reverse("events:my_sessions"))

    assert response.status_code == 400
    assert OUR_400 in response.content.decode()
