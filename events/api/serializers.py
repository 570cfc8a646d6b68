"""What the API shows of each object, and what it takes in. Writes are checked here for
shape and types only: the rules are the services' (a refusal is a 422 problem)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..invite_parsing import MAX_ROWS
from ..models import (
    Event,
    Invitation,
    OpenCall,
    PanelMember,
    Question,
    Registration,
    Review,
    Segment,
    Session,
    Submission,
    Survey,
    Tombstone,
)
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
            "format",
            "online_url",
            "status",
            "uid",
            "sequence",
            "updated_at",
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
        extra_kwargs = {
            "format": {
                "help_text": _(
                    "in_person, online (attendees get a personal join link) or hybrid (both)."
                ),
                "error_messages": {
                    "invalid_choice": _(
                        "“{input}” is not a session format: use in_person, online or hybrid."
                    )
                },
            }
        }

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


class SyncQuery(PageQuery):
    """A list a client keeps in sync: `updated_since` asks for what changed since, oldest
    change first."""

    updated_since = serializers.DateTimeField(
        required=False, help_text=_("Only those changed at or after this time (ISO 8601).")
    )


class EventQuery(SyncQuery):
    status = serializers.ChoiceField(choices=Event.Status.choices, required=False)


class RegistrationQuery(SyncQuery):
    status = serializers.ChoiceField(choices=Registration.Status.choices, required=False)
    event = serializers.IntegerField(required=False, min_value=1)
    session = serializers.IntegerField(required=False, min_value=1)


# Invitations


class InvitationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invitation
        fields = [
            "id",
            "event",
            "session",
            "email",
            "name",
            "note",
            "status",
            "holds_seat",
            "seat_held",
            "expires_at",
            "created_at",
            "sent_at",
            "responded_at",
            "registration",
            "updated_at",
        ]
        read_only_fields = fields


class InviteeSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class InviteSerializer(serializers.Serializer):
    """A list to invite, as the invitation page takes it (its rules are the service's)."""

    people = InviteeSerializer(many=True, allow_empty=False, max_length=MAX_ROWS)
    session = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text=_("Empty: any session.")
    )
    expires_in_days = serializers.IntegerField(min_value=1, max_value=90, default=7)
    holds_seat = serializers.BooleanField(default=False)
    message = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)
    allow_any_account = serializers.BooleanField(default=False)
    override_reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Invite those held back by the contact rules anyway, for this reason."),
    )
    dry_run = serializers.BooleanField(
        default=False, help_text=_("Only the preview: who would be invited, who not and why.")
    )


class RefusedSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("The person's place in `people`, from 1."))
    email = serializers.CharField()
    reason = serializers.CharField()


class InviteResultSerializer(serializers.Serializer):
    invitations = InvitationSerializer(many=True, help_text=_("Empty in a dry run."))
    would_invite = serializers.ListField(child=serializers.EmailField())
    refused = RefusedSerializer(many=True)
    held_back = serializers.ListField(
        child=serializers.EmailField(),
        help_text=_("Refused by the cool-down or limit only: an override_reason invites them."),
    )


class ExtendSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=90,
        required=False,
        default=7,
        help_text=_("Days from now (never past the session's start); 7 by default."),
    )


class InvitationQuery(SyncQuery):
    status = serializers.ChoiceField(choices=Invitation.Status.choices, required=False)


# Surveys


class ChoiceSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()


class QuestionSerializer(serializers.ModelSerializer):
    choices = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = ["id", "position", "kind", "label", "help_text", "required", "choices"]
        read_only_fields = fields

    @extend_schema_field(ChoiceSerializer(many=True))
    def get_choices(self, question: Question) -> list[dict]:
        return [{"number": n, "label": label} for n, label in question.offered_choices]


class SurveySerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(source="questionnaire.questions", many=True, read_only=True)

    class Meta:
        model = Survey
        fields = [
            "id",
            "event",
            "intro",
            "is_active",
            "send_after_hours",
            "audience",
            "reminder_after_days",
            "closes_at",
            "anonymous",
            "updated_at",
            "questions",
        ]
        read_only_fields = fields


class SurveyResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    person = PersonSerializer()
    session = serializers.IntegerField()
    answered_at = serializers.DateTimeField()
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text=_("By question id: a number, a choice's words, a list of them, or a text."),
    )


class OptionSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField(help_text=_("Of those who answered the question, in percent."))


class QuestionResultSerializer(serializers.Serializer):
    question = serializers.IntegerField(source="question.pk")
    label = serializers.CharField(source="question.label")
    kind = serializers.CharField(source="question.kind")
    answered = serializers.IntegerField()
    options = OptionSerializer(many=True)
    mean = serializers.FloatField(allow_null=True)
    nps = serializers.SerializerMethodField()
    texts = serializers.ListField(child=serializers.CharField())

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_nps(self, result) -> int | None:
        return result.nps.score if result.nps is not None else None


class RateSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    opened = serializers.IntegerField()
    answered = serializers.IntegerField()


class SurveyResultsSerializer(serializers.Serializer):
    rate = RateSerializer()
    respondents = serializers.IntegerField()
    questions = QuestionResultSerializer(many=True)


# Open calls and the panel


class CallSerializer(serializers.ModelSerializer):
    class Meta:
        model = OpenCall
        fields = [
            "id",
            "title",
            "slug",
            "status",
            "opens_at",
            "closes_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.EmailField(source="reviewer.email", read_only=True, allow_null=True)

    class Meta:
        model = Review
        fields = ["id", "submission", "reviewer", "score", "note", "updated_at"]
        read_only_fields = fields


class SubmissionSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)
    # Choices that may be blank (not given, not scored yet): plain strings in the document.
    role = serializers.CharField(read_only=True, help_text=_("developer, researcher, ... or ''"))
    screening = serializers.CharField(
        read_only=True, help_text=_("qualified, disqualified, or '' (not scored yet)")
    )

    class Meta:
        model = Submission
        fields = [
            "id",
            "call",
            "email",
            "name",
            "role",
            "affiliation",
            "github_handle",
            "location",
            "join_feedback",
            "join_demo",
            "consent",
            "submitted_at",
            "confirmed_at",
            "screening",
            "screening_reason",
            "tags",
            "reviews",
        ]
        read_only_fields = fields


class ReviewWriteSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    note = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["id", "name", "definition", "created_at"]
        read_only_fields = fields


class PanelMemberSerializer(serializers.ModelSerializer):
    role = serializers.CharField(read_only=True, help_text=_("developer, researcher, ... or ''"))

    class Meta:
        model = PanelMember
        fields = [
            "id",
            "email",
            "name",
            "role",
            "affiliation",
            "location",
            "github_handle",
            "attributes",
            "consent",
            "tags",
            "review_score",
            "calls_answered",
            "invitations",
            "registrations",
            "attended",
            "no_shows",
            "surveys_answered",
            "last_contacted_at",
            "last_attended_at",
        ]
        read_only_fields = fields


# Deletions


class DeletionSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind", help_text=_("What went: registration, ..."))
    id = serializers.IntegerField(source="object_id", help_text=_("The id it had in the API."))

    class Meta:
        model = Tombstone
        fields = ["type", "id", "reason", "removed_at"]
        read_only_fields = fields


class DeletionQuery(PageQuery):
    since = serializers.DateTimeField(
        required=False,
        help_text=_("Only those removed at or after this time (ISO 8601)."),
    )
    type = serializers.ChoiceField(choices=Tombstone.Kind.choices, required=False)
