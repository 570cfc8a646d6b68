from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog

from accounts import views as account_views
from events.ratelimit import by_ip, by_posted, rate_limit
from events.views import public

from . import devmail, metrics, views

# Django's admin login has no limit of its own. Attempts count per address and per account
# named (a guesser spreading over addresses); past the limit every attempt in that minute is
# refused, the right password too, so guessing stops there and a lucky guess is not confirmed.
LOGIN_REFUSED = _("Too many attempts to log in.")
admin_login = rate_limit("admin-login-ip", per_minute=10, key=by_ip, reason=LOGIN_REFUSED)(
    rate_limit(
        "admin-login-account", per_minute=5, key=by_posted("username"), reason=LOGIN_REFUSED
    )(admin.site.login)
)

urlpatterns = [
    path("", public.event_list, name="home"),
    path("", include("events.urls")),
    path("manage/", include("events.urls_manage")),
    # The REST API (events/api): /api/v1/..., /api/schema/, /api/docs/.
    path("api/", include("events.api.urls")),
    path("accounts/profile/", include("accounts.urls")),
    # allauth's sign-up, in one transaction with the mail it owes (before allauth's own URLs,
    # which have the same path and name).
    path("accounts/signup/", account_views.signup, name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("admin/login/", admin_login),  # before admin.site.urls, which has the same path
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/live", views.healthz_live, name="healthz_live"),
    path("healthz/ready", views.healthz_ready, name="healthz_ready"),
    path("metrics", metrics.endpoint, name="metrics"),
    path("language/", account_views.set_language, name="set_language"),
    # The strings our scripts show, in the reader's language (djangojs catalogue), served
    # from here rather than a CDN.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    # The local inbox of `make run`; every view answers 404 unless DEBUG is on.
    path("dev/mail/", devmail.inbox, name="dev_mail"),
    path("dev/mail/<str:name>/", devmail.message_page, name="dev_mail_message"),
    path("dev/mail/<str:name>/html", devmail.message_html, name="dev_mail_html"),
]
