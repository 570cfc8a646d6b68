"""Tests: the same services as configured (DATABASE_URL / REDIS_URL), fast hashing, no real mail."""

import uuid

from config import queues

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key-that-is-long-enough-and-not-for-any-real-deployment-0123456789"  # noqa: S105
CONTACT_SUPPRESSION_KEY = "test-suppression-key-kept-apart-from-the-secret-key-0123456789"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tasks sent by tests go to queues of this run only, so a worker started by one test never
# picks up messages left by an earlier run; with no Redis, an in-memory broker. (A worker
# process a test starts is handed the run's prefix: tests/workers.py.)
CELERY_QUEUE_PREFIX = f"test-{uuid.uuid4().hex[:12]}-"
CELERY_TASK_QUEUES = queues.declared(CELERY_QUEUE_PREFIX)
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_PREFIX}default"
CELERY_TASK_ROUTES = queues.routes(CELERY_QUEUE_PREFIX)
if not REDIS_URL:  # noqa: F405
    CELERY_BROKER_URL = "memory://"
