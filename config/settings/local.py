"""Development: what `make run` and manage.py use unless told otherwise."""

from urllib.parse import urlsplit

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-not-for-production")
# The suppressions' own key (see base): the development SECRET_KEY unless set (salted_hmac
# derives the key of their one purpose from it), so `make run` needs nothing more.
CONTACT_SUPPRESSION_KEY = env("CONTACT_SUPPRESSION_KEY", default=SECRET_KEY)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# SITE_URL
# Links in emails, QR codes and feeds must reach the server `make run` started, so without an
# explicit SITE_URL they follow its HOST and PORT (the Makefile's, also the Procfile's). A
# server listening on every interface is reached in a browser as localhost.
HOST = env("HOST", default="127.0.0.1")
PORT = env.int("PORT", default=8000)
_browser_host = "localhost" if HOST in {"0.0.0.0", "::", "[::]", ""} else HOST  # noqa: S104
if ":" in _browser_host and not _browser_host.startswith("["):
    _browser_host = f"[{_browser_host}]"  # an IPv6 address in a URL
SITE_URL = env("SITE_URL", default=f"http://{_browser_host}:{PORT}").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# A LAN address (HOST=192.168.1.20, to try the site on a phone) must be accepted as a host too.
_site_host = urlsplit(SITE_URL).hostname or ""
if ":" in _site_host:
    _site_host = f"[{_site_host}]"
if _site_host and _site_host not in ALLOWED_HOSTS and "ALLOWED_HOSTS" not in env.ENVIRON:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, _site_host]

# EMAIL
# Without EMAIL_URL nothing is sent: each message is kept in DEV_MAIL_DIR, shown at /dev/mail/,
# and summed up in one terminal line (to, subject, main link) instead of its whole MIME.
if "EMAIL_URL" not in env.ENVIRON:
    EMAIL_BACKEND = "config.devmail.InboxBackend"
