"""/api/: the versioned endpoints under v1/, the OpenAPI document, its reference page, and a
problem-detail 404 for every other address under /api/."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import errors
from .views import attendance, calls, deletions, events, invitations, registrations, surveys

app_name = "api"

v1 = [
    path("events/", events.events, name="events"),
    path("events/<int:pk>/", events.event, name="event"),
    path("events/<int:pk>/publish/", events.event_publish, name="event_publish"),
    path("events/<int:pk>/cancel/", events.event_cancel, name="event_cancel"),
    path("events/<int:pk>/sessions/", events.event_sessions, name="event_sessions"),
    path("sessions/<int:pk>/", events.session, name="session"),
    path("sessions/<int:pk>/cancel/", events.session_cancel, name="session_cancel"),
    path("sessions/<int:pk>/waitlist/", registrations.session_waitlist, name="session_waitlist"),
    path("sessions/<int:pk>/attendance/", attendance.session_attendance, name="session_attendance"),
    path("registrations/", registrations.registration_list, name="registrations"),
    path("registrations/<int:pk>/", registrations.registration, name="registration"),
    path(
        "registrations/<int:pk>/approve/",
        registrations.registration_approve,
        name="registration_approve",
    ),
    path(
        "registrations/<int:pk>/reject/",
        registrations.registration_reject,
        name="registration_reject",
    ),
    path(
        "registrations/<int:pk>/move-in/",
        registrations.registration_move_in,
        name="registration_move_in",
    ),
    path(
        "registrations/<int:pk>/cancel/",
        registrations.registration_cancel,
        name="registration_cancel",
    ),
    path("registrations/<int:pk>/check-in/", attendance.check_in, name="check_in"),
    path("registrations/<int:pk>/check-in/undo/", attendance.undo_check_in, name="undo_check_in"),
    path("events/<int:pk>/invitations/", invitations.event_invitations, name="event_invitations"),
    path("invitations/<int:pk>/", invitations.invitation, name="invitation"),
    path("invitations/<int:pk>/revoke/", invitations.invitation_revoke, name="invitation_revoke"),
    path("invitations/<int:pk>/resend/", invitations.invitation_resend, name="invitation_resend"),
    path("invitations/<int:pk>/extend/", invitations.invitation_extend, name="invitation_extend"),
    path("events/<int:pk>/survey/", surveys.survey, name="survey"),
    path("events/<int:pk>/survey/responses/", surveys.survey_responses, name="survey_responses"),
    path("events/<int:pk>/survey/results/", surveys.survey_results, name="survey_results"),
    path("calls/", calls.calls, name="calls"),
    path("calls/<int:pk>/submissions/", calls.call_submissions, name="call_submissions"),
    path("submissions/<int:pk>/", calls.submission, name="submission"),
    path("submissions/<int:pk>/review/", calls.submission_review, name="submission_review"),
    path("segments/", calls.segment_list, name="segments"),
    path("segments/<int:pk>/members/", calls.segment_members, name="segment_members"),
    path("deletions/", deletions.deletions, name="deletions"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    re_path(r"^(?P<rest>.*)$", errors.not_found),
]
