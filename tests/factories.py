from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user whose email is verified (the usual case); pass verified=False for one who is not."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted: bool | None, **kwargs) -> None:
        if create:
            EmailAddress.objects.create(
                user=self, email=self.email, primary=True, verified=extracted is not False
            )


class OrganizerFactory(UserFactory):
    """A person who owns a team of their own (pass team=... to put them in another one, with
    role=...), so they can create events and calls in it."""

    @factory.post_generation
    def team(self, create: bool, extracted, **kwargs) -> None:
        if create:
            role = kwargs.get("role", "owner")
            if extracted is None:
                TeamFactory(owner=self)
            else:
                add_to_team(extracted, self, role=role)


class TeamFactory(factory.django.DjangoModelFactory):
    """A team, with `owner` (given or made) as its owner."""

    class Meta:
        model = "events.Team"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    timezone = "Europe/Berlin"

    @factory.post_generation
    def owner(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted is not False:
            add_to_team(self, extracted or UserFactory(), role="owner")


def add_to_team(team, user, role: str = "organizer"):
    """Put `user` in `team` with `role`, as the teams service does (with its history)."""
    from events.services import teams

    return teams.add_member(team=team, actor=None, user=user, role=role)


def as_role(team, role: str, client_for):
    """A logged-in client of a new member of `team` with `role`."""
    someone = UserFactory()
    add_to_team(team, someone, role=role)
    return client_for(someone)


def team_of(user):
    """The first team in which `user` may create events (an owner's or organizer's); a new
    team they own if they have none."""
    from events.models import Team

    team = (
        Team.objects.filter(memberships__user=user, memberships__role__in=["owner", "organizer"])
        .order_by("pk")
        .first()
    )
    return team or TeamFactory(owner=user)


def organizer_of(obj):
    """The first owner (else organizer) of the team that runs an event or a call."""
    from events.models import Membership

    rows = Membership.objects.filter(team=obj.team_id).select_related("user").order_by("pk")
    membership = rows.filter(role="owner").first() or rows.filter(role="organizer").first()
    return membership.user if membership else None


def in_days(days: float, hour: int = 15):
    return (timezone.now() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


class QuestionnaireFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "events.Questionnaire"


class EventFactory(factory.django.DjangoModelFactory):
    """A published, public, open-mode event; organizer given or made. Like an event made by
    scheduling.create_event, it has its (empty) screening questionnaire."""

    class Meta:
        model = "events.Event"
        skip_postgeneration_save = True

    screening = factory.SubFactory(QuestionnaireFactory)
    title = factory.Sequence(lambda n: f"Feedback session {n}")
    description = "Tell us what you think of the **new model**."
    status = "published"
    registration_mode = "open"
    timezone = "Europe/Berlin"

    team = factory.LazyAttribute(lambda event: team_of(event.organizer or OrganizerFactory()))

    class Params:
        organizer = None  # a user: the event goes to (the first of) their team(s)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "events.Session"

    event = factory.SubFactory(EventFactory)
    starts_at = factory.Sequence(lambda n: in_days(7 + n))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(hours=1))
    capacity = 10
    location = "Room 1, Example HQ"
    online_url = ""
    # As migration 0032 reads older sessions: a link and no place is online, both hybrid.
    format = factory.LazyAttribute(
        lambda s: ("hybrid" if s.location else "online") if s.online_url else "in_person"
    )


class ScreeningQuestionFactory(factory.django.DjangoModelFactory):
    """A question an event asks its applicants, written directly on the event's screening
    questionnaire (the question editor goes through services.screening.add_question, which
    also checks the event takes applications). Its choices get the ids 0, 1, ... in order
    (`choice_id` names one by its words)."""

    class Meta:
        model = "events.Question"

    event = factory.SubFactory(EventFactory, registration_mode="approval")
    label = factory.Sequence(lambda n: f"Question {n}?")
    kind = "short_text"
    required = True
    position = 0
    choices: tuple[str, ...] = ()

    @classmethod
    def _create(cls, model_class, *, event, choices, **fields):
        from events.models import Choice, Event, Questionnaire

        # Read afresh: another copy of the event may have made its questionnaire already.
        event.screening_id = Event.objects.values_list("screening_id", flat=True).get(pk=event.pk)
        if event.screening_id is None:
            event.screening = Questionnaire.objects.create()
            event.save(update_fields=["screening"])
        question = model_class.objects.create(questionnaire_id=event.screening_id, **fields)
        Choice.objects.bulk_create(
            Choice(question=question, number=n, label=label, position=n)
            for n, label in enumerate(choices)
        )
        return model_class.objects.get(pk=question.pk)


def choice_id(question, words: str) -> int:
    """The id of a question's choice with these words."""
    return next(number for number, label in question.offered_choices if label == words)


class RegistrationFactory(factory.django.DjangoModelFactory):
    """A registration row in a given state, written directly: it takes no seat, owes no mail
    and leaves no history (a sign-up as people make it is services.registration.register)."""

    class Meta:
        model = "events.Registration"

    session = factory.SubFactory(SessionFactory)
    user = factory.SubFactory(UserFactory)
    status = "confirmed"


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation row with a week to answer, written directly: no seat held, nothing
    mailed (an invitation as organizers send it is services.invitations.create_batch)."""

    class Meta:
        model = "events.Invitation"

    event = factory.SubFactory(EventFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class SurveyFactory(factory.django.DjangoModelFactory):
    """An event's survey as the service makes it (its questionnaire and starter questions),
    not sending yet."""

    class Meta:
        model = "events.Survey"

    event = factory.SubFactory(EventFactory)
    actor = None

    @classmethod
    def _create(cls, model_class, *, event, actor):
        from events.services import surveys

        return surveys.create_survey(event=event, actor=actor)


class OpenCallFactory(factory.django.DjangoModelFactory):
    """A draft open call as the service makes it (with its questionnaire); organizer given or
    made. Other fields go to the service as they are (intro, ask_join, opens_at, ...)."""

    class Meta:
        model = "events.OpenCall"

    organizer = factory.SubFactory(OrganizerFactory)
    title = factory.Sequence(lambda n: f"Open call {n}")
    slug = factory.Sequence(lambda n: f"open-call-{n}")

    @classmethod
    def _create(cls, model_class, *, organizer, **fields):
        from events.services import open_calls

        team = fields.pop("team", None) or team_of(organizer)
        return open_calls.create_call(team=team, actor=organizer, **fields)


def answers_in_words(registration) -> dict:
    """A registration's screening answers as the applicant gave them (choices as words), as
    their data export shows them."""
    from events.services import screening

    event = registration.session.event
    event.refresh_from_db(fields=["screening"])
    return screening.as_written(
        answers=registration.answers, questions=screening.asked(event=event)
    )


# The panel: rows written directly (services.panel builds them from the source data; these
# tests of segments and pages need only the rows).
class PanelMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "events.PanelMember"

    team = factory.SubFactory(TeamFactory)
    email = factory.Sequence(lambda n: f"panelist{n}@example.org")
    name = factory.Sequence(lambda n: f"Panelist {n}")
    role = "developer"
    # In the panel's view: they agreed to be contacted (pass consent=False with registrations=1
    # for someone known through an event only).
    consent = True


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "events.Segment"

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    definition = factory.LazyFunction(lambda: [{"field": "consent", "op": "is", "value": True}])
