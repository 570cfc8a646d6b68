"""Open calls, both sides: the public form (no account needed) with its confirmation and
withdrawal links, and the organizers' pages: the call and its questions, the pool with
filters, reviews and tags, results as charts, CSV, and inviting from the pool."""

from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import AuthenticatedRequest
from accounts.middleware import prefer_team_language, reader_language
from accounts.models import User

from .. import current_team
from ..exports import stream_csv
from ..forms.invitations import POOL_PREFILL_KEY
from ..forms.manage import add_team_choice, chosen_team
from ..forms.open_calls import CallForm, ReviewForm, SubmissionForm, TagsForm
from ..models import Event, OpenCall, Review, Submission, Theme
from ..permissions import (
    get_call_or_404,
    get_or_404,
    may,
    organizer_required,
    permitted,
    teams_for,
)
from ..questionnaire_pages import builder_context, call_owner
from ..questionnaire_pages import preview as preview_page
from ..ratelimit import by_ip, rate_limit
from ..services import ServiceError, themes
from ..services import call_screening as screening
from ..services import open_calls as service

MAX_BODY = 200_000  # bytes: far above a real submission, far below a flood
PAGE = 100


# Public


def _form_context(call: OpenCall, form: SubmissionForm, **extra) -> dict:
    """The page: the profile fields, the questions, and the form's own error if any (a
    submission that does not fit the form, or the service's refusal)."""
    errors = form.errors if form.is_bound else {}
    context = {
        "call": call,
        "form": form,
        "fields": form.question_fields,
        "form_error": " ".join(str(e) for e in form.non_field_errors()) if errors else "",
        "error_count": len([name for name in errors if name != "__all__"]),
    }
    return {**context, **extra}


def _initial(request: HttpRequest) -> dict:
    user = request.user
    if not user.is_authenticated:
        return {}
    return {
        "email": user.email,
        "name": user.display_name,
        "role": user.role,
        "affiliation": user.affiliation,
        "github_handle": user.github_handle,
        "location": user.timezone if user.timezone != "UTC" else "",
    }


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@rate_limit("call-submit", per_minute=10, key=by_ip)
@require_http_methods(["GET", "POST"])
def call_page(request: HttpRequest, slug: str) -> HttpResponse:
    call = get_object_or_404(OpenCall.objects.select_related("questionnaire", "team"), slug=slug)
    prefer_team_language(request, call.team.language)
    if call.status != OpenCall.Status.PUBLISHED:
        return render(request, "events/call_closed.html", {"call": None}, status=404)
    reason = service.refusal(call)
    if reason:
        return render(
            request, "events/call_closed.html", {"call": call, "reason": reason}, status=410
        )
    questions = list(call.questionnaire.questions.all())
    if request.method == "GET":
        form = SubmissionForm(call=call, questions=questions, initial=_initial(request))
        return render(request, "events/call.html", _form_context(call, form))
    # Judge the size by the header before reading anything: a body beyond Django's own limit
    # would raise on reading and come back as a bare 400.
    if _content_length(request) > MAX_BODY or len(request.body) > MAX_BODY:
        return HttpResponse(_("This submission is far too large."), status=413)
    form = SubmissionForm(request.POST, call=call, questions=questions)
    if form.is_bot:
        # Bots are told it worked (so they do not adapt) and nothing is kept.
        return render(request, "events/call_sent.html", {"call": call, "email": ""})
    if not form.is_valid():
        return render(request, "events/call.html", _form_context(call, form), status=400)
    try:
        outcome = service.submit(
            call=call,
            email=form.cleaned_data["email"],
            profile=form.profile(),
            answers=form.answers(),
            user=request.user if request.user.is_authenticated else None,
            language=reader_language(request),
        )
    except service.TooMany as error:
        return render(
            request,
            "events/call_closed.html",
            {"call": call, "reason": error.message, "title": _("Please wait a little")},
            status=429,
        )
    except ServiceError as error:
        context = _form_context(call, form, form_error=error.message)
        return render(request, "events/call.html", context, status=400)
    template = "events/call_received.html" if outcome.confirmed else "events/call_sent.html"
    return render(request, template, {"call": call, "email": outcome.submission.email})


