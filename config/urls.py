from django.contrib import admin
from django.urls import include, path

from events import views as event_views

from . import views

urlpatterns = [
    path("", event_views.home, name="home"),
    path("accounts/profile/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
]
