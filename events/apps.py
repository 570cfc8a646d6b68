from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Tasks are published by name (the outbox's doorbell and the waitlist never import
        # them), so every process registers them at start: Celery's autodiscovery would do
        # so only in workers, and only for events.tasks.
        # Then each domain tells the outbox about its kinds of message: the outbox never
        # imports a domain (pyproject.toml, import-linter).
        from . import messages
        from . import tasks as domain_tasks  # noqa: F401 - registers them
        from .outbox import registry
        from .outbox import tasks as outbox_tasks  # noqa: F401 - registers them

        messages.register_all(registry.kinds)

        # Calendar answers posted by the mail provider (views/inbound.py); anymail's signal
        # is its one way to hand over a message, so this adapter is connected, not a rule.
        from anymail.signals import inbound

        from .views.inbound import on_inbound

        inbound.connect(on_inbound, dispatch_uid="events.calendar_replies")
