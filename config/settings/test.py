"""Tests: the same services as configured (DATABASE_URL / REDIS_URL), fast hashing, no real mail."""

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key-that-is-long-enough-and-not-for-any-real-deployment-0123456789"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
