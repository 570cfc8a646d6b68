from django.urls import path

from .views import public

app_name = "events"
urlpatterns = [
    path("events/", public.event_list, name="list"),
    path("events/<int:pk>/", public.event_detail, name="detail"),
    path("sessions/<int:pk>/register/", public.register, name="register"),
    path("me/sessions/", public.my_sessions, name="my_sessions"),
    path("registrations/<int:pk>/cancel/", public.cancel, name="cancel"),
    path("registrations/<int:pk>/offer/", public.offer, name="offer"),
]
