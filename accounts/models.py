import secrets
import zoneinfo
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)


# RFC 5321: the longest address a mail server must accept.
EMAIL_MAX_LENGTH = 254


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: email is the login. Profile fields are what a developer community needs."""

    class Role(models.TextChoices):
        DEVELOPER = "developer", _("Developer")
        RESEARCHER = "researcher", _("Researcher")
        COMMUNITY = "community", _("Community member")
        OTHER = "other", _("Other")

    email = models.EmailField(_("email address"), unique=True, max_length=EMAIL_MAX_LENGTH)
    display_name = models.CharField(max_length=100, blank=True)
    github_handle = models.CharField(
        _("GitHub handle"),
        max_length=39,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$",
                _("A GitHub handle has letters, digits and single hyphens, and no @."),
            )
        ],
    )
    affiliation = models.CharField(_("company or affiliation"), max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DEVELOPER)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    # "" follows the browser (cookie, then Accept-Language); else one of settings.LANGUAGES.
    # No choices here, so that adding a catalogue needs no migration.
    language = models.CharField(max_length=12, blank=True, default="")
    what_i_build = models.TextField(_("what I build"), max_length=1000, blank=True)
    # Secret of the private calendar feed; resetting it cuts off every old subscription.
    calendar_token = models.CharField(max_length=64, unique=True, default=new_calendar_token)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=django_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.email.split("@")[0]
