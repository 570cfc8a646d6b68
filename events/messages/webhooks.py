"""The webhook events each domain's services emit (`outbox.webhooks.emit(type, about)`), and
what each says: ids and the fields an integrator needs to act or to fetch the rest from the
API, and no more personal data than that (an attendee's id and email, never names, answers
or notes; a survey response carries no respondent at all, anonymous survey or not).

Also the owners' email when the outbox disables an endpoint that kept failing."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..models import (
    Invitation,
    Notification,
    Registration,
    Session,
    Submission,
    SurveyRecipient,
    Team,
)
from ..outbox.registry import Registry
from ..outbox.rendering import absolute
from ..services import webhooks

# Where each object's team is, as a lookup on WebhookEndpoint (registry.WebhookEvent.team).


def _event_team(event_id: int) -> dict:
    return {"team__events": event_id}


def _session_team(session: Session) -> dict:
    return {"team__events__sessions": session.pk}


def _registration_team(registration: Registration) -> dict:
    return {"team__events__sessions": registration.session_id}


def registration_data(registration: Registration) -> dict:
    return {
        "registration": {
            "id": registration.pk,
            "status": registration.status,
            "session_id": registration.session_id,
            "event_id": registration.session.event_id,
            "created_at": registration.created_at,
            "confirmed_at": registration.confirmed_at,
            "waitlisted_at": registration.waitlisted_at,
            "offered_at": registration.offered_at,
            "offer_expires_at": registration.offer_expires_at,
            "cancelled_at": registration.cancelled_at,
            "checked_in_at": registration.checked_in_at,
        },
        "attendee": {"id": registration.user_id, "email": registration.user.email},
    }


def session_data(session: Session) -> dict:
    return {
        "session": {
            "id": session.pk,
            "event_id": session.event_id,
            "title": session.title,
            "status": session.status,
            "starts_at": session.starts_at,
            "ends_at": session.ends_at,
            "capacity": session.capacity,
            "seats_taken": session.seats_taken,
            "location": session.location,
            "sequence": session.sequence,
        }
    }


def invitation_data(invitation: Invitation) -> dict:
    # Read again: the services change it by UPDATE, so the instance may be behind.
    row = Invitation.objects.values(
        "pk", "event_id", "session_id", "status", "responded_at", "registration_id", "email"
    ).get(pk=invitation.pk)
    return {
        "invitation": {
            "id": row["pk"],
            "event_id": row["event_id"],
            "session_id": row["session_id"],
            "status": row["status"],
            "responded_at": row["responded_at"],
            "registration_id": row["registration_id"],
        },
        "invitee": {"email": row["email"]},
    }


def response_data(recipient: SurveyRecipient) -> dict:
    survey = recipient.survey
    if survey.anonymous:
        # No response id (a sequence shared with other questionnaires: it orders answers in
        # time), no session and no time: beside who left which session when, they name the
        # person. That someone answered is all an anonymous survey tells.
        return {"response": {"survey_id": survey.pk, "event_id": survey.event_id}}
    return {
        "response": {
            "id": recipient.response_id,
            "survey_id": survey.pk,
            "event_id": survey.event_id,
            "session_id": recipient.session_id,
            "answered_at": recipient.answered_at,
        }
    }


def submission_data(submission: Submission) -> dict:
    return {
        "submission": {
            "id": submission.pk,
            "call_id": submission.call_id,
            "submitted_at": submission.submitted_at,
            "confirmed_at": submission.confirmed_at,
        },
        "submitter": {"email": submission.email},
    }


REGISTRATION_EVENTS = {
    "registration.created": _("Someone signed up, applied or joined the waitlist."),
    "registration.confirmed": _("A seat is confirmed."),
    "registration.waitlisted": _("Someone is on a session's waitlist."),
    "registration.offered": _("A freed seat is offered to someone on the waitlist."),
    "registration.cancelled": _("A registration is cancelled, by its person or a team."),
    "registration.rejected": _(
        "An applicant or someone waiting is turned down by the team (or not drawn in a "
        "lottery without a waitlist)."
    ),
    "registration.offer_expired": _("A seat offered from the waitlist was not taken in time."),
    "attendance.checked_in": _("An attendee is checked in."),
}


def context(notification: Notification, context: dict) -> None:
    payload = notification.payload
    team = Team.objects.filter(pk=payload.get("team_id")).first()
    context["team"] = team
    if team is not None:
        context["links"]["webhooks"] = absolute(reverse("manage:webhooks", args=[team.slug]))


def register(registry: Registry) -> None:
    for name, description in REGISTRATION_EVENTS.items():
        registry.register_webhook(
            name, description=description, team=_registration_team, data=registration_data
        )
    registry.register_webhook(
        "session.changed",
        description=_("A session's time, place or capacity changed."),
        team=_session_team,
        data=session_data,
    )
    registry.register_webhook(
        "session.cancelled",
        description=_("A session is cancelled (its registrations close with it)."),
        team=_session_team,
        data=session_data,
    )
    for name, description in {
        "invitation.accepted": _("An invitation is accepted."),
        "invitation.declined": _("An invitation is declined."),
    }.items():
        registry.register_webhook(
            name,
            description=description,
            team=lambda invitation: _event_team(invitation.event_id),
            data=invitation_data,
        )
    registry.register_webhook(
        "survey.response",
        description=_("Someone answered a survey (no respondent identity is sent)."),
        team=lambda recipient: _event_team(recipient.survey.event_id),
        data=response_data,
    )
    registry.register_webhook(
        "submission.confirmed",
        description=_("An open-call submission is confirmed by its email link."),
        team=lambda submission: {"team_id": submission.call.team_id},
        data=submission_data,
    )
    registry.register(Notification.Kind.WEBHOOK_DISABLED, context=context)
    registry.on_endpoint_disabled(webhooks.notify_disabled)
