"""Organizers' forms. They turn what was typed into the keyword arguments of a service call
(`form.service_fields()`); the rules themselves live in the services."""

import re
import zoneinfo
from datetime import UTC, datetime
from typing import Any, cast

from django import forms
from django.core.validators import MaxValueValidator
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.forms import timezone_choices
from accounts.models import User

from ..languages import language_name, version_languages
from ..models import Event, Session, Team

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time without a zone (an <input type="datetime-local">). The form places it
    in the event's zone, not the viewer's, so the organizer types the time the event runs at."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)

    def to_python(self, value):
        # Parsed under UTC, which has no gaps or overlaps, then stripped of the zone.
        with timezone.override(UTC):
            result = super().to_python(value)
        return result.replace(tzinfo=None) if result else result


def to_local(value: datetime | None, zone: str) -> datetime | None:
    """An aware UTC datetime as the naive wall-clock time of `zone`, for the inputs."""
    if value is None:
        return None
    return timezone.localtime(value, zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


def to_utc(form: forms.BaseForm, name: str, zone: str) -> datetime | None:
    """The naive time in field `name`, read in `zone`, as UTC; a form error when the time does
    not exist there (the hour skipped when clocks go forward)."""
    value = form.cleaned_data.get(name)
    if value is None:
        return None
    if not 2000 <= value.year <= 2200:
        # Far-off years overflow when converted between zones; no session is held then.
        form.add_error(name, _("Choose a date between the years 2000 and 2200."))
        return None
    aware = value.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    back = aware.astimezone(UTC).astimezone(aware.tzinfo).replace(tzinfo=None)
    if back != value:
        form.add_error(
            name, _("This time does not exist in {zone}: the clocks change then.").format(zone=zone)
        )
        return None
    return aware.astimezone(UTC)


SHARE = re.compile(r"^\s*([a-z_]+)\s*[=:]\s*(\d{1,3})\s*%?\s*$")


def parse_shares(text: str) -> dict[str, int]:
    """ "researcher=30, community=10" -> {"researcher": 30, "community": 10}."""
    shares: dict[str, int] = {}
    roles = User.Role.values
    for part in filter(str.strip, re.split(r"[,\n;]", text or "")):
        match = SHARE.match(part.lower())
        if not match:
            raise forms.ValidationError(
                _("“{part}” is not of the form role=percent, e.g. researcher=30.").format(
                    part=part.strip()
                )
            )
        role, percent = match[1], int(match[2])
        if role not in roles:
            raise forms.ValidationError(
                _("“{role}” is not a role. Roles are: {roles}.").format(
                    role=role, roles=", ".join(roles)
                )
            )
        if role in shares:
            raise forms.ValidationError(_("“{role}” is given twice.").format(role=role))
        if percent > 100:
            raise forms.ValidationError(_("The share of {role} is above 100%.").format(role=role))
        shares[role] = percent
    if sum(shares.values()) > 100:
        raise forms.ValidationError(_("The reserved shares add up to more than 100%."))
    return shares


def format_shares(shares: dict) -> str:
    return ", ".join(f"{role}={percent}" for role, percent in sorted(shares.items()))


def team_field(teams: list[Team], default: Team | None) -> forms.ModelChoiceField:
    """Which of the person's teams a new event or call belongs to (asked only when they may
    create in more than one: see add_team_choice)."""
    return forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.filter(pk__in=[t.pk for t in teams]).order_by("name"),
        initial=default,
        empty_label=None,
        help_text=gettext_lazy("The team that runs it: its members see and manage it, by role."),
    )


def add_team_choice(form: forms.BaseForm, teams: list[Team], default: Team) -> None:
    """A choice of team; with only one, a hidden field that may be left out (and that refuses
    any team but the person's own, like the visible one)."""
    field = team_field(teams, default)
    if len(teams) == 1:
        field.required = False
        field.widget = forms.HiddenInput()
    form.fields["team"] = field
    form.order_fields(["team"])


