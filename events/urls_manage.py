from django.urls import path

from .views import invitations, messages, organizer

app_name = "manage"
urlpatterns = [
    path("", organizer.dashboard, name="dashboard"),
    path("t/<slug:slug>/", organizer.dashboard, name="team_dashboard"),
    path("events/new/", organizer.event_create, name="event_create"),
    path("events/<int:pk>/", organizer.event_detail, name="event"),
    path("events/<int:pk>/edit/", organizer.event_edit, name="event_edit"),
    path("events/<int:pk>/publish/", organizer.event_publish, name="event_publish"),
    path("events/<int:pk>/unpublish/", organizer.event_unpublish, name="event_unpublish"),
    path("events/<int:pk>/cancel/", organizer.event_cancel, name="event_cancel"),
    path("events/<int:pk>/sessions/new/", organizer.session_create, name="session_create"),
    path("sessions/<int:pk>/edit/", organizer.session_edit, name="session_edit"),
    path("sessions/<int:pk>/cancel/", organizer.session_cancel, name="session_cancel"),
    path("sessions/<int:pk>/registrations/", organizer.registrations, name="registrations"),
    path(
        "sessions/<int:pk>/registrations/action/",
        organizer.registrations_action,
        name="registrations_action",
    ),
    path(
        "sessions/<int:pk>/registrations.csv",
        organizer.registrations_csv,
        name="registrations_csv",
    ),
    path("sessions/<int:pk>/lottery/", organizer.lottery_draw, name="lottery_draw"),
    path("registrations/<int:pk>/", organizer.registration_detail, name="registration"),
    path("sessions/<int:pk>/messages/", messages.session_messages, name="session_messages"),
    path("messages/<int:pk>/resend/", messages.resend, name="message_resend"),
    path("events/<int:pk>/invitations/", invitations.invitation_list, name="invitations"),
    path("events/<int:pk>/invitations/new/", invitations.invite, name="invite"),
    path("events/<int:pk>/invitations/confirm/", invitations.invite_confirm, name="invite_confirm"),
    path(
        "invitations/<int:pk>/<str:action>/",
        invitations.invitation_action,
        name="invitation_action",
    ),
]

# Attendance: check-in at the door, walk-ins, summaries, corrections, export.
from .views import checkin  # noqa: E402

urlpatterns += [
    path("sessions/<int:pk>/checkin/", checkin.checkin, name="checkin"),
    path("sessions/<int:pk>/checkin/counts/", checkin.checkin_counts, name="checkin_counts"),
    path("sessions/<int:pk>/checkin/walk-in/", checkin.walk_in, name="walk_in"),
    path("registrations/<int:pk>/checkin/", checkin.check_in, name="check_in"),
    path("registrations/<int:pk>/checkin/undo/", checkin.undo_check_in, name="undo_check_in"),
    path("registrations/<int:pk>/attendance/", checkin.correct_attendance, name="correct"),
    path("sessions/<int:pk>/attendance/", checkin.session_attendance, name="attendance"),
    path("sessions/<int:pk>/attendance.csv", checkin.session_attendance_csv, name="attendance_csv"),
    path("events/<int:pk>/attendance/", checkin.event_attendance, name="event_attendance"),
    path(
        "events/<int:pk>/attendance.csv",
        checkin.event_attendance_csv,
        name="event_attendance_csv",
    ),
]

# Surveys, and the question editor every questionnaire shares (surveys, open calls, an
# event's screening questions).
from .views import questionnaire, surveys  # noqa: E402

urlpatterns += [
    path("events/<int:pk>/survey/", surveys.survey, name="survey"),
    path("events/<int:pk>/survey/create/", surveys.survey_create, name="survey_create"),
    path("events/<int:pk>/survey/settings/", surveys.survey_settings, name="survey_settings"),
    path("events/<int:pk>/survey/sending/", surveys.survey_sending, name="survey_sending"),
    path("events/<int:pk>/survey/preview/", surveys.survey_preview, name="survey_preview"),
    path("events/<int:pk>/survey/results/", surveys.survey_results, name="survey_results"),
    path("events/<int:pk>/survey/results.csv", surveys.survey_csv, name="survey_csv"),
    path("events/<int:pk>/survey/pending/", surveys.survey_pending, name="survey_pending"),
    path("survey-recipients/<int:pk>/resend/", surveys.survey_resend, name="survey_resend"),
    path("questionnaires/<int:pk>/questions/", questionnaire.question_add, name="question_new"),
    path("questions/<int:pk>/edit/", questionnaire.question_edit, name="question_edit"),
    path("questions/<int:pk>/move/", questionnaire.question_move, name="question_move"),
    path("questions/<int:pk>/delete/", questionnaire.question_delete, name="question_delete"),
]

