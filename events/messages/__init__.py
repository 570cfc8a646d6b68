"""Each domain's kinds of message, registered with the outbox at app start
(`EventsConfig.ready`): what the templates need, whether the news is still true when the mail
leaves, the calendar part, what to record once it is sent. One module per domain; adding a
kind of email is one `register` call here and its three templates."""

from ..outbox.registry import Registry


def register_all(registry: Registry) -> None:
    from . import invitations, open_calls, registrations, surveys, teams

    for domain in (registrations, invitations, surveys, open_calls, teams):
        domain.register(registry)
