from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "role", "is_staff", "date_joined"]
    list_filter = ["is_staff", "role"]
    search_fields = ["email", "display_name", "github_handle", "affiliation"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            gettext_lazy("Profile"),
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
        (gettext_lazy("Access"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (gettext_lazy("Dates"), {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    # Deleting a user here is the same deletion as the person's own (services.delete_account):
    # a plain row delete would drop the CANCELs owed for their calendar entries and leave
    # their submissions, invitations, mail and survey answers behind.

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, unquote(object_id))
        sole = services.teams_only_they_own(user) if user else []
        if request.method == "POST" and user and sole:
            self.message_user(
                request,
                _(
                    "%(email)s is the only owner of the team %(teams)s. Make another member an "
                    "owner, or cancel its events, first."
                )
                % {"email": user.email, "teams": ", ".join(sole)},
                messages.ERROR,
            )
            return redirect("admin:accounts_user_change", user.pk)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.delete_account(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            try:
                services.delete_account(user=user)
            except services.AccountError as error:
                kept = _("%(email)s was kept: %(reason)s") % {
                    "email": user.email,
                    "reason": error.message,
                }
                self.message_user(request, kept, messages.ERROR)
