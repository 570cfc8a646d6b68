from django.urls import path

from .views import calendar, invitations, public

app_name = "events"
urlpatterns = [
    path("events/", public.event_list, name="list"),
    path("events/<int:pk>/", public.event_detail, name="detail"),
    path("sessions/<int:pk>/register/", public.register, name="register"),
    path("me/sessions/", public.my_sessions, name="my_sessions"),
    path("registrations/<int:pk>/cancel/", public.cancel, name="cancel"),
    path("registrations/<int:pk>/offer/", public.offer, name="offer"),
    path("registrations/<int:pk>/invite.ics", calendar.invite_ics, name="invite_ics"),
    path("events/<int:pk>/calendar.ics", calendar.event_feed, name="event_feed"),
    path("calendar/<str:token>.ics", calendar.user_feed, name="user_feed"),
    path("me/calendar/reset/", calendar.reset_feed_token, name="reset_feed_token"),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
]

# The URL in an attendee's check-in QR code (acts only for an organizer of the event).
from .views import checkin  # noqa: E402

urlpatterns += [path("checkin/<str:token>/", checkin.checkin_qr, name="checkin_qr")]

# Surveys: the one-click link from the email (no login).
from .views import surveys  # noqa: E402

urlpatterns += [
    path("survey/<str:token>/", surveys.answer, name="survey"),
    path("survey/<str:token>/thanks/", surveys.thanks, name="survey_thanks"),
]

# Open calls: the public form (short URL), and the links in its emails.
from .views import open_calls  # noqa: E402

urlpatterns += [
    path("call/<slug:slug>/", open_calls.call_page, name="call"),
    path("call-confirm/<str:token>/", open_calls.call_confirm, name="call_confirm"),
    path("call-withdraw/<str:token>/", open_calls.call_withdraw, name="call_withdraw"),
]

# Joining a team: the link in the invitation mail (a page; only its POST joins). It was
# /join/<token>/ before: that address now serves personal join links, and sends a team
# invitation's token on here.
from .views import teams  # noqa: E402

urlpatterns += [path("teams/join/<str:token>/", teams.join, name="team_join")]

# The personal join link of an online or hybrid session (a page; only its POST joins).
from .views import joining  # noqa: E402

urlpatterns += [path("join/<str:token>/", joining.join, name="join")]

# Unsubscribing from a team's programme mail: the link in those emails and the one-click POST
# of their List-Unsubscribe header.
from .views import contact  # noqa: E402

urlpatterns += [path("unsubscribe/<str:token>/", contact.unsubscribe, name="unsubscribe")]

# Calendar answers from the mail provider's inbound webhook (django-anymail), when configured.
from .views import inbound  # noqa: E402

urlpatterns += [path("inbound/<slug:provider>/", inbound.webhook, name="inbound_webhook")]

# A panel member's "keep me" link, from the mail sent before removal (a page; only its POST
# renews).
from .views import retention  # noqa: E402

urlpatterns += [path("keep/<str:token>/", retention.panel_keep, name="panel_keep")]
