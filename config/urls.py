from django.contrib import admin
from django.urls import include, path

from events.views import public

from . import views

urlpatterns = [
    path("", public.event_list, name="home"),
    path("", include("events.urls")),
    path("manage/", include("events.urls_manage")),
    path("accounts/profile/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
]