def chosen_team(form: forms.BaseForm, default: Team) -> Team:
    return form.cleaned_data.get("team") or default


class EventForm(forms.ModelForm):
    """Create or edit an event. Registration opens/closes are typed in the event's own zone
    (the zone chosen on this very form) and stored in UTC."""

    timezone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        choices=timezone_choices,
        help_text=gettext_lazy(
            "The zone the event runs in. Times on this form and the session forms are "
            "in this zone; attendees see them in their own."
        ),
    )
    registration_opens_at = LocalDateTimeField(
        label=gettext_lazy("Registration opens"),
        required=False,
        help_text=gettext_lazy("In the event's time zone. Empty: open as soon as published."),
    )
    registration_closes_at = LocalDateTimeField(
        label=gettext_lazy("Registration closes"),
        required=False,
        help_text=gettext_lazy(
            "In the event's time zone. Empty: open until the sessions start. Lotteries "
            "are drawn when it closes, so a lottery needs one."
        ),
    )
    offer_hours = forms.IntegerField(
        label=gettext_lazy("Hours to accept a waitlist offer"),
        min_value=1,
        max_value=24 * 14,
        initial=24,
        help_text=gettext_lazy(
            "A freed seat is kept this long for the next person (never past the start)."
        ),
    )
    reminder_hours = forms.CharField(
        label=gettext_lazy("Reminders (hours before each session)"),
        required=False,
        max_length=60,
        help_text=gettext_lazy("Comma-separated, e.g. “24, 1”. Empty: no reminders."),
    )
    lottery_reserved_shares = forms.CharField(
        label=gettext_lazy("Lottery: seats reserved per role"),
        required=False,
        max_length=300,
        help_text=format_lazy(
            gettext_lazy(
                "At least this share of each session's seats (percent, rounded up), "
                "e.g. “researcher=30, community=10”. Roles: {roles}. Empty: no reserved seats."
            ),
            roles=", ".join(User.Role.values),
        ),
    )

    class Meta:
        model = Event
        fields = [
            "title",
            "kind",
            "description",
            "visibility",
            "registration_mode",
            "timezone",
            "registration_opens_at",
            "registration_closes_at",
            "terms_text",
            "terms_version",
            "offer_hours",
            "lottery_reserved_shares",
            "reminder_hours",
            "checkin_enabled",
            "invitation_reminder_hours",
            "join_opens_before",
            "join_closes_after",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 8}),
            "terms_text": forms.Textarea(attrs={"rows": 5}),
        }
        labels = {
            "title": gettext_lazy("Title"),
            "kind": gettext_lazy("Kind"),
            "description": gettext_lazy("Description"),
            "visibility": gettext_lazy("Visibility"),
            "checkin_enabled": gettext_lazy("Check people in at the door"),
            "registration_mode": gettext_lazy("Registration mode"),
            "terms_text": gettext_lazy("Confidentiality terms"),
            "terms_version": gettext_lazy("Terms version"),
        }
        help_texts = {
            "description": gettext_lazy("Markdown. Shown on the public page."),
            "checkin_enabled": gettext_lazy(
                "Off: everyone confirmed counts as an attendee (surveys go to all of them)."
            ),
            "invitation_reminder_hours": gettext_lazy(
                "Remind pending invitees this many hours before their link expires."
            ),
            "terms_text": gettext_lazy("Empty: no terms. People accept them before signing up."),
            "terms_version": gettext_lazy(
                "Changing the terms text raises the version by itself, so "
                "everyone accepts the new text."
            ),
        }

    def __init__(
        self,
        *args,
        default_timezone: str = "UTC",
        teams: list[Team] | None = None,
        default_team: Team | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        event = self.instance
        if teams and default_team:
            add_team_choice(self, teams, default_team)
        zone = event.timezone if event.pk else default_timezone
        self.initial["timezone"] = zone
        self.initial["registration_opens_at"] = to_local(event.registration_opens_at, zone)
        self.initial["registration_closes_at"] = to_local(event.registration_closes_at, zone)
        self.initial["lottery_reserved_shares"] = format_shares(event.lottery_reserved_shares)
        self.initial["reminder_hours"] = ", ".join(str(h) for h in event.reminder_hours)
        # A PositiveIntegerField of the model becomes a forms.IntegerField.
        reminder = cast(forms.IntegerField, self.fields["invitation_reminder_hours"])
        reminder.required = False
        reminder.max_value = 720
        reminder.validators.append(MaxValueValidator(720))
        reminder.widget.attrs["max"] = 720
        reminder.label = _("Remind invitees (hours before their link expires)")
        for name, label in JOIN_WINDOW_LABELS.items():
            # Blank keeps what the event has (a form posted without these fields, too).
            field = cast(forms.IntegerField, self.fields[name])
            field.required = False
            field.label = label
        self._add_versions(event)

    def _add_versions(self, event: Event) -> None:
        """A title and a description for each of the site's other languages, after the
        event's own (optional: readers of a language without them read the event's)."""
        title_max = Event._meta.get_field("title").max_length
        order = list(self.fields)
        at = order.index("description") + 1
        added = []
        for code in version_languages():
            version = (event.translations or {}).get(code, {})
            name = language_name(code)
            self.fields[f"title_{code}"] = forms.CharField(
                label=_("Title in {language}").format(language=name),
                required=False,
                max_length=title_max,
                initial=version.get("title", ""),
                help_text=_("Optional. Readers of {language} see it instead of the title.").format(
                    language=name
                ),
            )
            self.fields[f"description_{code}"] = forms.CharField(
                label=_("Description in {language}").format(language=name),
                required=False,
                initial=version.get("description", ""),
                widget=forms.Textarea(attrs={"rows": 6, "lang": code}),
                help_text=_("Optional. Markdown, shown instead of the description."),
            )
            self.fields[f"title_{code}"].widget.attrs["lang"] = code
            added += [f"title_{code}", f"description_{code}"]
        self.order_fields(order[:at] + added + order[at:])

    def clean_invitation_reminder_hours(self) -> int:
        value = self.cleaned_data.get("invitation_reminder_hours")
        return self.instance.invitation_reminder_hours if value is None else value

    def clean_join_opens_before(self) -> int:
        value = self.cleaned_data.get("join_opens_before")
        return self.instance.join_opens_before if value is None else value

    def clean_join_closes_after(self) -> int:
        value = self.cleaned_data.get("join_closes_after")
        return self.instance.join_closes_after if value is None else value

    def clean_reminder_hours(self) -> list[int]:
        parts = [p.strip() for p in self.cleaned_data["reminder_hours"].split(",") if p.strip()]
        if any(not p.isdecimal() or not 1 <= int(p) <= 336 for p in parts) or len(parts) > 5:
            raise forms.ValidationError(
                _("Up to 5 whole numbers of hours between 1 and 336, separated by commas.")
            )
        return sorted({int(p) for p in parts}, reverse=True)

    def clean_lottery_reserved_shares(self) -> dict[str, int]:
        return parse_shares(self.cleaned_data["lottery_reserved_shares"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        zone = cleaned.get("timezone")
        if not zone:
            return cleaned
        opens = to_utc(self, "registration_opens_at", zone)
        closes = to_utc(self, "registration_closes_at", zone)
        cleaned["registration_opens_at"], cleaned["registration_closes_at"] = opens, closes
        if opens and closes and closes <= opens:
            self.add_error("registration_closes_at", _("Registration must close after it opens."))
        return cleaned

    def _post_clean(self) -> None:
        # No model validation here: the service validates (and would otherwise be bypassed
        # by a form that already changed the instance).
        pass

    def service_fields(self) -> dict:
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        # Every language's version as typed; the service drops the empty ones.
        fields["translations"] = {
            code: {
                "title": self.cleaned_data.get(f"title_{code}", ""),
                "description": self.cleaned_data.get(f"description_{code}", ""),
            }
            for code in version_languages()
        }
        return fields


JOIN_WINDOW_LABELS = {
    "join_opens_before": gettext_lazy("Join links open (minutes before the start)"),
    "join_closes_after": gettext_lazy("Join links close (minutes after the end)"),
}


class SessionForm(forms.ModelForm):
    """Create or edit a session; start and end are typed in the event's zone."""

    starts_at = LocalDateTimeField(label=gettext_lazy("Starts"))
    ends_at = LocalDateTimeField(label=gettext_lazy("Ends"))
    capacity = forms.IntegerField(
        label=gettext_lazy("Capacity"),
        min_value=1,
        max_value=100_000,
        help_text=gettext_lazy("Seats. It cannot go below the seats already given."),
    )
    online_url = forms.URLField(
        label=gettext_lazy("Online link"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy(
            "The meeting's address, for online and hybrid sessions. Never sent: each attendee "
            "gets a personal join link that leads here, so you may change it at any time."
        ),
    )

    # Hidden until a start in the past makes it needed (see ask_to_confirm_past).
    confirm_past = forms.BooleanField(
        label=gettext_lazy("Yes, create this session in the past"),
        required=False,
        widget=forms.HiddenInput,
    )

    class Meta:
        model = Session
        fields = [
            "title",
            "starts_at",
            "ends_at",
            "capacity",
            "waitlist_enabled",
            "format",
            "location",
            "online_url",
            "join_opens_before",
            "join_closes_after",
        ]
        labels = {
            "format": gettext_lazy("Where it takes place"),
            "title": gettext_lazy("Title"),
            "waitlist_enabled": gettext_lazy("Keep a waitlist when the session is full"),
            "location": gettext_lazy("Location"),
        }
        help_texts = {
            "title": gettext_lazy("Optional, e.g. “Europe-friendly slot”."),
            "location": gettext_lazy("Shown only to confirmed attendees."),
        }

    def __init__(self, *args, event: Event, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        # The confirmation sits under the times it is about, not at the end of the form.
        self.order_fields(["title", "starts_at", "ends_at", "confirm_past"])
        note = _("In the event's time zone, {zone}.").format(zone=event.timezone)
        self.fields["starts_at"].help_text = note
        self.fields["ends_at"].help_text = note
        if self.instance.pk:
            self.initial["starts_at"] = to_local(self.instance.starts_at, event.timezone)
            self.initial["ends_at"] = to_local(self.instance.ends_at, event.timezone)
        for name, label in JOIN_WINDOW_LABELS.items():
            self.fields[name].label = label
            self.fields[name].help_text = _("Blank: the event's ({minutes}).").format(
                minutes=getattr(event, name)
            )
        # Left out (an older form, a script): read from the place and link given, as
        # migration 0032 read the sessions made before there was a choice.
        self.fields["format"].required = False

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        starts = to_utc(self, "starts_at", self.event.timezone)
        ends = to_utc(self, "ends_at", self.event.timezone)
        cleaned["starts_at"], cleaned["ends_at"] = starts, ends
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The session must end after it starts."))
        if not cleaned.get("format"):
            online, place = cleaned.get("online_url"), cleaned.get("location")
            Format = Session.Format
            cleaned["format"] = (
                (Format.HYBRID if place else Format.ONLINE) if online else Format.IN_PERSON
            )
        return cleaned

    def _post_clean(self) -> None:
        pass  # the service validates; see EventForm._post_clean

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

    def ask_to_confirm_past(self, message: str) -> None:
        """Show the confirmation checkbox, with the service's reason as its error."""
        self.fields["confirm_past"].widget = forms.CheckboxInput()
        if self.instance.pk:
            self.fields["confirm_past"].label = _("Yes, move this session into the past")
        self.add_error("confirm_past", message)
