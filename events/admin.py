"""Staff views of the data. State changes go through services: the seat counter, sequence and
registration statuses are read-only here, and actions call the same functions as the pages."""

from django.contrib import admin, messages

from .models import (
    Event,
    Notification,
    Registration,
    RegistrationChange,
    Session,
)
from .services import ServiceError
from .services import registration as registration_service


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

    @admin.action(description="Cancel the selected registrations (frees their seats)")
    def cancel_selected(self, request, queryset):
        for registration in queryset:
            try:
                registration_service.cancel(
                    registration=registration, actor=request.user, by_organizer=True
                )
            except ServiceError as error:
                self.message_user(request, f"{registration}: {error.message}", messages.WARNING)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["kind", "email", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["email", "key"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
