"""Every service that takes an `actor` writes who did what to the audit log, when an organizer
(or, for the team itself, an owner) calls it: one row of CALLS per function, and a test that
finds every such function by inspection, so a new service without a row (and without its
`audit.record`) fails here rather than going unrecorded."""

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

import events.services
from events.invite_parsing import Row
from events.models import (
    AuditEntry,
    Choice,
    ContactBlock,
    Event,
    Notification,
    PanelMember,
    Registration,
    Segment,
    Submission,
    SurveyRecipient,
    Theme,
    ThemeSet,
    WebhookEndpoint,
    WebhookMessage,
)
from events.services import (
    api_tokens,
    attendance,
    call_screening,
    contact,
    draws,
    erasure,
    invitations,
    lottery,
    notices,
    open_calls,
    panel,
    registration,
    retention,
    review,
    scheduling,
    screening,
    segments,
    surveys,
    teams,
    themes,
)
from events.services import questionnaire as engine
from events.services import webhooks as webhook_service
from tests.factories import (
    EventFactory,
    InvitationFactory,
    RegistrationFactory,
    ScreeningQuestionFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    add_to_team,
)

pytestmark = pytest.mark.django_db

# Functions that take an actor but are not an organizer's action of their own: they say so.
EXEMPT = {
    # The registration state machine's primitives: every organizer service that moves a
    # registration through them records its own entry (approve, reject, cancel, ...), and
    # people's own sign-ups go through them too.
    "events.services.transitions.transition": "a primitive; its callers record",
    "events.services.transitions.record_creation": "a primitive; its callers record",
    # Only an empty team can be deleted, and its log goes with it (the owners lose the team
    # they would read it in); the staff's admin log keeps the deletion.
    "events.services.teams.delete_team": "the team and its log go together",
    # The walk account deletion and "forget this person" share: forget records its entry, and
    # deleting one's own account is the person's act, not an organizer's.
    "events.services.erasure.erase": "a walk; forget records",
}


def actor_services() -> list[str]:
    """Every public function of events.services.* and accounts.services taking `actor`."""
    modules = [
        importlib.import_module(f"events.services.{info.name}")
        for info in pkgutil.iter_modules(events.services.__path__)
    ]
    modules.append(importlib.import_module("accounts.services"))
    found = []
    for module in modules:
        if module.__name__ == "events.services.audit":
            continue  # the log itself
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            if "actor" in inspect.signature(function).parameters:
                found.append(f"{module.__name__}.{name}")
    return sorted(found)


def build() -> SimpleNamespace:
    owner, organizer = UserFactory(), UserFactory()
    team = TeamFactory(owner=owner)
    add_to_team(team, organizer, role="organizer")
    event = EventFactory(team=team, registration_mode="approval")
    session = SessionFactory(event=event, capacity=10)
    now = timezone.now()
    started = SessionFactory(
        event=event, starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(minutes=30)
    )
    call = open_calls.create_call(team=team, actor=owner, title="Call", slug="the-call")
    text_question = engine.add_question(
        questionnaire=call.questionnaire, label="What do you build?", kind="short_text"
    )
    choice_question = engine.add_question(
        questionnaire=call.questionnaire,
        label="Where?",
        kind="single",
        choices=["Lab", "Home"],
    )
    open_calls.set_status(call=call, actor=owner, published=True)
    submission = open_calls.submit(
        call=call, email="pool@example.com", profile={"name": "Pool"}, answers={}
    ).submission
    open_calls.confirm(submission=submission, nonce=submission.nonce)
    survey = surveys.create_survey(event=event, actor=owner)
    theme_set = ThemeSet.objects.create(question=text_question)
    theme, other_theme = (
        Theme.objects.create(theme_set=theme_set, position=i, label=f"theme {i}") for i in (0, 1)
    )
    webhook = WebhookEndpoint.objects.create(
        team=team, url="https://hooks.example.com/in", event_types=["registration.created"]
    )
    return SimpleNamespace(
        owner=owner,
        organizer=organizer,
        team=team,
        event=event,
        session=session,
        started=started,
        call=call,
        text_question=text_question,
        choice_question=choice_question,
        submission=Submission.objects.get(pk=submission.pk),
        survey=survey,
        theme=theme,
        other_theme=other_theme,
        webhook=webhook,
    )


