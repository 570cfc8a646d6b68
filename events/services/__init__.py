"""Every state change of events, sessions and registrations. Views, forms, admin actions and
tasks call these functions; nothing else writes these models."""


class ServiceError(Exception):
    """A refusal with a message meant for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
