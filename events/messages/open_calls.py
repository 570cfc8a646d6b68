"""The open calls' messages: "confirm your email" and "we received your submission"."""

from django.urls import reverse
from django.utils.translation import gettext_noop

from ..models import Notification
from ..outbox.registry import Registry
from ..outbox.rendering import absolute
from ..services import open_calls

Kind = Notification.Kind


def context(notification: Notification, context: dict) -> None:
    submission = notification.submission
    if submission is None:
        return  # withdrawn: the message is skipped, never rendered
    context["call"] = submission.call
    context["recipient_name"] = submission.name
    links = context["links"]
    links["call"] = absolute(submission.call.get_absolute_url())
    links["withdraw"] = absolute(
        reverse("events:call_withdraw", args=[open_calls.withdraw_token(submission)])
    )
    if notification.kind == Kind.CALL_CONFIRM:
        token = open_calls.confirm_token(submission, nonce=notification.payload.get("nonce"))
        links["confirm"] = absolute(reverse("events:call_confirm", args=[token]))
    else:
        context["received"] = open_calls.summary(submission)


def still_relevant(notification: Notification) -> str:
    submission = notification.submission
    if submission is None:
        return gettext_noop("The person withdrew their submission.")
    if notification.kind == Kind.CALL_CONFIRM and submission.nonce != notification.payload.get(
        "nonce"
    ):
        return gettext_noop("A newer confirmation link was sent, or this one was used.")
    return ""


def language(notification: Notification) -> str:
    """The language the submission was written in, else the team's default."""
    submission = notification.submission
    if submission is None:
        return ""  # withdrawn: skipped, never rendered
    return submission.language or submission.call.team.language


def register(registry: Registry) -> None:
    registry.register_many(
        [Kind.CALL_CONFIRM, Kind.CALL_RECEIVED],
        context=context,
        still_relevant=still_relevant,
        related=("submission__call__team",),
        language=language,
    )
