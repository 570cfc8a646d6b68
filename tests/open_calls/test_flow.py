"""The open call's whole flow through real views and the real outbox, mail over a real SMTP
server: an organizer builds and publishes a call; people submit and confirm from the mailed
link; they appear in the pool; the organizer filters it and invites three to a session
through the invitations flow; one accepts and gets the calendar invite."""

import html
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Invitation, Notification, OpenCall, Submission
from events.outbox import delivery
from tests.factories import EventFactory, OrganizerFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def deliver_pending() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        delivery.deliver(notification_id=pk)


def path_of(url: str) -> str:
    return urlsplit(url).path


def build_call(org: Client) -> OpenCall:
    response = org.post(
        reverse("manage:call_create"),
        {
            "title": "Tell us about the open model",
            "slug": "open-model",
            "intro": "What do you expect?",
            "ask_join": "on",
            "consent_text": "I agree to be contacted.",
        },
    )
    assert response.status_code == 302, response.content
    call = OpenCall.objects.get(slug="open-model")
    response = org.post(
        reverse("manage:question_new", args=[call.questionnaire_id]),
        {
            "label": "What would you use it for?",
            "kind": "single",
            "choices": "Agents\nRAG\nFine-tuning",
            "required": "on",
        },
    )
    assert response.status_code == 302
    response = org.post(
        reverse("manage:question_new", args=[call.questionnaire_id]),
        {"label": "Anything else?", "kind": "long_text"},
    )
    assert (
        org.post(reverse("manage:call_status", args=[call.pk]), {"action": "publish"}).status_code
        == 302
    )
    call.refresh_from_db()
    assert call.status == "published"
    return call


def submit(call: OpenCall, email: str, name: str, use: int, text: str = "") -> None:
    questions = list(call.questionnaire.questions.all())
    response = Client().post(
        reverse("events:call", args=[call.slug]),
        {
            "email": email,
            "name": name,
            "role": "developer",
            "affiliation": "Example Labs",
            "join_feedback": "on",
            "consent": "on",
            f"q{questions[0].pk}": str(use),
            f"q{questions[1].pk}": text,
        },
    )
    assert response.status_code == 200, response.content
    assert b"Check your email" in response.content


def test_submit_confirm_pool_filter_invite_accept(smtp, client_for):
    organizer = OrganizerFactory()
    org = client_for(organizer)
    call = build_call(org)
    people = [
        ("ada@example.com", "Ada", 0, "Agents for code review"),
        ("grace@example.com", "Grace", 0, ""),
        ("linus@example.com", "Linus", 0, ""),
        ("ken@example.com", "Ken", 1, ""),
    ]
    for email, name, use, text in people:
        submit(call, email, name, use, text)
    # Nothing is in the pool before the emails are confirmed.
    assert org.get(reverse("manage:pool", args=[call.pk])).content.count(b'name="ids"') == 0
    deliver_pending()
    for email, *_ in people:
        [message] = smtp.to(email)
        link = next(u for u in smtp.links(message) if "/call-confirm/" in u)
        page = Client().get(path_of(link))
        assert page.status_code == 200 and b"Confirm" in page.content
        assert Submission.objects.get(email=email).confirmed_at is None  # GET changes nothing
        assert Client().post(path_of(link)).status_code == 200
    assert Submission.objects.filter(call=call, confirmed_at__isnull=False).count() == 4
    deliver_pending()
    received = smtp.to("ada@example.com")[-1]
    assert "Agents for code review" in smtp.text(received)
    assert any("/call-withdraw/" in u for u in smtp.links(received))

    # The pool, filtered on the first question's "Agents" choice: three people.
    question = call.questionnaire.questions.first()
    pool = org.get(reverse("manage:pool", args=[call.pk]), {"choice": f"{question.pk}:0"})
    body = pool.content.decode()
    assert body.count('name="ids"') == 3
    assert "Ken" not in body
    # Free-text search finds Ada's answer.
    found = org.get(reverse("manage:pool", args=[call.pk]), {"q": "code review"}).content.decode()
    assert found.count('name="ids"') == 1 and "Ada" in found

    # Invite those three to a session, through the invitations flow.
    event = EventFactory(registration_mode="invitation", team=call.team)
    session = SessionFactory(event=event)
    ids = list(
        Submission.objects.filter(email__in=[p[0] for p in people[:3]]).values_list("pk", flat=True)
    )
    response = org.post(
        reverse("manage:pool_action", args=[call.pk]),
        {"action": "invite", "scope": "ticked", "ids": ids, "event": event.pk},
    )
    assert response.status_code == 302
    form = org.get(response["Location"])
    prefilled = html.unescape(form.content.decode())
    for email, name, *_ in people[:3]:
        assert f"{name} <{email}>" in prefilled
    pasted = re.search(
        r"<textarea[^>]*name=\"pasted\"[^>]*>(.*?)</textarea>", prefilled, re.S
    ).group(1)
    preview = org.post(
        reverse("manage:invite", args=[event.pk]),
        {"session": session.pk, "pasted": pasted.strip(), "expires_in_days": 7},
    )
    assert preview.status_code == 200, preview.content
    token = re.search(r'name="token" value="([0-9a-f]+)"', preview.content.decode()).group(1)
    assert (
        org.post(reverse("manage:invite_confirm", args=[event.pk]), {"token": token}).status_code
        == 302
    )
    assert Invitation.objects.filter(event=event).count() == 3
    deliver_pending()

    # Ada accepts from her invitation email, with her verified account, and gets the invite.
    ada = UserFactory(email="ada@example.com", display_name="Ada")
    invitation_mail = next(m for m in smtp.to("ada@example.com") if "invited" in m["Subject"])
    link = next(u for u in smtp.links(invitation_mail) if "/invitations/" in u)
    assert client_for(ada).post(path_of(link), {"action": "accept"}).status_code == 302
    deliver_pending()
    confirmation = smtp.to("ada@example.com")[-1]
    parts = [p.get_content_type() for p in confirmation.walk()]
    assert "text/calendar" in parts

    # The pool shows who was invited and who accepted.
    pool = org.get(reverse("manage:pool", args=[call.pk])).content.decode()
    assert pool.count(">accepted<") == 1
    assert pool.count(">invited<") == 2
