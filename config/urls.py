from django.contrib import admin
from django.urls import include, path

from events.views import public

from . import devmail, views

urlpatterns = [
    path("", public.event_list, name="home"),
    path("", include("events.urls")),
    path("manage/", include("events.urls_manage")),
    path("accounts/profile/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    # The local inbox of `make run`; every view answers 404 unless DEBUG is on.
    path("dev/mail/", devmail.inbox, name="dev_mail"),
    path("dev/mail/<str:name>/", devmail.message_page, name="dev_mail_message"),
    path("dev/mail/<str:name>/html", devmail.message_html, name="dev_mail_html"),
]
