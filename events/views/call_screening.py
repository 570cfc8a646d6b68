"""A call's screening rules page: a rule per choice of its choice questions, the quotas,
how many people qualify and what decided, and the progress of re-scoring after a change.
Organizers who may edit the call change them; reviewers, who read the pool, may read them."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from accounts.http import AuthenticatedRequest
from accounts.models import User

from ..models import CallQuota, CallRule, OpenCall
from ..permissions import get_call_or_404, may, organizer_required
from ..services import ServiceError
from ..services import call_screening as service

BLANK_QUOTA_ROWS = 2  # empty rows offered to add quotas (more: save, and two more appear)


def _posted_effects(post: QueryDict) -> dict[str, str]:
    return {
        name.removeprefix("rule-"): post.get(name, "") for name in post if name.startswith("rule-")
    }


def _posted_quotas(post: QueryDict) -> list[dict[str, str]]:
    """The quota rows as posted, without those ticked for removal or left empty."""
    rows = []
    count = post.get("quota-count", "0")
    for i in range(min(int(count) if count.isdecimal() and len(count) < 3 else 0, 60)):
        row = {k: post.get(f"quota-{i}-{k}", "") for k in ("field", "value", "bound", "percent")}
        if post.get(f"quota-{i}-remove") or not any(row[k].strip() for k in ("value", "percent")):
            continue
        rows.append(row)
    return rows


def _context(request: AuthenticatedRequest, call: OpenCall, **extra: Any) -> dict[str, Any]:
    overview = service.overview(call)
    quotas = extra.pop("quota_rows", None)
    if quotas is None:
        quotas = [
            {
                "field": m.quota.field,
                "value": m.quota.value,
                "bound": m.quota.bound,
                "percent": str(m.quota.percent),
            }
            for m in overview.quotas
        ]
    quotas = quotas + [{"field": "", "value": "", "bound": "", "percent": ""}] * BLANK_QUOTA_ROWS
    posted = extra.pop("effects", None)
    if posted is not None:  # a refused change: show what was asked, not what is stored
        for _question, lines in overview.questions:
            for line in lines:
                line.effect = posted.get(str(line.choice.pk), "")
    return {
        "call": call,
        "here": _("Screening rules"),
        "overview": overview,
        "progress": service.progress(call),
        "quota_rows": quotas,
        "quota_fields": list(service.QUOTA_FIELDS.items()),
        "bounds": CallQuota.Bound.choices,
        "effects": CallRule.Effect.choices,
        "roles": User.Role.choices,
        "may_edit": may(request.user, "call.edit", call),
        **extra,
    }


@organizer_required
@require_http_methods(["GET", "POST"])
def call_rules(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    call = get_call_or_404(request, pk, "call.review")
    if request.method == "GET":
        return render(request, "events/manage/call_rules.html", _context(request, call))
    # Reviewers read the rules; changing them is editing the call: the page answers a
    # reviewer's POST with the same 404 as any other page they may not use.
    call = get_call_or_404(request, pk, "call.edit")
    what = request.POST.get("form")
    extra: dict[str, Any] = {}
    try:
        if what == "rules":
            extra["effects"] = _posted_effects(request.POST)
            service.set_rules(call=call, actor=request.user, effects=extra["effects"])
            done = _("Rules saved.")
        elif what == "quotas":
            extra["quota_rows"] = _posted_quotas(request.POST)
            service.set_quotas(call=call, actor=request.user, quotas=extra["quota_rows"])
            done = _("Quotas saved.")
        elif what == "rescore":
            service.resume_rescore(call=call, actor=request.user)
            done = _("Re-scoring started.")
        else:
            return HttpResponse(_("Unknown form."), status=400)
    except ServiceError as error:
        context = _context(request, call, error=error.message, error_form=what, **extra)
        return render(request, "events/manage/call_rules.html", context, status=400)
    progress = service.progress(call)
    if not progress.done:
        done += " " + ngettext(
            "Re-scoring %(n)s submission in the background.",
            "Re-scoring %(n)s submissions in the background.",
            progress.total,
        ) % {"n": number_format(progress.total, force_grouping=True)}
    messages.success(request, done)
    return redirect("manage:call_rules", call.pk)


@organizer_required
@require_GET
def call_rules_progress(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """The re-scoring's progress, polled by the rules page's script."""
    call = get_call_or_404(request, pk, "call.review")
    return JsonResponse(service.progress(call).as_dict())