def registration_in(w: SimpleNamespace, status: str, **fields) -> Registration:
    return RegistrationFactory(session=fields.pop("session", w.session), status=status, **fields)


def lottery_session(w: SimpleNamespace):
    event = EventFactory(team=w.team, registration_mode="lottery")
    session = SessionFactory(event=event)
    registration_in(w, "applied", session=session)
    return session


def failed_message(w: SimpleNamespace) -> Notification:
    [invitation] = invitations.create_batch(
        event=w.event, session=w.session, rows=[Row(line=1, email="x@example.com")], actor=w.owner
    )
    notification = Notification.objects.get(invitation=invitation)
    Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.FAILED)
    return notification


def webhook_message(w: SimpleNamespace) -> WebhookMessage:
    return WebhookMessage.objects.create(
        endpoint=w.webhook,
        webhook_id="msg_1",
        type="registration.created",
        payload={"type": "registration.created", "timestamp": "", "data": {}},
        status=WebhookMessage.Status.SENT,
        give_up_at=timezone.now() + timedelta(days=1),
    )


def segment(w: SimpleNamespace) -> Segment:
    return Segment.objects.create(
        team=w.team, name="Seg", definition=[{"field": "consent", "op": "is", "value": True}]
    )


def recipient(w: SimpleNamespace) -> SurveyRecipient:
    person = registration_in(w, "confirmed")
    return SurveyRecipient.objects.create(survey=w.survey, user=person.user, session=w.session)


def past_event(w: SimpleNamespace) -> Event:
    """An event of the team whose only session ended yesterday, with one attendee."""
    event = EventFactory(team=w.team)
    ended = timezone.now() - timedelta(days=1)
    session = SessionFactory(event=event, starts_at=ended - timedelta(hours=1), ends_at=ended)
    registration_in(w, "confirmed", session=session)
    return event


def panel_member(w: SimpleNamespace) -> PanelMember:
    """Someone in the team's panel (they registered for one of its events)."""
    person = registration_in(w, "confirmed").user
    panel.refresh(team=w.team)
    return PanelMember.objects.get(team=w.team, user=person)


