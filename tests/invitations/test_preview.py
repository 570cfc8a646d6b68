"""Preview first, then confirm: the organizer sees who will be invited and who not, and why;
nothing is created until the preview is confirmed, and bad input is a clear 400 that writes
nothing (invariant 6)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.invite_parsing import MAX_BYTES, Row
from events.models import Invitation, Notification, Registration
from events.services import invitations as service
from events.services.registration import cancel, register
from tests.factories import EventFactory, SessionFactory, UserFactory
from tests.invitations.helpers import invite, invite_one, rows, texts

pytestmark = pytest.mark.django_db


def nothing_created() -> bool:
    return not Invitation.objects.exists() and not Notification.objects.exists()


def post_list(client, event, *, session=None, pasted="", upload=None, **options):
    data = {
        "session": str(session.pk) if session else "",
        "pasted": pasted,
        "expires_in_days": "7",
        "message": "",
        **options,
    }
    if upload is not None:
        data["csv_file"] = upload
    return client.post(reverse("manage:invite", args=[event.pk]), data)


def csv_upload(content: bytes, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def preview_token(response) -> str:
    return re.search(r'name="token" value="([0-9a-f]+)"', response.content.decode()).group(1)


def confirm(client, event, token: str):
    return client.post(reverse("manage:invite_confirm", args=[event.pk]), {"token": token})


# The service


def test_preview_sorts_out_duplicates_registered_and_already_invited_people(session):
    registered = UserFactory(email="reg@example.com")
    register(user=registered, session=session, invited_seat=False)
    invite(session, "pending@example.com")

    result = service.preview(
        event=session.event,
        session=session,
        rows=rows(
            "new@example.com",
            "new@example.com",
            "reg@example.com",
            "pending@example.com",
            "other@example.com",
        ),
    )

    assert [r.email for r in result.valid] == ["new@example.com", "other@example.com"]
    assert result.refused == [
        (2, "new@example.com", "Listed twice: invited once."),
        (3, "reg@example.com", "Already registered."),
        (4, "pending@example.com", "Already invited (pending)."),
    ]


def test_someone_whose_registration_is_cancelled_can_be_invited_again(session):
    user = UserFactory(email="back@example.com")
    registration = register(user=user, session=session, invited_seat=False)
    cancel(registration=registration, actor=user)

    result = service.preview(event=session.event, session=session, rows=rows(user.email))

    assert [r.email for r in result.valid] == [user.email]


def no_cooldown(event) -> None:
    event.team.invite_cooldown_days = 0
    event.team.save(update_fields=["invite_cooldown_days"])


def test_someone_who_declined_an_earlier_invitation_can_be_invited_again(session):
    # With no cool-down in the team (the contact rules are tests/governance/'s).
    no_cooldown(session.event)
    service.decline(invitation=invite_one(session, "again@example.com"))

    result = service.preview(event=session.event, session=session, rows=rows("again@example.com"))

    assert [r.email for r in result.valid] == ["again@example.com"]


def test_for_a_whole_event_a_registration_for_any_of_its_sessions_counts(event, session):
    other_session = SessionFactory(event=event)
    user = UserFactory(email="reg@example.com")
    register(user=user, session=other_session, invited_seat=False)

    result = service.preview(event=event, session=None, rows=rows(user.email, "new@example.com"))

    assert [r.email for r in result.valid] == ["new@example.com"]
    assert result.refused == [(1, user.email, "Already registered.")]


def test_a_pending_invitation_to_one_session_does_not_block_one_to_another(event, session):
    other_session = SessionFactory(event=event)
    invite(session, "ann@example.com")
    no_cooldown(event)  # as above

    result = service.preview(event=event, session=other_session, rows=rows("ann@example.com"))

    assert [r.email for r in result.valid] == ["ann@example.com"]


def test_previewing_five_thousand_rows_takes_five_queries(session):
    big = [Row(n, f"p{n}@example.com") for n in range(5000)]

    with CaptureQueriesContext(connection) as ctx:
        result = service.preview(event=session.event, session=session, rows=big)

    assert len(result.valid) == 5000
    # Registered, invited, and the team's contact rules: blocked, invited lately, attended.
    assert len(ctx.captured_queries) == 5


# Through the organizer's pages


def test_the_invite_form_opens_for_the_organizer(event, session, owner_client):
    response = owner_client.get(reverse("manage:invite", args=[event.pk]))

    assert response.status_code == 200
    assert "Check the list" in response.content.decode()


def test_a_pasted_list_shows_a_preview_with_reasons_and_creates_nothing(
    event, session, owner_client
):
    register(user=UserFactory(email="reg@example.com"), session=session, invited_seat=False)
    invite(session, "pending@example.com")
    before = (Invitation.objects.count(), Notification.objects.count())

    response = post_list(
        owner_client,
        event,
        session=session,
        pasted=(
            "Ann <ann@example.com>\nann@example.com\nreg@example.com\n"
            "pending@example.com\nnot an email\nbob@example.com, Bob\n"
        ),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "2 will be invited" in html
    assert "4 left out" in html
    for line, reason in [
        (2, "Listed twice: invited once."),
        (3, "Already registered."),
        (4, "Already invited (pending)."),
        (5, "Not a valid email address."),
    ]:
        assert f"<strong>Line {line}</strong>" in html
        assert reason in html
    assert response.context["valid"] == [
        Row(1, "ann@example.com", "Ann"),
        Row(6, "bob@example.com", "Bob"),
    ]
    assert (Invitation.objects.count(), Notification.objects.count()) == before


def test_an_uploaded_csv_shows_a_preview_and_creates_nothing(event, session, owner_client):
    upload = csv_upload(
        "\ufeffE-mail;Full name;Notes\r\nann@example.com;Ann;VIP\r\nbroken;Bob;\r\n"
        "ann@example.com;Ann again;\r\n".encode()
    )

    response = post_list(owner_client, event, session=session, upload=upload)

    assert response.status_code == 200
    assert response.context["valid"] == [Row(2, "ann@example.com", "Ann", "VIP")]
    assert response.context["refused"] == [
        (3, "broken;Bob;", "Not a valid email address."),
        (4, "ann@example.com", "Listed twice: invited once."),
    ]
    assert nothing_created()


def test_confirming_the_preview_creates_the_invitations_and_their_emails(
    event, session, owner, owner_client
):
    preview = post_list(
        owner_client,
        event,
        session=session,
        pasted="Ann <ann@example.com>\nbob@example.com\n",
        holds_seat="on",
        allow_any_account="on",
        expires_in_days="3",
        message="We'd love your view.",
    )
    assert nothing_created()

    response = confirm(owner_client, event, preview_token(preview))

    assert response.status_code == 302
    assert response["Location"] == reverse("manage:invitations", args=[event.pk])
    assert texts(response) == ["2 invitations on their way."]
    created = Invitation.objects.order_by("email")
    assert [(i.email, i.name) for i in created] == [
        ("ann@example.com", "Ann"),
        ("bob@example.com", ""),
    ]
    for invitation in created:
        assert invitation.session == session
        assert invitation.created_by == owner
        assert (invitation.holds_seat, invitation.seat_held) == (True, True)
        assert invitation.allow_any_account is True
        assert invitation.message == "We'd love your view."
    assert Notification.objects.filter(kind="invitation").count() == 2
    session.refresh_from_db()
    assert session.seats_taken == 2


def test_confirming_twice_creates_the_invitations_once(event, session, owner_client):
    token = preview_token(post_list(owner_client, event, session=session, pasted="a@example.com"))

    confirm(owner_client, event, token)
    second = confirm(owner_client, event, token)

    assert second["Location"] == reverse("manage:invite", args=[event.pk])
    # The first confirmation's message is still unread: this one comes after it.
    assert texts(second)[-1:] == ["This preview is out of date; please add the list again."]
    assert Invitation.objects.count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.parametrize("token", ["", "forged", "0" * 32])
def test_confirming_with_a_forged_preview_token_creates_nothing(
    event, session, owner_client, token
):
    post_list(owner_client, event, session=session, pasted="a@example.com")

    response = confirm(owner_client, event, token)

    assert response.status_code == 302
    assert texts(response) == ["This preview is out of date; please add the list again."]
    assert nothing_created()


def test_confirming_without_any_preview_creates_nothing(event, session, owner_client):
    response = confirm(owner_client, event, "0" * 32)

    assert response["Location"] == reverse("manage:invite", args=[event.pk])
    assert nothing_created()


def test_a_newer_preview_replaces_the_older_one(event, session, owner_client):
    old = preview_token(post_list(owner_client, event, session=session, pasted="old@example.com"))
    new = preview_token(post_list(owner_client, event, session=session, pasted="new@example.com"))

    stale = confirm(owner_client, event, old)
    assert nothing_created()
    assert texts(stale) == ["This preview is out of date; please add the list again."]
    confirm(owner_client, event, new)

    assert list(Invitation.objects.values_list("email", flat=True)) == ["new@example.com"]


def test_a_preview_of_one_event_cannot_be_confirmed_on_another(event, session, owner, owner_client):
    other = EventFactory(organizer=owner)
    token = preview_token(post_list(owner_client, event, session=session, pasted="a@example.com"))

    response = confirm(owner_client, other, token)

    assert texts(response) == ["This preview is out of date; please add the list again."]
    assert nothing_created()


def test_people_invited_between_preview_and_confirm_are_not_invited_twice(
    event, session, owner_client
):
    token = preview_token(
        post_list(owner_client, event, session=session, pasted="a@example.com\nb@example.com")
    )
    invite(session, "a@example.com")

    confirm(owner_client, event, token)

    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
    ]


def test_confirming_more_held_seats_than_are_free_is_refused_and_creates_nothing(
    event, owner_client
):
    session = SessionFactory(event=event, capacity=3)
    register(user=UserFactory(), session=session, invited_seat=False)
    preview = post_list(
        owner_client,
        event,
        session=session,
        pasted="a@example.com\nb@example.com\nc@example.com",
        holds_seat="on",
    )
    before = (Invitation.objects.count(), Notification.objects.count())

    response = confirm(owner_client, event, preview_token(preview))

    assert response["Location"] == reverse("manage:invite", args=[event.pk])
    [message] = texts(response)
    assert message.startswith("Only 2 seats are free")
    assert "without holding seats" in message
    assert (Invitation.objects.count(), Notification.objects.count()) == before
    session.refresh_from_db()
    assert session.seats_taken == 1


def test_a_list_of_only_people_who_cannot_be_invited_offers_nothing_to_send(
    event, session, owner_client
):
    invite(session, "a@example.com")

    response = post_list(owner_client, event, session=session, pasted="a@example.com\nnope")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Nobody in this list can be invited" in html
    assert reverse("manage:invite_confirm", args=[event.pk]) not in html


def test_a_csv_with_only_a_header_previews_nobody(event, session, owner_client):
    response = post_list(owner_client, event, session=session, upload=csv_upload(b"email,name\n"))

    assert response.status_code == 200
    assert "Nobody in this list can be invited" in response.content.decode()
    assert nothing_created()


# Bad input: a 400 with the reason, nothing written


def bad_input_cases():
    return [
        pytest.param({}, "Paste some email addresses or choose a CSV file.", id="neither"),
        pytest.param(
            {"pasted": "   \n  "},
            "Paste some email addresses or choose a CSV file.",
            id="blank-paste",
        ),
        pytest.param(
            {"pasted": "a@example.com", "csv_file": b"b@example.com\n"},
            "Paste addresses or upload a file, not both.",
            id="both",
        ),
        pytest.param(
            {"pasted": "a@example.com", "holds_seat": "on", "whole_event": True},
            "Only invitations to one session can hold a seat.",
            id="hold-without-session",
        ),
        pytest.param(
            {"pasted": "a@example.com", "expires_in_days": "0"},
            "Ensure this value is greater than or equal to 1.",
            id="expiry-0",
        ),
        pytest.param(
            {"pasted": "a@example.com", "expires_in_days": "91"},
            "Ensure this value is less than or equal to 90.",
            id="expiry-91",
        ),
        pytest.param(
            {"pasted": "a@example.com", "expires_in_days": "soon"},
            "Enter a whole number.",
            id="expiry-not-a-number",
        ),
        pytest.param(
            {"csv_file": b"a@example.com\n" * (MAX_BYTES // 14 + 1)},
            "The file is larger than 2 MB; split it into smaller lists.",
            id="csv-over-2mb",
        ),
        pytest.param({"csv_file": b""}, "The submitted file is empty.", id="empty-upload"),
        pytest.param({"csv_file": b"  \n \n"}, "The file is empty.", id="blank-file"),
        pytest.param(
            {"csv_file": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"},
            "This is not a CSV text file (it looks binary).",
            id="binary-file",
        ),
        pytest.param(
            {"csv_file": b"".join(b"p%d@example.com\n" % n for n in range(5001))},
            "This list has 5,001 rows; at most 5,000 can be invited at once.",
            id="csv-5001-rows",
        ),
        pytest.param(
            {"pasted": "\n".join(f"p{n}@example.com" for n in range(5001))},
            "This list has 5,001 rows; at most 5,000 can be invited at once.",
            id="pasted-5001-rows",
        ),
        pytest.param(
            {"pasted": "a@example.com", "message": "x" * 2001},
            "Ensure this value has at most 2000 characters",
            id="message-too-long",
        ),
    ]


@pytest.mark.parametrize(("data", "message"), bad_input_cases())
def test_bad_input_is_a_400_with_the_reason_and_nothing_is_created(
    event, session, owner_client, data, message
):
    data = dict(data)
    target = None if data.pop("whole_event", False) else session
    if "csv_file" in data:
        data["upload"] = csv_upload(data.pop("csv_file"))

    response = post_list(owner_client, event, session=target, **data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert nothing_created()
    assert "invitation-previews" not in owner_client.session


def test_a_session_of_another_event_is_not_a_choice(event, session, owner, owner_client):
    foreign = SessionFactory(event=EventFactory(organizer=owner))

    response = post_list(owner_client, event, session=foreign, pasted="a@example.com")

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert nothing_created()


def test_a_cancelled_session_is_not_a_choice(event, owner_client):
    cancelled = SessionFactory(event=event, status="cancelled")

    response = post_list(owner_client, event, session=cancelled, pasted="a@example.com")

    assert response.status_code == 400
    assert nothing_created()


def test_nothing_is_registered_by_previewing(event, session, owner_client):
    post_list(owner_client, event, session=session, pasted="a@example.com", holds_seat="on")

    session.refresh_from_db()
    assert session.seats_taken == 0
    assert not Registration.objects.exists()
