"""A rush of real threads, each with its own database connection, on one session."""

import threading
import time

from django.db import close_old_connections, connection

from events.models import Registration, Session
from events.services import ServiceError
from events.services.registration import register


def service_register(user, session_id: int) -> str:
    return register(user=user, session=Session.objects.get(pk=session_id)).status


def naive_register(user, session_id: int) -> str:
    """What not to do: count, then write. Two requests can both see the last free seat."""
    session = Session.objects.get(pk=session_id)
    taken = Registration.objects.filter(session=session, status="confirmed").count()
    time.sleep(0.005)  # the gap a busy server has between the read and the write
    status = "confirmed" if taken < session.capacity else "waitlisted"
    Registration.objects.create(session=session, user=user, status=status)
    return status


def rush(action, users, session_id: int) -> list[str]:
    """Start one thread per user at the same instant; return each outcome (status or error)."""
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = [""] * len(users)

    def run(index: int, user) -> None:
        try:
            barrier.wait()
            outcomes[index] = action(user, session_id)
        except ServiceError as error:
            outcomes[index] = f"refused: {error.message}"
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to report
            outcomes[index] = f"error: {error.__class__.__name__}: {error}"
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes
