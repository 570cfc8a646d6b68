"""The Celery app. Broker and schedule come from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(**kwargs) -> None:
    """Workers keep their database connection between tasks (CELERY_DB_REUSE_MAX), like web
    processes do with CONN_MAX_AGE; this retires old or broken ones, as Django does around
    each request. (Celery would otherwise open a new connection for every task.) A
    connection inside a transaction is left alone: a task run in-process (eagerly, in a
    test or from a view) must not lose its caller's transaction."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


@before_task_publish.connect
def stamp_published_at(headers=None, **kwargs) -> None:
    """When each message left, so the metrics can tell the age of a queue's oldest one."""
    from .broker import stamp

    stamp(headers)