@rate_limit("call-token", per_minute=30, methods=("GET", "POST"), key=by_ip)
@require_http_methods(["GET", "POST"])
def call_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the confirmation email shows a button; only its POST confirms (mail
    scanners open links)."""
    submission, nonce = service.from_confirm_token(token)
    if submission is None:
        return render(request, "events/call_link_invalid.html", status=404)
    call = submission.call
    if request.method == "GET":
        return render(
            request,
            "events/call_confirm.html",
            {"call": call, "submission": submission, "token": token},
        )
    try:
        service.confirm(submission=submission, nonce=nonce)
    except ServiceError as error:
        return render(
            request,
            "events/call_confirm.html",
            {"call": call, "submission": submission, "token": token, "refusal": error.message},
            status=409,
        )
    return render(request, "events/call_received.html", {"call": call, "email": submission.email})


@rate_limit("call-token", per_minute=30, methods=("GET", "POST"), key=by_ip)
@require_http_methods(["GET", "POST"])
def call_withdraw(request: HttpRequest, token: str) -> HttpResponse:
    submission = service.from_withdraw_token(token)
    if submission is None:
        return render(request, "events/call_link_invalid.html", {"withdrawn": True}, status=404)
    call = submission.call
    if request.method == "GET":
        return render(request, "events/call_withdraw.html", {"call": call, "token": token})
    service.withdraw(submission=submission)
    return render(request, "events/call_withdraw.html", {"call": call, "done": True})


# Organizers: calls and their questions


@organizer_required
@require_GET
def calls(request: AuthenticatedRequest) -> HttpResponse:
    """The current team's open calls (the organizer area shows one team at a time)."""
    team = current_team.current(request)
    if team is None or not may(request.user, "call.view", team):
        raise Http404  # door staff have no calls to see
    rows = permitted(request.user, OpenCall.objects.filter(team=team), "call.view")
    rows = rows.annotate(
        pool_size=Count("submissions", filter=Q(submissions__confirmed_at__isnull=False))
    ).order_by("-created_at")
    return render(
        request,
        "events/manage/calls.html",
        {
            "calls": rows,
            "team": team,
            "here": _("Open calls"),
            "may_create": team is not None and may(request.user, "call.create", team),
        },
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def call_create(request: AuthenticatedRequest) -> HttpResponse:
    teams = list(teams_for(request.user, "call.create").order_by("name", "pk"))
    if not teams:
        raise Http404  # reviewers and door staff do not start public forms
    chosen = current_team.current(request)
    default = chosen if chosen in teams else teams[0]
    form = CallForm(request.POST if request.method == "POST" else None)
    add_team_choice(form, teams, default)
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        fields.pop("team", None)
        team = chosen_team(form, default)
        try:
            call = service.create_call(team=team, actor=request.user, **fields)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("The call is created as a draft. Add questions, then publish.")
            )
            return redirect("manage:call", call.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "events/manage/call_form.html",
        {"form": form, "here": _("New open call")},
        status=status,
    )


@organizer_required
@require_http_methods(["GET", "POST"])
def call_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, "call.edit")
    form = CallForm.for_call(call, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            service.update_call(call=call, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("manage:call", call.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "events/manage/call_form.html",
        {"form": form, "call": call, "here": _("Edit")},
        status=status,
    )


@organizer_required
@require_GET
def call_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, "call.view")
    counts = Submission.objects.filter(call=call).aggregate(
        confirmed=_count(confirmed_at__isnull=False), waiting=_count(confirmed_at__isnull=True)
    )
    return render(
        request,
        "events/manage/call.html",
        {
            "call": call,
            "owner": call_owner(call),
            **builder_context(call.questionnaire),
            "counts": counts,
            "public_url": request.build_absolute_uri(call.get_absolute_url()),
            "can_publish": may(request.user, "call.publish", call),
            "may_draw": may(request.user, "panel.edit", call),
            "may_manage_data": may(request.user, "team.manage", call),
        },
    )


def _count(**condition) -> Count:
    return Count("pk", filter=Q(**condition))


@organizer_required
@require_POST
def call_status(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, "call.edit")
    publish = request.POST.get("action") == "publish"
    if publish and not may(request.user, "call.publish", call):
        # Putting a form that collects people's data in public is for owners and organizers.
        raise PermissionDenied
    try:
        service.set_status(call=call, actor=request.user, published=publish)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Published.") if publish else _("Unpublished: the form is closed.")
        )
    return redirect("manage:call", call.pk)