ORG, OWNER = "organizer", "owner"
Call = Callable[[SimpleNamespace, object], object]
# function -> (who acts, the call, the action code it records).
CALLS: dict[str, tuple[str, Call, str]] = {
    "events.services.api_tokens.create_token": (
        OWNER,
        lambda w, a: api_tokens.create_token(
            team=w.team, actor=a, name="Sync", scopes=["events:read"]
        ),
        "api_token.created",
    ),
    "events.services.api_tokens.revoke_token": (
        OWNER,
        lambda w, a: api_tokens.revoke_token(
            token=api_tokens.create_token(
                team=w.team, actor=w.owner, name="Old", scopes=["events:read"]
            ).token,
            actor=a,
        ),
        "api_token.revoked",
    ),
    "events.services.attendance.check_in": (
        ORG,
        lambda w, a: attendance.check_in(
            registration=registration_in(w, "confirmed", session=w.started), actor=a
        ),
        "attendance.checked_in",
    ),
    "events.services.attendance.undo_check_in": (
        ORG,
        lambda w, a: attendance.undo_check_in(
            registration=registration_in(
                w, "confirmed", session=w.started, checked_in_at=timezone.now()
            ),
            actor=a,
        ),
        "attendance.check_in_undone",
    ),
    "events.services.attendance.correct_attendance": (
        ORG,
        lambda w, a: attendance.correct_attendance(
            registration=registration_in(w, "confirmed", session=w.started),
            actor=a,
            attended=True,
        ),
        "attendance.corrected",
    ),
    "events.services.attendance.add_walk_in": (
        ORG,
        lambda w, a: attendance.add_walk_in(
            session=w.started, actor=a, email="walker@example.com", name="Walker"
        ),
        "attendance.walk_in",
    ),
    "events.services.call_screening.set_rules": (
        ORG,
        lambda w, a: call_screening.set_rules(
            call=w.call,
            actor=a,
            effects={Choice.objects.filter(question=w.choice_question).first().pk: "qualify"},
        ),
        "call.rules_changed",
    ),
    "events.services.call_screening.set_quotas": (
        ORG,
        lambda w, a: call_screening.set_quotas(
            call=w.call,
            actor=a,
            quotas=[{"field": "role", "value": "", "bound": "at_most", "percent": 50}],
        ),
        "call.quotas_changed",
    ),
    "events.services.call_screening.resume_rescore": (
        ORG,
        lambda w, a: call_screening.resume_rescore(call=w.call, actor=a),
        "call.rescore_restarted",
    ),
    "events.services.contact.block": (
        ORG,
        lambda w, a: contact.block(team=w.team, actor=a, email="no@example.com"),
        "contact.blocked",
    ),
    "events.services.contact.unblock": (
        ORG,
        lambda w, a: contact.unblock(
            team=w.team,
            actor=a,
            entry=ContactBlock.objects.create(
                team=w.team, email="lift@example.com", reason="blocked"
            ),
        ),
        "contact.unblocked",
    ),
    "events.services.draws.draw_sample": (
        ORG,
        lambda w, a: draws.draw_sample(team=w.team, actor=a, segment=segment(w), size=1, seed="s"),
        "draw.made",
    ),
    "events.services.draws.rerun": (
        ORG,
        lambda w, a: draws.rerun(
            draw=draws.draw_sample(
                team=w.team, actor=w.owner, segment=segment(w), size=1, seed="s"
            ),
            actor=a,
        ),
        "draw.rerun",
    ),
    "events.services.invitations.create_batch": (
        ORG,
        lambda w, a: invitations.create_batch(
            event=w.event,
            session=w.session,
            rows=[Row(line=1, email="new@example.com")],
            actor=a,
        ),
        "invitation.batch_sent",
    ),
    "events.services.invitations.revoke": (
        ORG,
        lambda w, a: invitations.revoke(
            invitation=InvitationFactory(event=w.event, session=w.session), actor=a
        ),
        "invitation.revoked",
    ),
    "events.services.invitations.extend": (
        ORG,
        lambda w, a: invitations.extend(
            invitation=InvitationFactory(event=w.event, session=w.session), actor=a, days=3
        ),
        "invitation.extended",
    ),
    "events.services.invitations.resend": (
        ORG,
        lambda w, a: invitations.resend(
            invitation=InvitationFactory(event=w.event, session=w.session), actor=a
        ),
        "invitation.resent",
    ),
    "events.services.lottery.draw": (
        ORG,
        lambda w, a: lottery.draw(session=lottery_session(w), actor=a),
        "lottery.drawn",
    ),
    "events.services.notices.resend": (
        ORG,
        lambda w, a: notices.resend(notification=failed_message(w), actor=a),
        "message.resent",
    ),
    "events.services.open_calls.create_call": (
        ORG,
        lambda w, a: open_calls.create_call(team=w.team, actor=a, title="New", slug="new-call"),
        "call.created",
    ),
    "events.services.open_calls.update_call": (
        ORG,
        lambda w, a: open_calls.update_call(call=w.call, actor=a, title="Renamed"),
        "call.updated",
    ),
    "events.services.open_calls.set_status": (
        ORG,
        lambda w, a: open_calls.set_status(call=w.call, actor=a, published=False),
        "call.unpublished",
    ),
    "events.services.open_calls.set_tags": (
        ORG,
        lambda w, a: open_calls.set_tags(submission=w.submission, actor=a, names=["keen"]),
        "submission.tagged",
    ),
    "events.services.open_calls.tag_many": (
        ORG,
        lambda w, a: open_calls.tag_many(
            call=w.call, actor=a, submissions=Submission.objects.filter(call=w.call), name="x"
        ),
        "call.tagged_many",
    ),
    "events.services.panel.add_attribute": (
        ORG,
        lambda w, a: panel.add_attribute(
            team=w.team, question=w.choice_question, name="where", actor=a
        ),
        "panel.attribute_added",
    ),
    "events.services.panel.remove_attribute": (
        ORG,
        lambda w, a: panel.remove_attribute(
            attribute=panel.add_attribute(team=w.team, question=w.text_question, name="builds"),
            actor=a,
        ),
        "panel.attribute_removed",
    ),
    "events.services.registration.cancel": (
        ORG,
        lambda w, a: registration.cancel(
            registration=registration_in(w, "confirmed"), actor=a, by_organizer=True
        ),
        "registration.cancelled",
    ),
    "events.services.review.approve": (
        ORG,
        lambda w, a: review.approve(registration=registration_in(w, "applied"), actor=a),
        "registration.approved",
    ),
    "events.services.review.reject": (
        ORG,
        lambda w, a: review.reject(registration=registration_in(w, "applied"), actor=a),
        "registration.rejected",
    ),
    "events.services.review.move_in": (
        ORG,
        lambda w, a: review.move_in(
            registration=registration_in(w, "waitlisted", waitlisted_at=timezone.now()), actor=a
        ),
        "registration.moved_in",
    ),
    "events.services.scheduling.create_event": (
        ORG,
        lambda w, a: scheduling.create_event(team=w.team, actor=a, title="New", timezone="UTC"),
        "event.created",
    ),
    "events.services.scheduling.update_event": (
        ORG,
        lambda w, a: scheduling.update_event(event=w.event, actor=a, title="Renamed"),
        "event.updated",
    ),
    "events.services.scheduling.publish_event": (
        ORG,
        lambda w, a: scheduling.publish_event(
            event=SessionFactory(event=EventFactory(team=w.team, status="draft")).event, actor=a
        ),
        "event.published",
    ),
    "events.services.scheduling.unpublish_event": (
        ORG,
        lambda w, a: scheduling.unpublish_event(event=EventFactory(team=w.team), actor=a),
        "event.unpublished",
    ),
    "events.services.scheduling.cancel_event": (
        ORG,
        lambda w, a: scheduling.cancel_event(event=EventFactory(team=w.team), actor=a),
        "event.cancelled",
    ),
    "events.services.scheduling.create_session": (
        ORG,
        lambda w, a: scheduling.create_session(
            event=w.event,
            actor=a,
            starts_at=w.session.starts_at + timedelta(days=1),
            ends_at=w.session.ends_at + timedelta(days=1),
            capacity=5,
        ),
        "session.created",
    ),
    "events.services.scheduling.update_session": (
        ORG,
        lambda w, a: scheduling.update_session(session=w.session, actor=a, capacity=12),
        "session.updated",
    ),
    "events.services.scheduling.cancel_session": (
        ORG,
        lambda w, a: scheduling.cancel_session(session=SessionFactory(event=w.event), actor=a),
        "session.cancelled",
    ),
    "events.services.screening.add_question": (
        ORG,
        lambda w, a: screening.add_question(
            event=w.event, actor=a, label="Why?", kind="short_text"
        ),
        "screening.question_added",
    ),
    "events.services.screening.edit_question": (
        ORG,
        lambda w, a: screening.edit_question(
            question=ScreeningQuestionFactory(event=w.event),
            actor=a,
            label="Why, really?",
            kind="short_text",
        ),
        "screening.question_edited",
    ),
    "events.services.screening.move_question": (
        ORG,
        lambda w, a: screening.move_question(
            question=ScreeningQuestionFactory(event=w.event), actor=a, offset=1
        ),
        "screening.question_moved",
    ),
    "events.services.screening.remove_question": (
        ORG,
        lambda w, a: screening.remove_question(
            question=ScreeningQuestionFactory(event=w.event), actor=a
        ),
        "screening.question_removed",
    ),
    "events.services.segments.create_segment": (
        ORG,
        lambda w, a: segments.create_segment(
            team=w.team,
            actor=a,
            name="Keen",
            definition=[{"field": "consent", "op": "is", "value": True}],
        ),
        "segment.created",
    ),
    "events.services.segments.update_segment": (
        ORG,
        lambda w, a: segments.update_segment(segment=segment(w), actor=a, name="Keener"),
        "segment.updated",
    ),
    "events.services.segments.rename_segment": (
        ORG,
        lambda w, a: segments.rename_segment(segment=segment(w), actor=a, name="Keenest"),
        "segment.updated",
    ),
    "events.services.segments.delete_segment": (
        ORG,
        lambda w, a: segments.delete_segment(segment=segment(w), actor=a),
        "segment.deleted",
    ),
    "events.services.surveys.create_survey": (
        ORG,
        lambda w, a: surveys.create_survey(event=EventFactory(team=w.team), actor=a),
        "survey.created",
    ),
    "events.services.surveys.update_settings": (
        ORG,
        lambda w, a: surveys.update_settings(survey=w.survey, actor=a, send_after_hours=4),
        "survey.settings_changed",
    ),
    "events.services.surveys.start_sending": (
        ORG,
        lambda w, a: surveys.start_sending(survey=w.survey, actor=a),
        "survey.sending_started",
    ),
    "events.services.surveys.stop_sending": (
        ORG,
        lambda w, a: surveys.stop_sending(survey=w.survey, actor=a),
        "survey.sending_stopped",
    ),
    "events.services.surveys.resend": (
        ORG,
        lambda w, a: surveys.resend(recipient=recipient(w), actor=a),
        "survey.resent",
    ),
    "events.services.teams.create_team": (
        OWNER,
        lambda w, a: teams.create_team(actor=a, name="Second team", slug="second-team"),
        "team.created",
    ),
    "events.services.teams.update_team": (
        OWNER,
        lambda w, a: teams.update_team(team=w.team, actor=a, name="Renamed team"),
        "team.updated",
    ),
    "events.services.teams.add_member": (
        OWNER,
        lambda w, a: teams.add_member(team=w.team, actor=a, user=UserFactory(), role="door"),
        "member.added",
    ),
    "events.services.teams.change_role": (
        OWNER,
        lambda w, a: teams.change_role(
            team=w.team,
            actor=a,
            membership=add_to_team(w.team, UserFactory(), role="door"),
            role="reviewer",
        ),
        "member.role_changed",
    ),
    "events.services.teams.remove_member": (
        OWNER,
        lambda w, a: teams.remove_member(
            team=w.team, actor=a, membership=add_to_team(w.team, UserFactory(), role="door")
        ),
        "member.removed",
    ),
    "events.services.teams.invite_member": (
        OWNER,
        lambda w, a: teams.invite_member(
            team=w.team, actor=a, email="joiner@example.com", role="door"
        ),
        "team_invitation.sent",
    ),
    "events.services.teams.resend_invitation": (
        OWNER,
        lambda w, a: teams.resend_invitation(
            team=w.team,
            actor=a,
            invitation=teams.invite_member(
                team=w.team, actor=w.owner, email="again@example.com", role="door"
            ),
        ),
        "team_invitation.resent",
    ),
    "events.services.teams.revoke_invitation": (
        OWNER,
        lambda w, a: teams.revoke_invitation(
            team=w.team,
            actor=a,
            invitation=teams.invite_member(
                team=w.team, actor=w.owner, email="gone@example.com", role="door"
            ),
        ),
        "team_invitation.revoked",
    ),
    "events.services.themes.request": (
        ORG,
        lambda w, a: themes.request(w.text_question, actor=a),
        "themes.recompute_requested",
    ),
    "events.services.themes.configure": (
        ORG,
        lambda w, a: themes.configure(w.text_question, actor=a, min_themes=3, max_themes=6),
        "themes.configured",
    ),
    "events.services.themes.rename": (
        ORG,
        lambda w, a: themes.rename(theme=w.theme, actor=a, name="Pricing"),
        "theme.renamed",
    ),
    "events.services.themes.pin": (
        ORG,
        lambda w, a: themes.pin(theme=w.theme, actor=a),
        "theme.pinned",
    ),
    "events.services.themes.unpin": (
        ORG,
        lambda w, a: themes.unpin(theme=w.theme, actor=a),
        "theme.unpinned",
    ),
    "events.services.themes.merge": (
        ORG,
        lambda w, a: themes.merge(theme=w.theme, into=w.other_theme, actor=a),
        "theme.merged",
    ),
    "events.services.webhooks.create_endpoint": (
        OWNER,
        lambda w, a: webhook_service.create_endpoint(
            team=w.team,
            actor=a,
            url="https://hooks.example.com/new?key=s3cret",
            event_types=["registration.created"],
        ),
        "webhook.created",
    ),
    "events.services.webhooks.update_endpoint": (
        OWNER,
        lambda w, a: webhook_service.update_endpoint(
            endpoint=w.webhook,
            actor=a,
            url="https://hooks.example.com/moved",
            event_types=["registration.created"],
        ),
        "webhook.updated",
    ),
    "events.services.webhooks.rotate_secret": (
        OWNER,
        lambda w, a: webhook_service.rotate_secret(endpoint=w.webhook, actor=a),
        "webhook.secret_rotated",
    ),
    "events.services.webhooks.delete_endpoint": (
        OWNER,
        lambda w, a: webhook_service.delete_endpoint(endpoint=w.webhook, actor=a),
        "webhook.deleted",
    ),
    "events.services.webhooks.disable_endpoint": (
        OWNER,
        lambda w, a: webhook_service.disable_endpoint(endpoint=w.webhook, actor=a),
        "webhook.disabled",
    ),
    "events.services.webhooks.enable_endpoint": (
        OWNER,
        lambda w, a: webhook_service.enable_endpoint(endpoint=w.webhook, actor=a),
        "webhook.enabled",
    ),
    "events.services.webhooks.send_test": (
        OWNER,
        lambda w, a: webhook_service.send_test(endpoint=w.webhook, actor=a),
        "webhook.test_sent",
    ),
    "events.services.retention.update_policy": (
        OWNER,
        lambda w, a: retention.update_policy(
            team=w.team, actor=a, attendee_days=100, submission_days=30, panel_days=400
        ),
        "team.retention_changed",
    ),
    "events.services.retention.set_event_days": (
        OWNER,
        lambda w, a: retention.set_event_days(event=w.event, actor=a, days=30),
        "event.retention_changed",
    ),
    "events.services.retention.set_call_days": (
        OWNER,
        lambda w, a: retention.set_call_days(call=w.call, actor=a, days=30),
        "call.retention_changed",
    ),
    "events.services.retention.anonymise_event_now": (
        OWNER,
        lambda w, a: retention.anonymise_event_now(event=past_event(w), actor=a),
        "event.anonymised",
    ),
    "events.services.erasure.forget": (
        OWNER,
        lambda w, a: erasure.forget(team=w.team, member=panel_member(w), actor=a),
        "panel.person_forgotten",
    ),
    "events.services.webhooks.send_again": (
        OWNER,
        lambda w, a: webhook_service.send_again(message=webhook_message(w), actor=a),
        "webhook.message_resent",
    ),
}


def test_every_service_taking_an_actor_has_a_row_or_says_why_not():
    found = set(actor_services())
    missing = found - set(CALLS) - set(EXEMPT)
    assert not missing, f"Add these to CALLS (and record an audit entry in them): {missing}"
    gone = (set(CALLS) | set(EXEMPT)) - found
    assert not gone, f"These no longer take an actor: {gone}"


@pytest.mark.parametrize("name", sorted(CALLS))
def test_an_organizers_call_writes_one_entry_naming_them(name, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    w = build()
    role, call, action = CALLS[name]
    actor = w.owner if role == OWNER else w.organizer
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    call(w, actor)
    new = AuditEntry.objects.exclude(pk__in=before).filter(actor=actor)
    assert [entry.action for entry in new].count(action) >= 1, (
        f"{name} recorded {[entry.action for entry in new]}, not {action}"
    )
    entry = new.filter(action=action).first()
    assert entry.actor_role == role
    assert entry.object_type and entry.object_id is not None
    # Nothing of a person but ids: no address anywhere in what was written.
    assert "@" not in str(entry.summary)
    if entry.event_id is not None:
        assert Event.objects.filter(pk=entry.event_id, team=entry.team).exists()
