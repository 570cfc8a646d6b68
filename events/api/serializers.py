"""What the API shows of each object, and what it takes in. Writes are checked here for
shape and types only: the rules are the services' (a refusal is a 422 problem)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Event, Registration, Session
from ..services.scheduling import EVENT_FIELDS, SESSION_FIELDS
from .http import PageQuery


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()


class EventSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "team",
            "title",
            "kind",
            "description",
            "translations",
            "visibility",
            "registration_mode",
            "status",
            "registration_opens_at",
            "registration_closes_at",
            "timezone",
            "terms_text",
            "terms_version",
            "offer_hours",
            "reminder_hours",
            "lottery_reserved_shares",
            "checkin_enabled",
            "invitation_reminder_hours",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EventWriteSerializer(serializers.ModelSerializer):
    """The fields of an event that a create or an update may set (as the event form)."""

    reminder_hours = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=336), max_length=5, required=False
    )
    lottery_reserved_shares = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=100), required=False
    )

    class Meta:
        model = Event
        fields = sorted(EVENT_FIELDS)


class SessionSerializer(serializers.ModelSerializer):
    event = serializers.PrimaryKeyRelatedField(read_only=True)
    seats_left = serializers.IntegerField(read_only=True)
    # Blank when the session has no online link: a URL or "".
    online_url = serializers.CharField(read_only=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "event",
            "title",
            "starts_at",
            "ends_at",
            "capacity",
            "seats_taken",
            "seats_left",
            "waitlist_enabled",
            "location",
            "online_url",
            "status",
            "uid",
            "sequence",
        ]
        read_only_fields = fields


class SessionWriteSerializer(serializers.ModelSerializer):
    past_confirmed = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text=_("Set to true to create a session that starts in the past, on purpose."),
    )

    class Meta:
        model = Session
        fields = [*sorted(SESSION_FIELDS), "past_confirmed"]

    def validate(self, attrs):
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError(
                {"ends_at": [_("A session must end after it starts.")]}
            )
        return attrs


class RegistrationSerializer(serializers.ModelSerializer):
    person = PersonSerializer(source="user", read_only=True)
    event = serializers.IntegerField(source="session.event_id", read_only=True)

    class Meta:
        model = Registration
        fields = [
            "id",
            "session",
            "event",
            "person",
            "status",
            "created_at",
            "updated_at",
            "waitlisted_at",
            "offered_at",
            "offer_expires_at",
            "confirmed_at",
            "cancelled_at",
            "lottery_rank",
            "checked_in_at",
            "no_show",
            "walk_in",
        ]
        read_only_fields = fields


class AttendanceSerializer(RegistrationSerializer):
    attendance = serializers.SerializerMethodField(
        help_text=_("checked_in, not_checked_in, no_show, or not_confirmed (not attending).")
    )

    class Meta(RegistrationSerializer.Meta):
        fields = [*RegistrationSerializer.Meta.fields, "attendance"]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(
            choices=["checked_in", "not_checked_in", "no_show", "not_confirmed"]
        )
    )
    def get_attendance(self, registration: Registration) -> str:
        if registration.status != Registration.Status.CONFIRMED:
            return "not_confirmed"
        if registration.checked_in_at:
            return "checked_in"
        return "no_show" if registration.no_show else "not_checked_in"


class OutcomeSerializer(serializers.Serializer):
    registration = RegistrationSerializer()
    changed = serializers.BooleanField(help_text=_("False when it had already been done."))
    message = serializers.CharField()


class ApproveSerializer(serializers.Serializer):
    when_full = serializers.ChoiceField(
        choices=["refuse", "waitlist"],
        default="refuse",
        help_text=_("When no seat is free: refuse (a 422), or put the person on the waitlist."),
    )


class EventQuery(PageQuery):
    status = serializers.ChoiceField(choices=Event.Status.choices, required=False)
    updated_since = serializers.DateTimeField(
        required=False, help_text=_("Only those changed at or after this time (ISO 8601).")
    )


class RegistrationQuery(PageQuery):
    status = serializers.ChoiceField(choices=Registration.Status.choices, required=False)
    updated_since = serializers.DateTimeField(
        required=False, help_text=_("Only those changed at or after this time (ISO 8601).")
    )
    event = serializers.IntegerField(required=False, min_value=1)
    session = serializers.IntegerField(required=False, min_value=1)
