from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from . import services
from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "role", "is_organizer", "is_staff", "date_joined"]
    list_filter = ["is_organizer", "is_staff", "role"]
    search_fields = ["email", "display_name", "github_handle", "affiliation"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Profile",
            {
                "fields": [
                    "display_name",
                    "github_handle",
                    "affiliation",
                    "role",
                    "timezone",
                    "what_i_build",
                ]
            },
        ),
        ("Access", {"fields": ["is_active", "is_organizer", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = ["make_organizers"]

    @admin.action(description="Make the selected users organizers")
    def make_organizers(self, request, queryset):
        for user in queryset:
            services.set_organizer(user=user, is_organizer=True)
        self.message_user(
            request, f"{queryset.count()} user(s) are now organizers.", messages.SUCCESS
        )