@organizer_required
@require_GET
def call_preview(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, "call.view")
    return preview_page(request, call_owner(call), title=call.title, intro=call.intro)


MAX_ID_DIGITS = 10


# Organizers: the pool


def _pool_filter(
    request: HttpRequest, call: OpenCall, get: QueryDict | None = None
) -> service.PoolFilter:
    get = request.GET if get is None else get
    f = service.PoolFilter(
        role=get.get("role", "") if get.get("role") in User.Role.values else "",
        affiliation=get.get("affiliation", "").strip()[:200],
        join=get.get("join", "") if get.get("join") in {"feedback", "demo"} else "",
        history=get.get("history", "")
        if get.get("history") in {"invited", "accepted", "attended", "no_show", "new"}
        else "",
        tag=get.get("tag", "").strip().lower()[:40],
        text=get.get("q", "").strip()[:200],
        sort="score" if get.get("sort") == "score" else "recent",
        screening=get.get("screening", "")
        if get.get("screening") in Submission.Screening.values
        else "",
    )
    choice = get.get("choice", "")
    if ":" in choice:
        question_id, index = choice.split(":", 1)
        valid = question_id.isdigit() and index.isdigit()
        if valid and call.questionnaire.questions.filter(pk=int(question_id)).exists():
            f.choice = (int(question_id), int(index))
    theme = _pool_theme(call, get.get("theme", ""))
    if theme is not None:
        f.theme, f.theme_name = theme.pk, theme.name
    return f


