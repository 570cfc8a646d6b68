"""The team pages' forms: they turn what was typed into a teams service call's keyword
arguments; the rules (a free short name, a known zone, the last owner) live in the service."""

from typing import Any

from django import forms
from django.conf import settings
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.forms import timezone_choices

from ..models import Role, Team
from ..models.team import ROLE_HELP


def role_choices() -> list[tuple[str, Any]]:
    """Each role with its one line of what it may do, as the radio buttons' labels."""
    return [
        (
            role.value,
            format_html(
                '<strong>{}</strong> <span class="muted">{}</span>', role.label, ROLE_HELP[role]
            ),
        )
        for role in Role
    ]


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Team name"))
    slug = forms.SlugField(
        max_length=50,
        required=False,
        label=_("Short name"),
        help_text=_(
            "Letters, numbers and hyphens, used in the organizer area's addresses. "
            "Left empty, it is made from the name."
        ),
    )
    timezone = forms.ChoiceField(
        choices=timezone_choices,
        label=_("Default time zone"),
        initial="UTC",
        help_text=_("New events start in this zone."),
    )
    language = forms.ChoiceField(
        choices=Team.Language.choices, label=_("Default language"), initial=Team.Language.ENGLISH
    )
    reviewers_may_export = forms.BooleanField(
        required=False, label=_("Reviewers may export the pool's personal data")
    )
    # Contact rules (services.contact checks them): left empty, a rule keeps its value.
    invite_cooldown_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=365,
        label=_("Days before someone may be invited again"),
        help_text=_("After an invitation from this team. 0: no cool-down."),
    )
    attended_cooldown_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=365,
        label=_("Days of rest after attending a session"),
        help_text=_("0: no rest."),
    )
    max_invitations_per_90_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        label=_("Most invitations per person in 90 days"),
        help_text=_(
            "0: no limit. Owners and organizers may set these rules aside for a batch, "
            "with a written reason; nobody who unsubscribed or is blocked is ever invited."
        ),
    )

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        if team is not None:
            kwargs.setdefault("initial", {name: getattr(team, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)
        self.team = team
        if team is None:
            # New teams start with the safe defaults.
            for name in ("reviewers_may_export", *CONTACT_RULES):
                del self.fields[name]

    def service_fields(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if not (name in CONTACT_RULES and value is None)
        }


CONTACT_RULES = ("invite_cooldown_days", "attended_cooldown_days", "max_invitations_per_90_days")


class InviteForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        choices=role_choices, initial=Role.ORGANIZER, widget=forms.RadioSelect, label=_("Role")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        days = getattr(settings, "TEAM_INVITATION_DAYS", 7)
        self.fields["email"].help_text = ngettext(
            "They get an email with a link to join, valid for %(days)s day.",
            "They get an email with a link to join, valid for %(days)s days.",
            days,
        ) % {"days": days}


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))
