"""The export and the erasure are complete: a person who touched every feature finds all of it
in their export, and after their account is deleted nothing identifying them is left in any
table. The models holding people's data are enumerated (every link to the user model, every
email field), so a model added later fails these tests until the export and the erasure know
it, or it is allowed below with the reason it holds nothing of the person."""

import email
import json
from types import SimpleNamespace

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast, Lower
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from events import ics
from events.invite_parsing import Row
from events.models import (
    Notification,
    PanelRenewal,
    Question,
    Registration,
    Session,
    WebhookMessage,
)
from events.services import (
    attendance,
    calendar_replies,
    contact,
    open_calls,
    panel,
    teams,
    webhooks,
)
from events.services import invitations as invitation_service
from events.services.registration import accept_terms, register
from tests.calendar_replies.helpers import reply_mail
from tests.factories import (
    PASSWORD,
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    UserFactory,
    in_days,
    team_of,
)
from tests.notifications.helpers import deliver_pending
from tests.open_calls.conftest import in_pool, make_call
from tests.surveys.conftest import answer, end, field, invite, questions_of, survey_for

pytestmark = pytest.mark.django_db

EMAIL = "lea.complete@example.com"
BEFORE = "lea.before@example.net"  # verified on the account; used for a call before it existed
NAME = "Lea Complete"
HANDLE = "lea-complete"
WORDS = "only Lea would write these words"
NOTE = "Reviewer's own words about the candidate"

# Where each link to a person lands in the export: (model, field) -> section.
EXPORTED = {
    ("accounts.User", "email"): "profile",
    ("account.EmailAddress", "user"): "email_addresses",
    ("account.EmailAddress", "email"): "email_addresses",
    ("socialaccount.SocialAccount", "user"): "connected_accounts",
    ("events.Membership", "user"): "teams",
    ("events.TeamInvitation", "email"): "team_invitations",
    ("events.TeamInvitation", "accepted_by"): "team_invitations",
    ("events.TeamHistory", "subject_email"): "team_history",
    ("events.ContactBlock", "email"): "do_not_contact",
    ("events.TermsAcceptance", "user"): "terms_accepted",
    ("events.Invitation", "email"): "invitations",
    ("events.Notification", "recipient"): "emails",
    ("events.Notification", "email"): "emails",
    ("events.Submission", "user"): "open_call_submissions",
    ("events.Submission", "email"): "open_call_submissions",
    ("events.PanelMember", "user"): "panels",
    ("events.PanelMember", "email"): "panels",
    ("events.Registration", "user"): "registrations",
    ("events.SurveyRecipient", "user"): "survey_answers",
    ("events.CalendarReply", "sender"): "calendar_answers",
    ("events.PanelRenewal", "email"): "panel_renewals",
}

# Links that hold nothing of the person as a subject: they record what the person did as a
# member of a team (or as staff), in the team's own records. On deletion they are set to
# null (the act stays, without the person), except a review, which goes with its author.
NOT_PERSONAL = {
    ("admin.LogEntry", "user"): "a staff member's change in the admin",
    ("events.Team", "members"): "the memberships, exported as `teams`",
    ("events.ApiToken", "created_by"): "a team's API token, made by a member",
    ("events.ApiToken", "revoked_by"): "a team's API token, revoked by a member",
    ("events.TeamInvitation", "invited_by"): "who on a team invited someone else",
    ("events.TeamHistory", "actor"): "who on a team made a change",
    ("events.ContactBlock", "created_by"): "who on a team blocked an address",
    ("events.Invitation", "created_by"): "who on a team sent an invitation",
    ("events.Review", "reviewer"): "a reviewer's score and note: the team's working notes",
    ("events.Segment", "created_by"): "who on a team saved a segment",
    ("events.Draw", "drawn_by"): "who on a team drew a sample",
    ("events.PanelErasure", "forgotten_by"): "who on a team forgot someone",
    ("events.Registration", "checked_in_by"): "door staff who checked someone in",
    # Their own registrations' changes are exported as `registrations[].history`.
    ("events.RegistrationChange", "actor"): "who changed a registration",
    ("events.WebhookEndpoint", "created_by"): "who on a team made a webhook endpoint",
    ("events.RetentionLog", "actor"): "the owner who anonymised an event early",
    ("events.AuditEntry", "actor"): "who on a team did what: the team's audit log",
}

# What erasure keeps on purpose, and why it does not identify the person in the clear.
PSEUDONYMOUS = {
    ("events.ContactSuppression", "digest"): (
        "a keyed hash (HMAC under a key derived from CONTACT_SUPPRESSION_KEY) of the team "
        "and an address that was on the team's do-not-contact list: nobody can read the "
        "address back, and it keeps the person's wish not to be contacted after their erasure"
    ),
}


def personal_fields() -> list[tuple[str, str]]:
    """Every (model, field) that links a row to a user or holds an email address."""
    user_model = get_user_model()
    found = []
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if not getattr(f, "concrete", False) and not f.many_to_many:
                continue
            linked = f.is_relation and f.related_model is user_model and not f.auto_created
            if linked or isinstance(f, models.EmailField):
                found.append((model._meta.label, f.name))
    return sorted(found)