def _pool_theme(call: OpenCall, raw: str) -> Theme | None:
    """The theme of `?theme=` if it is one of this call's questions' (as listed: a merged
    theme is its target); anything else is ignored, as a choice that is not the call's is."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS):
        return None
    found = (
        Theme.objects.select_related("merged_into__merged_into")
        .filter(pk=raw, theme_set__question__questionnaire_id=call.questionnaire_id)
        .first()
    )
    return None if found is None else themes.shown(found)


def _blind(request: HttpRequest, call: OpenCall) -> bool:
    """Names hidden while reviewing, per organizer and call (kept in their session)."""
    key = f"call-blind-{call.pk}"
    if "blind" in request.GET:
        request.session[key] = request.GET["blind"] == "1"
    return bool(request.session.get(key, False))


@organizer_required
@require_GET
def pool(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, "call.review")
    f = _pool_filter(request, call)
    rows = service.pool(call=call, viewer=request.user, filters=f)
    total = rows.count()
    page = max(int(request.GET.get("page", "1")) if request.GET.get("page", "").isdigit() else 1, 1)
    shown = list(rows.prefetch_related("tags")[(page - 1) * PAGE : page * PAGE])
    mine = dict(
        Review.objects.filter(
            reviewer=request.user, submission__in=[s.pk for s in shown]
        ).values_list("submission_id", "score")
    )
    for submission in shown:
        # Shown beside the row: the viewer's own score, set for the template, not a field.
        submission.my_score = mine.get(submission.pk)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    # Invitations from a team's pool go to that team's events.
    events = permitted(
        request.user,
        Event.objects.filter(team=call.team_id).exclude(status=Event.Status.CANCELLED),
        "invitation.send",
    )
    return render(
        request,
        "events/manage/pool.html",
        {
            "call": call,
            "here": _("Pool"),
            "rows": shown,
            "total": total,
            "page": page,
            "pages": max((total + PAGE - 1) // PAGE, 1),
            "filters": f,
            "query": query.urlencode(),
            "roles": User.Role.choices,
            "tags": list(call.tags.all()),
            "choice_questions": service.choice_questions(call),
            "blind": _blind(request, call),
            "events": list(events.order_by("-created_at")[:200]),
            "may_export": may(request.user, "call.export", call),
            "screening_counts": service.screening_counts(call=call),
            "quota_mix": screening.quota_mix(call),
            "screening_query": _without(query, "screening"),
            "theme_query": _without(query, "theme"),
        },
    )


def _without(query: QueryDict, name: str) -> str:
    """The query string without `name` (the screening filter's links set it themselves)."""
    rest = query.copy()
    rest.pop(name, None)
    return rest.urlencode()


def _selected(request: AuthenticatedRequest, call: OpenCall) -> QuerySet[Submission]:
    """The submissions an action applies to: the ticked ones, or all matching the filter."""
    if request.POST.get("scope") == "all":
        # The filter is the pool page's query string, carried whole: read field by field, the
        # bulk form's own "tag" (the tag to add) was taken for the filter's tag.
        query = QueryDict(request.POST.get("query", ""))
        rows = service.pool(
            call=call, viewer=request.user, filters=_pool_filter(request, call, query)
        )
    else:
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
        rows = service.pool(call=call, viewer=request.user).filter(pk__in=ids)
    return Submission.objects.filter(pk__in=rows.values("pk"))


@organizer_required
@require_POST
def pool_action(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, "call.review")
    action = request.POST.get("action")
    chosen = _selected(request, call)
    back = reverse("manage:pool", args=[call.pk]) + "?" + request.POST.get("query", "")
    if not chosen.exists():
        messages.error(
            request, _("Nobody is selected: tick people in the table, or choose “all matching”.")
        )
        return redirect(back)
    if action == "tag":
        try:
            n = service.tag_many(
                call=call, actor=request.user, submissions=chosen, name=request.POST.get("tag", "")
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, ngettext("Tagged %(n)s person.", "Tagged %(n)s people.", n) % {"n": n}
            )
        return redirect(back)
    if action == "invite":
        event_id = request.POST.get("event", "")
        events = permitted(request.user, Event.objects.filter(team=call.team_id), "invitation.send")
        event = events.filter(pk=int(event_id)).first() if event_id.isdigit() else None
        if event is None:
            messages.error(request, _("Choose one of your events to invite them to."))
            return redirect(back)
        invitable = service.invite_rows(call=call, submissions=chosen)
        if invitable.left_out:
            n = invitable.left_out
            messages.warning(
                request,
                ngettext(
                    "Left out %(n)s person disqualified by this call's screening rules: they "
                    "cannot be invited from this call.",
                    "Left out %(n)s people disqualified by this call's screening rules: they "
                    "cannot be invited from this call.",
                    n,
                )
                % {"n": n},
            )
        if not invitable.rows:
            return redirect(back)
        request.session[POOL_PREFILL_KEY] = {"event": event.pk, "rows": invitable.rows}
        return redirect(reverse("manage:invite", args=[event.pk]) + "?from_pool=1")
    return HttpResponse(_("Unknown action."), status=400)


@organizer_required
@require_GET
def pool_csv(request: AuthenticatedRequest, pk: int) -> StreamingHttpResponse:
    call = get_call_or_404(request, pk, "call.export")
    f = _pool_filter(request, call)
    rows = service.csv_rows(call=call, viewer=request.user, filters=f)
    return stream_csv(_worded_header(rows), f"call-{call.pk}-pool.csv")


# The pool CSV's own columns (the engine's two, then services.open_calls.csv_rows') in the
# reader's language; the questions' columns after them are the organizers' words.
POOL_CSV_HEADER = {
    "Response": pgettext_lazy("pool CSV", "Response"),
    "Answered at": pgettext_lazy("pool CSV", "Answered at"),
    "Email": pgettext_lazy("pool CSV", "Email"),
    "Name": pgettext_lazy("pool CSV", "Name"),
    "Role": pgettext_lazy("pool CSV", "Role"),
    "Affiliation": pgettext_lazy("pool CSV", "Affiliation"),
    "GitHub": "GitHub",
    "Country or time zone": pgettext_lazy("pool CSV", "Country or time zone"),
    "Would join a feedback session": pgettext_lazy("pool CSV", "Would join a feedback session"),
    "Would join a prototype demo": pgettext_lazy("pool CSV", "Would join a prototype demo"),
    "Consents to contact": pgettext_lazy("pool CSV", "Consents to contact"),
    "Screening": pgettext_lazy("pool CSV", "Screening"),
    "Screening reason": pgettext_lazy("pool CSV", "Screening reason"),
}


def _worded_header(rows: Iterator[list]) -> Iterator[list]:
    """The rows with the header's own columns translated, now (the response streams later,
    when the request's language may no longer be active)."""
    words = {english: str(shown) for english, shown in POOL_CSV_HEADER.items()}
    own = len(words)

    def worded() -> Iterator[list]:
        for n, row in enumerate(rows):
            if n == 0:
                row = [words.get(cell, cell) if i < own else cell for i, cell in enumerate(row)]
            yield row

    return worded()


@organizer_required
@require_GET
def pool_results(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, "call.review")
    f = _pool_filter(request, call)
    return render(
        request,
        "events/manage/pool_results.html",
        {
            "call": call,
            "here": _("Results"),
            "results": service.pool_results(call=call, viewer=request.user, filters=f),
            "query": request.GET.urlencode(),
            "may_export": may(request.user, "call.export", call),
        },
    )


def organized_submission(request: HttpRequest, pk: int) -> Submission:
    rows = Submission.objects.select_related("call__questionnaire", "response")
    submission = get_or_404(request, rows, "call.review", pk=pk)
    if submission.confirmed_at is None:
        raise Http404  # not in the pool until confirmed
    return submission


@organizer_required
@require_GET
def submission_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    submission = organized_submission(request, pk)
    call = submission.call
    reviews = list(submission.reviews.select_related("reviewer").order_by("-updated_at"))
    mine = next((r for r in reviews if r.reviewer_id == request.user.pk), None)
    blind = _blind(request, call)
    return render(
        request,
        "events/manage/submission.html",
        {
            "call": call,
            "submission": submission,
            "here": _("Submission"),
            "summary": _shown_summary(submission, blind=blind),
            "reviews": reviews,
            "review_form": ReviewForm(
                initial={"score": mine.score, "note": mine.note} if mine else None
            ),
            "tags_form": TagsForm(
                initial={"tags": ", ".join(t.name for t in submission.tags.all())}
            ),
            "blind": blind,
        },
    )


def _shown_summary(submission: Submission, *, blind: bool) -> list[tuple[str, str]]:
    """What the person sent; while reviewing blind, without what names them. The labels are
    compared both as written and in the reader's language (services.open_calls.summary may
    give them translated)."""
    lines = service.summary(submission)
    if not blind:
        return lines
    naming = {"Name", "GitHub", "Affiliation", _("Name"), _("Affiliation")}
    return [(label, value) for label, value in lines if label not in naming]


@organizer_required
@require_POST
def submission_review(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    submission = organized_submission(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Choose a score from 1 to 5 (and keep the note under 5,000 characters).")
        )
        return redirect("manage:submission", submission.pk)
    try:
        service.review(
            submission=submission,
            reviewer=request.user,
            score=form.cleaned_data["score"],
            note=form.cleaned_data["note"],
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your review is saved."))
    return redirect("manage:submission", submission.pk)


@organizer_required
@require_POST
def submission_tags(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    submission = organized_submission(request, pk)
    form = TagsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tags: at most 500 characters."))
        return redirect("manage:submission", submission.pk)
    try:
        service.set_tags(submission=submission, actor=request.user, names=form.names())
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Tags saved."))
    return redirect("manage:submission", submission.pk)
