from typing import Any, cast

from django import forms
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from ..invite_parsing import MAX_BYTES
from ..models import Event, Session

# Where the open call's pool leaves the people it chose (in the browser session) for the
# invitation form to start from.
POOL_PREFILL_KEY = "invitation-from-pool"


class InviteForm(forms.Form):
    """Who to invite and how: pasted lines or a CSV file, and the batch's options."""

    session = forms.ChoiceField(
        label=gettext_lazy("Invite to"),
        help_text=gettext_lazy("One session, or the whole event (each invitee picks a session)."),
    )
    pasted = forms.CharField(
        label=gettext_lazy("Email addresses"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 8, "placeholder": "ada@example.com\nGrace Hopper <grace@example.com>"}
        ),
        help_text=gettext_lazy('One per line: "email" or "Name <email>".'),
    )
    csv_file = forms.FileField(
        label=gettext_lazy("…or a CSV file"),
        required=False,
        help_text=gettext_lazy(
            "Columns: email, name, note (a header row is optional). Up to 5,000 rows."
        ),
    )
    expires_in_days = forms.IntegerField(
        label=gettext_lazy("Link valid for (days)"), min_value=1, max_value=90, initial=7
    )
    holds_seat = forms.BooleanField(
        label=gettext_lazy("Hold a seat for each invitee until they answer or the link expires"),
        required=False,
    )
    allow_any_account = forms.BooleanField(
        label=gettext_lazy("Let invitees accept with any account (not only the invited address)"),
        required=False,
    )
    message = forms.CharField(
        label=gettext_lazy("Personal message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, event: Event, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        sessions = event.sessions.filter(status=Session.Status.SCHEDULED).order_by("starts_at")
        self.sessions = {str(s.pk): s for s in sessions}
        cast(forms.ChoiceField, self.fields["session"]).choices = [
            ("", _("The whole event: invitees pick a session"))
        ] + [
            (
                pk,
                _("{session} · {day}, {time} UTC").format(
                    session=s.title or pgettext("unnamed session", "Session"),
                    # The same formats as events/timefmt.py (stored in UTC, shown as UTC).
                    day=dateformat.format(s.starts_at, pgettext("date format", "D j M Y")),
                    time=dateformat.format(s.starts_at, pgettext("time format", "H:i")),
                ),
            )
            for pk, s in self.sessions.items()
        ]
        self.fields["session"].required = False

    def clean_csv_file(self):
        upload = self.cleaned_data.get("csv_file")
        if upload and upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 2 MB; split it into smaller lists.")
            )
        return upload

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not cleaned.get("pasted", "").strip() and not cleaned.get("csv_file"):
            raise forms.ValidationError(_("Paste some email addresses or choose a CSV file."))
        if cleaned.get("pasted", "").strip() and cleaned.get("csv_file"):
            raise forms.ValidationError(_("Paste addresses or upload a file, not both."))
        if cleaned.get("holds_seat") and not cleaned.get("session"):
            self.add_error("holds_seat", _("Only invitations to one session can hold a seat."))
        return cleaned

    def target_session(self) -> Session | None:
        return self.sessions.get(self.cleaned_data.get("session") or "")


class ExtendForm(forms.Form):
    days = forms.IntegerField(
        min_value=1, max_value=90, initial=7, label=gettext_lazy("Extend by (days)")
    )
