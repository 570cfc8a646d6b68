"""Surveys, both sides: organizers build the survey, set when it goes out, and read results;
attendees answer from their one-click link (no login)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedRequest
from accounts.middleware import prefer_team_language
from accounts.models import User

from ..exports import stream_csv
from ..forms.answers import AnswersForm
from ..forms.surveys import SurveySettingsForm
from ..models import Survey, SurveyRecipient
from ..permissions import get_event_or_404, get_or_404, get_survey_or_404, organizer_required
from ..questionnaire_pages import builder_context, survey_owner
from ..questionnaire_pages import preview as preview_page
from ..ratelimit import by_ip, rate_limit
from ..services import ServiceError
from ..services import questionnaire as engine
from ..services import surveys as service

# Organizers: building


@organizer_required
@require_GET
def survey(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "survey.edit")
    survey = Survey.objects.filter(event=event).select_related("questionnaire").first()
    context = {"event": event, "survey": survey, "here": _("Survey")}
    if survey is None:
        return render(request, "events/manage/survey_start.html", context)
    survey.event = event
    context.update(_builder(survey, SurveySettingsForm.for_survey(survey)))
    return render(request, "events/manage/survey.html", context)


def _builder(survey: Survey, settings_form: SurveySettingsForm) -> dict:
    """What the survey page shows besides the event: questions (and which have answers),
    the settings, each session's sending, and the response rate so far."""
    return {
        **builder_context(survey.questionnaire),
        "sendings": list(survey.sendings.select_related("session").order_by("session__starts_at")),
        "settings_form": settings_form,
        "rate": service.rate(survey=survey),
    }


@organizer_required
@require_POST
def survey_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    event = get_event_or_404(request, pk, "survey.edit")
    service.create_survey(event=event, actor=request.user)
    messages.success(
        request,
        _("The survey is ready with a few starter questions. Adjust them, then turn sending on."),
    )
    return redirect("manage:survey", event.pk)


@organizer_required
@require_POST
def survey_settings(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    survey = get_survey_or_404(request, pk, "survey.edit")
    form = SurveySettingsForm(request.POST, zone=survey.event.timezone)
    if form.is_valid():
        try:
            service.update_settings(survey=survey, actor=request.user, **form.service_fields())
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Survey settings saved."))
            return redirect("manage:survey", survey.event_id)
    context = {"event": survey.event, "survey": survey, "here": _("Survey")}
    context.update(_builder(survey, form))
    return render(request, "events/manage/survey.html", context, status=400)


@organizer_required
@require_POST
def survey_sending(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    survey = get_survey_or_404(request, pk, "survey.edit")
    action = request.POST.get("action")
    try:
        if action == "start":
            service.start_sending(survey=survey, actor=request.user)
            messages.success(request, _("Sending is on: each session's attendees get the survey."))
        elif action == "stop":
            service.stop_sending(survey=survey, actor=request.user)
            messages.success(request, _("Sending is off. Links already sent keep working."))
        else:
            return HttpResponse(_("Unknown action."), status=400)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("manage:survey", survey.event_id)


@organizer_required
@require_GET
def survey_preview(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    survey = get_survey_or_404(request, pk, "survey.edit")
    return preview_page(
        request,
        survey_owner(survey),
        title=_("How was {title}?").format(title=survey.event.title),
        intro=survey.intro,
    )


# Organizers: reading


def _filters(request: HttpRequest, survey: Survey) -> tuple[int | None, str | None]:
    asked_session = request.GET.get("session", "")
    session_id = int(asked_session) if asked_session.isdigit() else None
    if session_id and not survey.event.sessions.filter(pk=session_id).exists():
        session_id = None
    asked_role = request.GET.get("role", "")
    role = asked_role if asked_role in User.Role.values else None
    return session_id, role


@organizer_required
@require_GET
def survey_results(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    survey = get_survey_or_404(request, pk, "survey.results")
    session_id, role = _filters(request, survey)
    outcome = service.results(survey=survey, session_id=session_id, role=role)
    return render(
        request,
        "events/manage/survey_results.html",
        {
            "event": survey.event,
            "survey": survey,
            "here": _("Survey results"),
            "outcome": outcome,
            "rate": outcome.rate,
            "results": outcome.results,
            "sessions": list(survey.event.sessions.all()),
            "roles": User.Role.choices,
            "session_id": session_id,
            "role": role or "",
            "query": request.GET.urlencode(),
        },
    )


@organizer_required
@require_GET
def survey_csv(request: AuthenticatedRequest, pk: int) -> HttpResponseBase:
    """All answers, streamed row by row: memory stays flat however many responses."""
    survey = get_survey_or_404(request, pk, "survey.results")
    session_id, role = _filters(request, survey)
    reason = service.withheld(survey=survey, session_id=session_id, role=role)
    if reason:
        return HttpResponse(reason, status=403, content_type="text/plain")
    rows = service.csv_rows(survey=survey, session_id=session_id, role=role)
    return stream_csv(rows, f"event-{survey.event_id}-survey.csv")


@organizer_required
@require_GET
def survey_pending(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    survey = get_survey_or_404(request, pk, "survey.results")
    return render(
        request,
        "events/manage/survey_pending.html",
        {
            "event": survey.event,
            "survey": survey,
            "here": _("Not answered yet"),
            "people": service.non_responders(survey=survey)[:2000],
        },
    )


@organizer_required
@require_POST
def survey_resend(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    recipients = SurveyRecipient.objects.select_related("survey", "user")
    recipient = get_or_404(request, recipients, "survey.edit", pk=pk)
    try:
        service.resend(recipient=recipient, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The survey is on its way to {name} again.").format(name=recipient.user.name),
        )
    return redirect("manage:survey_pending", recipient.survey.event_id)


# Respondents


@rate_limit("survey", per_minute=30, methods=("GET", "POST"), key=by_ip)
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link: no login; the token names the person and the survey. Opening it
    changes nothing but the 'opened' mark; the answers are kept by the POST."""
    recipient = service.from_token(token)
    if recipient is None:
        return render(request, "events/survey_invalid.html", status=404)
    survey = recipient.survey
    event = survey.event
    prefer_team_language(request, event.team.language)
    if not service.is_open(survey):
        return render(request, "events/survey_closed.html", {"event": event}, status=410)
    questions = list(survey.questionnaire.questions.all())
    context = {"event": event, "survey": survey, "recipient": recipient, "token": token}
    if request.method == "GET":
        service.mark_opened(recipient)
        form = AnswersForm(questions=questions, answers=service.saved_answers(recipient))
        context["fields"] = form.question_fields
        context["answered"] = recipient.answered_at is not None
        return render(request, "events/survey.html", context)
    form = AnswersForm(request.POST, questions=questions)
    if form.is_valid():
        try:
            service.answer(recipient=recipient, answers=form.answers())
        except engine.AnswerErrors as error:
            form.add_error(None, error.errors.get(None) or error.message)
        except ServiceError as error:
            return render(
                request,
                "events/survey_closed.html",
                {"event": event, "message": error.message},
                status=410,
            )
    if form.errors:
        errors = form.question_errors()
        context["fields"] = form.question_fields
        context["form_error"] = errors.get(None, "")
        context["error_count"] = len([k for k in errors if k is not None])
        return render(request, "events/survey.html", context, status=400)
    return redirect("events:survey_thanks", token)


@require_GET
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    recipient = service.from_token(token)
    if recipient is None:
        return render(request, "events/survey_invalid.html", status=404)
    return render(
        request,
        "events/survey_thanks.html",
        {"event": recipient.survey.event, "survey": recipient.survey, "token": token},
    )
