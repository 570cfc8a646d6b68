"""Production: DEBUG off, a real secret, HTTPS everywhere. Set DJANGO_SETTINGS_MODULE to this."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CONTACT_SUPPRESSION_KEY, SECRET_KEY, env

DEBUG = False
if not SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set SECRET_KEY to a random string of at least 50 characters.")
# Not derived from SECRET_KEY here: rotating that would silently forget every do-not-contact
# wish kept after an erasure.
if not CONTACT_SUPPRESSION_KEY or len(CONTACT_SUPPRESSION_KEY) < 50:
    raise ImproperlyConfigured(
        "Set CONTACT_SUPPRESSION_KEY to a random string of at least 50 characters, and never "
        "change it: it keys the do-not-contact wishes kept after a person's erasure (changed "
        "or lost, they are forgotten). A deployment that kept such wishes before this setting "
        "existed sets it to the SECRET_KEY it had then."
    )

# Teams are created by staff unless the deployment says otherwise.
TEAM_CREATION = env("TEAM_CREATION", default="staff")
if TEAM_CREATION not in ("open", "staff"):
    raise ImproperlyConfigured('TEAM_CREATION is "open" or "staff".')

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