def rows_of(label: str, name: str, person: User, addresses: list[str]):
    model = apps.get_model(label)
    f = model._meta.get_field(name)
    if isinstance(f, models.EmailField):
        query = Q(pk__in=[])
        for email in addresses:
            query |= Q(**{f"{name}__iexact": email})
        return model._default_manager.filter(query)
    return model._default_manager.filter(**{name: person})


def everything(person: User) -> dict:
    """A person who touched every feature: two verified addresses and a GitHub login, a
    submission (made from the older address before the account) that a reviewer scored,
    confirmed, waitlisted and upcoming places, a confidential event's terms, an invitation
    holding a seat, a named and an anonymous survey answered, attendance, the panel, an
    unsubscription, a team they joined by invitation, and a webhook endpoint that told the
    team about their sign-ups."""
    EmailAddress.objects.create(user=person, email=BEFORE, verified=True, primary=False)
    # allauth's mail to them, through the outbox: a password reset asked for their older
    # address, the row still holding its link.
    accounts.owe_account_mail(
        template="account/email/password_reset_key",
        email=BEFORE,
        context={"password_reset_url": "http://testserver/accounts/password/reset/key/1-x/"},
    )
    SocialAccount.objects.create(
        user=person, provider="github", uid="4242", extra_data={"login": HANDLE, "name": NAME}
    )
    owner = OrganizerFactory()
    team = team_of(owner)
    webhooks.create_endpoint(
        team=team, actor=owner, url="http://127.0.0.1:9/hook", event_types=webhooks.event_types()
    )
    call = make_call(owner, slug="complete")
    submission = in_pool(
        call, BEFORE, name=NAME, github_handle=HANDLE, consent=True, affiliation="Lea Labs"
    )
    open_calls.review(submission=submission, reviewer=owner, score=4, note=NOTE)
    # And one to another call, signed in (not confirmed yet).
    open_calls.submit(
        call=make_call(owner, slug="signed-in"),
        email=EMAIL,
        profile={"name": NAME},
        answers={},
        user=person,
    )

    confidential = EventFactory(organizer=owner, terms_text="Say nothing.", terms_version=1)
    accept_terms(user=person, event=confidential, version=1)
    register(user=person, session=SessionFactory(event=confidential, starts_at=in_days(5)))
    full = SessionFactory(event=EventFactory(organizer=owner), capacity=1)
    register(user=UserFactory(), session=full)
    register(user=person, session=full)  # waitlisted

    held = SessionFactory(event=EventFactory(organizer=owner), capacity=1)
    invitation_service.create_batch(
        event=held.event,
        session=held,
        rows=[Row(line=1, email=EMAIL.upper(), name=NAME)],
        actor=owner,
        holds_seat=True,
        message="We would love to hear from you.",
    )
    Kind = Question.Kind
    questions = [(Kind.RATING, "How was it?", None, True), (Kind.LONG_TEXT, "Tell us", None, False)]
    for anonymous in (False, True):
        attended = SessionFactory(event=EventFactory(organizer=owner), capacity=5)
        registration = register(user=person, session=attended)
        end(attended)
        registration.refresh_from_db()
        attendance.check_in(registration=registration, actor=owner)
        survey = survey_for(attended.event, questions, anonymous=anonymous)
        rating, text = questions_of(survey)
        recipient = invite(survey, person, attended)
        answer(recipient=recipient, data={field(rating): "4", field(text): WORDS})
    # Their calendar answered "Maybe" to the last invite (the row keeps their address).
    maybe = reply_mail(invite_of(attended), partstat="TENTATIVE", sender=EMAIL)
    calendar_replies.take(message=email.message_from_bytes(maybe), raw=maybe, source="imap")
    panel.refresh(team=team)
    # The team asked them to renew their consent (as retention.ask_renewals leaves it).
    PanelRenewal.objects.create(team=team, email=EMAIL, asked_at=timezone.now())
    # A receiver that answered with the body quoted back.
    WebhookMessage.objects.filter(pk=WebhookMessage.objects.order_by("pk")[:1]).update(
        status=WebhookMessage.Status.FAILED, last_error=f"422: unknown attendee {EMAIL}"
    )

    other = OrganizerFactory()
    unsubscribed = team_of(other)
    contact.unsubscribe(team=unsubscribed, email=EMAIL)
    joined = OrganizerFactory()
    invited = teams.invite_member(team=team_of(joined), actor=joined, email=EMAIL, role="reviewer")
    teams.accept_invitation(token=teams.join_token(invited), user=person)
    return {
        "team": team,
        "owner": owner,
        "held": held,
        "full": full,
        "unsubscribed": unsubscribed,
    }


