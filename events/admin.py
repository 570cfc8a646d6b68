"""Staff views of the data. State changes go through services: the seat counter, sequence and
registration statuses are read-only here, and actions call the same functions as the pages."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from .messages import accounts as account_messages
from .models import (
    CalendarReply,
    Event,
    Membership,
    Notification,
    Registration,
    RegistrationChange,
    Session,
    Team,
    TeamHistory,
)
from .services import ServiceError
from .services import registration as registration_service
from .services import teams as team_service


class SessionInline(admin.TabularInline):
    model = Session
    readonly_fields = ("starts_at", "ends_at", "capacity", "seats_taken", "status", "sequence")
    fields = readonly_fields
    extra = 0
    can_delete = False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "kind", "registration_mode", "status", "created_at"]
    list_filter = ["kind", "registration_mode", "status", "visibility"]
    search_fields = ["title"]
    list_select_related = ["team"]
    inlines = [SessionInline]

    # Editing happens on the organizer pages (staff may open any event there), where the
    # services keep the calendar sequence, terms versions and seats right.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ChangeInline(admin.TabularInline):
    model = RegistrationChange
    readonly_fields = ("created_at", "from_status", "to_status", "actor", "note")
    fields = readonly_fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["user", "session", "status", "created_at", "offer_expires_at"]
    list_filter = ["status", "session__event"]
    search_fields = ["user__email", "user__display_name", "session__event__title"]
    list_select_related = ["user", "session__event"]
    readonly_fields = [f.name for f in Registration._meta.fields]
    inlines = [ChangeInline]
    actions = ["cancel_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Cancel the selected registrations (frees their seats)"))
    def cancel_selected(self, request, queryset):
        for registration in queryset:
            try:
                registration_service.cancel(
                    registration=registration, actor=request.user, by_organizer=True
                )
            except ServiceError as error:
                self.message_user(
                    request,
                    _("%(registration)s: %(reason)s")
                    % {"registration": registration, "reason": error.message},
                    messages.WARNING,
                )


# What the admin shows instead of an account message's values (its one-time links).
HIDDEN = _("[hidden]")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["kind", "email", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["email", "key"]
    # The payload as `shown_payload`: an account message's values are its one-time links (a
    # password reset's, an address confirmation's) until it is sent, and whoever may only
    # view this table must not be able to use them.
    readonly_fields = [
        "shown_payload" if f.name == "payload" else f.name for f in Notification._meta.fields
    ]
    fields = tuple(readonly_fields)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("payload"))
    def shown_payload(self, notification: Notification) -> str:
        payload = dict(notification.payload or {})
        if notification.kind == Notification.Kind.ACCOUNT:
            values = payload.get(account_messages.VALUES)
            if isinstance(values, dict):
                payload[account_messages.VALUES] = dict.fromkeys(values, str(HIDDEN))
        return json.dumps(payload, ensure_ascii=False, sort_keys=True)


@admin.register(CalendarReply)
class CalendarReplyAdmin(admin.ModelAdmin):
    """Every inbound message read as a calendar answer, and what it did or why not."""

    list_display = ["received_at", "sender", "partstat", "outcome", "reason", "source"]
    list_filter = ["outcome", "source", "partstat"]
    search_fields = ["sender", "message_id", "uid"]
    readonly_fields = [f.name for f in CalendarReply._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    """Read only: members join by invitation and change roles on the team page, where the
    service keeps the last-owner rule and the history."""

    model = Membership
    readonly_fields = ("user", "role", "created_at")
    fields = readonly_fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TeamHistoryInline(admin.TabularInline):
    model = TeamHistory
    readonly_fields = ("at", "actor", "action", "subject_email", "role", "previous_role")
    fields = readonly_fields
    extra = 0
    can_delete = False
    max_num = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TeamAdminForm(forms.ModelForm):
    owner = forms.ModelChoiceField(
        queryset=User.objects.order_by("email"),
        required=False,
        help_text=_("The team's first owner (you, if left empty). Only when creating a team."),
    )

    class Meta:
        model = Team
        fields = [
            "name",
            "slug",
            "timezone",
            "language",
            "reviewers_may_export",
            "invite_cooldown_days",
            "attended_cooldown_days",
            "max_invitations_per_90_days",
        ]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """Staff create teams here (or with `manage.py create_team`) when TEAM_CREATION is
    "staff"; saving goes through the teams service, which records it in the history."""

    form = TeamAdminForm
    list_display = ["name", "slug", "timezone", "language", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline, TeamHistoryInline]

    def get_fields(self, request, obj=None):
        fields = list(TeamAdminForm.Meta.fields)
        # A new team starts with the default contact rules; its owners change them.
        return fields if obj else [*fields[:5], "owner"]

    def save_model(self, request, obj, form, change) -> None:
        # The model form has checked what the service checks (a free short name, a known
        # zone), so a refusal here would be a race: it shows as an error, as any other.
        fields = {
            name: form.cleaned_data[name]
            for name in team_service.TEAM_FIELDS
            if name in form.cleaned_data
        }
        if change:
            team_service.update_team(team=obj, actor=request.user, **fields)
        else:
            team = team_service.create_team(
                actor=request.user, owner=form.cleaned_data.get("owner"), **fields
            )
            obj.pk = team.pk
            obj.slug = team.slug

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a team is deleted on its page, by an owner, once it is empty
