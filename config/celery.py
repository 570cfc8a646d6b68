"""The Celery app. Broker and schedule come from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from config import logs

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


# Logs (config/logs.py): the request id goes with every task published and comes back in the
# worker; Django's LOGGING is the one configuration (Celery leaves the root logger alone).
before_task_publish.connect(logs.on_publish)
task_prerun.connect(logs.on_task_start)
task_postrun.connect(logs.on_task_end)


@setup_logging.connect
def use_django_logging(**kwargs) -> None:
    """With a receiver here, Celery configures no logging of its own: the worker's and beat's
    lines go through settings.LOGGING (LOG_FORMAT, LOG_LEVEL, redaction) like the web's,
    configured now (beat never sets Django up)."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


@before_task_publish.connect
def stamp_published_at(headers=None, **kwargs) -> None:
    """When each message left, so the metrics can tell the age of a queue's oldest one."""
    from .broker import stamp

    stamp(headers)