@pytest.fixture
def person(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    return UserFactory(email=EMAIL, display_name=NAME, github_handle=HANDLE, affiliation="Lea Labs")


def test_every_model_that_holds_a_persons_data_is_in_their_export(person, client_for):
    everything(person)
    addresses = accounts.own_addresses(person)

    data = json.loads(client_for(person).get(reverse("accounts:export")).content)

    unknown = [k for k in personal_fields() if k not in EXPORTED and k not in NOT_PERSONAL]
    assert unknown == [], "Add these to the export (and EXPORTED) or to NOT_PERSONAL, saying why"
    for key, section in EXPORTED.items():
        rows = rows_of(*key, person, addresses).count()
        assert rows, f"everything() leaves {key} empty: make the person touch it"
        if section == "profile":
            assert data["profile"]["email"] == EMAIL
        else:
            assert len(data[section]) >= rows, (key, section)


def test_the_export_says_what_a_person_would_look_for_and_not_the_teams_notes(person, client_for):
    everything(person)

    response = client_for(person).get(reverse("accounts:export"))
    data = json.loads(response.content)

    text = response.content.decode()
    assert NOTE not in text  # the reviewer's note is the team's...
    [submission, signed_in] = data["open_call_submissions"]
    assert (submission["email"], submission["reviews"]) == (BEFORE, 1)
    assert (signed_in["email"], signed_in["reviews"]) == (EMAIL, 0)  # ...its count, theirs
    assert person.calendar_token not in text
    assert data["calendar_feed"] == {"private_feed_token": True}
    assert data["profile"]["language"] == ""
    [row] = data["panels"]
    assert (row["name"], row["consent_to_contact"], row["attended"]) == (NAME, True, 2)
    assert all(e["subject"] for e in data["emails"])
    assert any("confirm" in e["subject"].lower() for e in data["emails"])
    assert [i["role"] for i in data["team_invitations"]] == ["reviewer"]
    assert {h["what"] for h in data["team_history"]} >= {"invited", "joined"}
    assert [b["why"] for b in data["do_not_contact"]] == ["Unsubscribed"]
    assert len(data["terms_accepted"]) == 1


def invite_of(session: Session) -> SimpleNamespace:
    """What reply_mail reads of an invite, for `session` (its UID, SEQUENCE and times)."""
    return SimpleNamespace(
        uid=ics.uid_for(session),
        sequence=session.sequence,
        start=session.starts_at,
        end=session.ends_at,
        organizer="mailto:sessions@example.com",
        organizer_cn="Sessions",
    )


NEEDLES = (EMAIL, BEFORE, NAME, HANDLE, WORDS, "lea.complete", "lea.before")


def identifying_rows(needles=NEEDLES) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a text, char or JSON column still holds one of
    the needles, over every model of every app."""
    left = []
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.CharField | models.TextField | models.JSONField):
                continue
            text = Lower(Cast(f.name, TextField()))
            rows = model._default_manager.annotate(scanned=text)
            for needle in needles:
                if rows.filter(scanned__contains=needle.lower()).exists():
                    left.append((model._meta.label, f.name, needle))
    return left


def test_after_deletion_nothing_identifying_the_person_is_left_anywhere(person, client_for, smtp):
    world = everything(person)
    addresses = accounts.own_addresses(person)
    pk = person.pk
    links = [k for k in personal_fields() if k not in NOT_PERSONAL]
    assert identifying_rows(), "the scan must see the person before the deletion"
    assert WebhookMessage.objects.filter(payload__data__attendee__email=EMAIL).exists()

    response = client_for(person).post(reverse("accounts:delete"), {"confirmation": PASSWORD})
    assert response.status_code == 302
    # The CANCELs of their calendar entries still go; once sent, the purge takes them.
    deliver_pending()
    assert accounts.purge_farewells() >= 1

    assert identifying_rows() == []
    # Their wish not to hear from the team they unsubscribed from stays, as a digest only:
    # the address typed again is refused; no other team keeps anything.
    for label, name in PSEUDONYMOUS:
        kept = apps.get_model(label)._default_manager.values_list("team_id", name)
        assert [team for team, _digest in kept] == [world["unsubscribed"].pk]
    assert contact.is_blocked(world["unsubscribed"].pk, EMAIL)
    assert not contact.is_blocked(world["team"].pk, EMAIL)
    for label, name in links:
        model = apps.get_model(label)
        f = model._meta.get_field(name)
        if not isinstance(f, models.EmailField):
            assert not model._default_manager.filter(**{f"{name}_id": pk}).exists(), label
        assert not rows_of(label, name, User(pk=pk), addresses).exists(), (label, name)
    assert not Notification.objects.filter(key__contains=f"user{pk}:").exists()
    # What the teams need stays, without the person: the webhook rows with ids only, the
    # seat the invitation held and the waitlisted place went back.
    assert WebhookMessage.objects.filter(payload__data__attendee__email="[erased]").exists()
    for session in (world["held"], world["full"]):
        session.refresh_from_db()
        assert (
            session.seats_taken
            == Registration.objects.filter(session=session, status__in=Registration.SEATED).count()
        )
    assert Session.objects.filter(pk=world["held"].pk, seats_taken=0).exists()
