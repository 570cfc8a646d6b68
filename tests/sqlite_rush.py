"""Run the registration rush on a file-backed SQLite database, in its own process, with the
settings `make run` uses. Prints the outcomes as JSON. Usage: python -m tests.sqlite_rush MODE"""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


def main(mode: str, threads: int, capacity: int) -> None:
    django.setup()
    from django.core.management import call_command

    from events.models import Session
    from tests import harness
    from tests.factories import SessionFactory, UserFactory

    call_command("migrate", verbosity=0)  # a no-op on the migrated copy the test passes
    from django.test import override_settings

    session = SessionFactory(capacity=capacity)
    # Hashing 50 passwords with the production hasher would take most of the run.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        users = [UserFactory() for _ in range(threads)]
    action = harness.service_register if mode == "service" else harness.naive_register
    outcomes = harness.rush(action, users, session.pk)
    session = Session.objects.get(pk=session.pk)
    print(json.dumps({"outcomes": outcomes, "seats_taken": session.seats_taken}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
