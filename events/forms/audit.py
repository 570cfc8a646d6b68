"""The audit log's filter: an action (or every action of one kind: "session"), a member who
acted, and a range of days. Read from the query string; what it means is services.audit's."""

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..audit_words import ACTIONS

# The kinds of action (the code's first part), for the filter's groups.
KINDS: dict[str, Any] = {
    "team": pgettext_lazy("audit kind", "Team, members and invitations to it"),
    "event": pgettext_lazy("audit kind", "Events"),
    "session": pgettext_lazy("audit kind", "Sessions"),
    "registration": pgettext_lazy("audit kind", "Registrations"),
    "attendance": pgettext_lazy("audit kind", "Attendance"),
    "invitation": pgettext_lazy("audit kind", "Invitations"),
    "survey": pgettext_lazy("audit kind", "Surveys"),
    "question": pgettext_lazy("audit kind", "Questions of surveys and open calls"),
    "call": pgettext_lazy("audit kind", "Open calls"),
    "submission": pgettext_lazy("audit kind", "Submissions"),
    "contact": pgettext_lazy("audit kind", "Do-not-contact"),
    "segment": pgettext_lazy("audit kind", "Segments"),
    "panel": pgettext_lazy("audit kind", "Panel attributes"),
    "draw": pgettext_lazy("audit kind", "Draws"),
    "webhook": pgettext_lazy("audit kind", "Webhooks"),
    "api_token": pgettext_lazy("audit kind", "API tokens"),
}
ANY = ""


def action_choices() -> list[tuple[str, Any]]:
    everything: list[tuple[str, Any]] = [(ANY, _("Every action"))]
    kinds = [
        (code, pgettext_lazy("audit kind", "All: %(kind)s") % {"kind": words})
        for code, words in KINDS.items()
    ]
    return everything + kinds + [(code, words) for code, words in ACTIONS.items()]


class AuditFilter(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.TypedChoiceField(label=_("Who"), required=False, coerce=int, empty_value=None)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Any, *, members: list[tuple[int, str]]) -> None:
        super().__init__(data)
        self.fields["action"].choices = action_choices()  # type: ignore[attr-defined]
        self.fields["actor"].choices = [(ANY, _("Anyone")), *members]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if isinstance(since, date) and isinstance(until, date) and since > until:
            raise forms.ValidationError(_("The first day comes after the last one."))
        return cleaned

    def service_filters(self) -> dict[str, Any]:
        """The keyword arguments of services.audit.entries (a valid form)."""
        data = self.cleaned_data
        return {
            "action": data.get("action") or "",
            "actor_id": data.get("actor"),
            "since": data.get("since"),
            "until": data.get("until"),
        }