# Open calls: the form, its pool, reviews and invitations from it.
from .views import call_screening, open_calls  # noqa: E402

urlpatterns += [
    path("calls/", open_calls.calls, name="calls"),
    path("calls/new/", open_calls.call_create, name="call_create"),
    path("calls/<int:pk>/", open_calls.call_detail, name="call"),
    path("calls/<int:pk>/edit/", open_calls.call_edit, name="call_edit"),
    path("calls/<int:pk>/status/", open_calls.call_status, name="call_status"),
    path("calls/<int:pk>/preview/", open_calls.call_preview, name="call_preview"),
    path("calls/<int:pk>/rules/", call_screening.call_rules, name="call_rules"),
    path(
        "calls/<int:pk>/rules/progress.json",
        call_screening.call_rules_progress,
        name="call_rules_progress",
    ),
    path("calls/<int:pk>/pool/", open_calls.pool, name="pool"),
    path("calls/<int:pk>/pool/action/", open_calls.pool_action, name="pool_action"),
    path("calls/<int:pk>/pool.csv", open_calls.pool_csv, name="pool_csv"),
    path("calls/<int:pk>/results/", open_calls.pool_results, name="pool_results"),
    path("submissions/<int:pk>/", open_calls.submission_detail, name="submission"),
    path("submissions/<int:pk>/review/", open_calls.submission_review, name="submission_review"),
    path("submissions/<int:pk>/tags/", open_calls.submission_tags, name="submission_tags"),
]

# Teams: the owners' team page (members, roles, invitations, settings, history), leaving a
# team, and creating one.
from .views import teams  # noqa: E402

urlpatterns += [
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/<slug:slug>/", teams.team, name="team"),
    path("teams/<slug:slug>/settings/", teams.team_settings, name="team_settings"),
    path("teams/<slug:slug>/invite/", teams.team_invite, name="team_invite"),
    path("teams/<slug:slug>/members/<int:pk>/role/", teams.member_role, name="member_role"),
    path("teams/<slug:slug>/members/<int:pk>/remove/", teams.member_remove, name="member_remove"),
    path(
        "teams/<slug:slug>/invitations/<int:pk>/resend/",
        teams.invitation_resend,
        name="team_invitation_resend",
    ),
    path(
        "teams/<slug:slug>/invitations/<int:pk>/revoke/",
        teams.invitation_revoke,
        name="team_invitation_revoke",
    ),
    path("teams/<slug:slug>/leave/", teams.team_leave, name="team_leave"),
    path("teams/<slug:slug>/delete/", teams.team_delete, name="team_delete"),
]

# The team's API tokens (owners).
from .views import api_tokens  # noqa: E402

urlpatterns += [
    path("teams/<slug:slug>/api-tokens/", api_tokens.api_tokens_page, name="api_tokens"),
    path(
        "teams/<slug:slug>/api-tokens/<int:pk>/revoke/",
        api_tokens.api_token_revoke,
        name="api_token_revoke",
    ),
]

# The team's panel and its saved segments.
from .views import panel, panel_attributes  # noqa: E402

urlpatterns += [
    path("t/<slug:slug>/panel/", panel.panel, name="panel"),
    path("t/<slug:slug>/panel/<int:pk>/", panel.member, name="panel_member"),
    path("t/<slug:slug>/panel/<int:pk>/forget/", panel.member_forget, name="panel_forget"),
    path(
        "t/<slug:slug>/panel/attributes/",
        panel_attributes.panel_attributes,
        name="panel_attributes",
    ),
    path(
        "panel-attributes/<int:pk>/remove/",
        panel_attributes.panel_attribute_remove,
        name="panel_attribute_remove",
    ),
    path("t/<slug:slug>/segments/new/", panel.segment_new, name="segment_new"),
    path("t/<slug:slug>/segments/count/", panel.segment_count, name="segment_count"),
    path("segments/<int:pk>/", panel.segment, name="segment"),
    path("segments/<int:pk>/edit/", panel.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/delete/", panel.segment_delete, name="segment_delete"),
]

# Do-not-contact: the team's blocklist (contact.block).
from .views import contact  # noqa: E402

urlpatterns += [
    path("teams/<slug:slug>/contacts/", contact.contact_blocks, name="contact_blocks"),
    path("teams/<slug:slug>/contacts/add/", contact.contact_block_add, name="contact_block_add"),
    path(
        "teams/<slug:slug>/contacts/<int:pk>/remove/",
        contact.contact_block_remove,
        name="contact_block_remove",
    ),
]

# Webhooks: a team's endpoints, their delivery logs, test events (team.manage).
from .views import webhooks  # noqa: E402

urlpatterns += [
    path("teams/<slug:slug>/webhooks/", webhooks.webhooks, name="webhooks"),
    path("teams/<slug:slug>/webhooks/<int:pk>/", webhooks.webhook, name="webhook"),
    path(
        "teams/<slug:slug>/webhooks/<int:pk>/rotate/",
        webhooks.webhook_rotate,
        name="webhook_rotate",
    ),
    path(
        "teams/<slug:slug>/webhooks/<int:pk>/state/", webhooks.webhook_state, name="webhook_state"
    ),
    path(
        "teams/<slug:slug>/webhooks/<int:pk>/delete/",
        webhooks.webhook_delete,
        name="webhook_delete",
    ),
    path("teams/<slug:slug>/webhooks/<int:pk>/test/", webhooks.webhook_test, name="webhook_test"),
    path(
        "teams/<slug:slug>/webhooks/<int:pk>/messages/<int:message>/send-again/",
        webhooks.webhook_resend,
        name="webhook_resend",
    ),
]

# Draws from the panel: a sample of a segment, its page, running it again, handing it on.
from .views import draws  # noqa: E402

urlpatterns += [
    path("segments/<int:pk>/draw/", draws.draw_new, name="draw_new"),
    path("calls/<int:pk>/draw/", draws.call_draw, name="call_draw"),
    path("t/<slug:slug>/draws/", draws.draw_list, name="draws"),
    path("draws/<int:pk>/", draws.draw, name="draw"),
    path("draws/<int:pk>/rerun/", draws.draw_rerun, name="draw_rerun"),
    path("draws/<int:pk>/invite/", draws.draw_invite, name="draw_invite"),
]

# The funnel, from a call's form to the survey: per call and per team, with its CSV.
from .views import funnel  # noqa: E402

urlpatterns += [
    path("calls/<int:pk>/funnel/", funnel.call_funnel, name="call_funnel"),
    path("calls/<int:pk>/funnel.csv", funnel.call_funnel_csv, name="call_funnel_csv"),
    path("t/<slug:slug>/funnel/", funnel.team_funnel, name="team_funnel"),
    path("t/<slug:slug>/funnel.csv", funnel.team_funnel_csv, name="team_funnel_csv"),
]

# Themes of a text question's answers (a survey's or an open call's).
from .views import themes  # noqa: E402

urlpatterns += [
    path("questions/<int:pk>/themes/", themes.question_themes, name="question_themes"),
    path(
        "questions/<int:pk>/themes/compute/",
        themes.question_themes_request,
        name="question_themes_request",
    ),
    path(
        "questions/<int:pk>/themes/settings/",
        themes.question_themes_settings,
        name="question_themes_settings",
    ),
    path("themes/<int:pk>/", themes.theme_answers, name="theme"),
    path("themes/<int:pk>/answers.csv", themes.theme_csv, name="theme_csv"),
    path("themes/<int:pk>/rename/", themes.theme_rename, name="theme_rename"),
    path("themes/<int:pk>/pin/", themes.theme_pin, name="theme_pin"),
    path("themes/<int:pk>/merge/", themes.theme_merge, name="theme_merge"),
]

# Retention: the team's policy and log, an event's and a call's data inventory, an event's
# early anonymisation (owners: team.manage).
from .views import retention  # noqa: E402

urlpatterns += [
    path("teams/<slug:slug>/retention/", retention.team_retention, name="team_retention"),
    path("events/<int:pk>/data/", retention.event_data, name="event_data"),
    path("events/<int:pk>/data/anonymise/", retention.event_anonymise, name="event_anonymise"),
    path("calls/<int:pk>/data/", retention.call_data, name="call_data"),
]

# The audit log of organizer actions (owners): the team's and an event's, each with its CSV.
from .views import audit  # noqa: E402

urlpatterns += [
    path("teams/<slug:slug>/audit/", audit.team_audit, name="team_audit"),
    path("teams/<slug:slug>/audit.csv", audit.team_audit_csv, name="team_audit_csv"),
    path("events/<int:pk>/audit/", audit.event_audit, name="event_audit"),
    path("events/<int:pk>/audit.csv", audit.event_audit_csv, name="event_audit_csv"),
]
