from datetime import timedelta

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from events.models import Event, OpenCall, Question, Session, Team
from events.services import (
    open_calls,
    questionnaire,
    registration,
    scheduling,
    surveys,
    teams,
)

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed on purpose: local demo only
# (email, name, profile role, role in the demo team or "")
DEMO_USERS = [
    ("organizer@example.com", "Olga Organizer", User.Role.OTHER, "owner"),
    ("door@example.com", "Dora Door", User.Role.OTHER, "door"),
    ("ada@example.com", "Ada Lovelace", User.Role.DEVELOPER, ""),
    ("grace@example.com", "Grace Hopper", User.Role.RESEARCHER, ""),
    ("linus@example.com", "Linus Community", User.Role.COMMUNITY, ""),
]


class Command(BaseCommand):
    help = "Seed a small demo (an organizer, a few developers, two upcoming events); safe to rerun."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for email, name, role, _team_role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                email=email,
                defaults={"display_name": name, "role": role},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
        if not Team.objects.exists():
            olga = User.objects.get(email="organizer@example.com")
            team = teams.create_team(
                actor=olga, name="Open model programme", slug="open-model", timezone="Europe/Berlin"
            )
            for email, _name, _role, team_role in DEMO_USERS:
                if team_role and team_role != "owner":
                    person = User.objects.get(email=email)
                    teams.add_member(team=team, actor=olga, user=person, role=team_role)
        if not Event.objects.exists():
            self.seed_events()
        if not OpenCall.objects.exists():
            self.seed_call()
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, name, _role, team_role in DEMO_USERS:
            label = {"owner": " (owns the demo team)", "door": " (door staff)"}.get(team_role, "")
            self.stdout.write(f"  {email:<26} {name}{label}")

    def seed_events(self) -> None:
        organizer = User.objects.get(email="organizer@example.com")
        start = (timezone.now() + timedelta(days=7)).replace(
            hour=15, minute=0, second=0, microsecond=0
        )
        feedback = scheduling.create_event(
            team=Team.objects.get(slug="open-model"),
            actor=organizer,
            title="Open model: developer feedback session",
            kind=Event.Kind.FEEDBACK,
            description=(
                "We are about to release an **open-weights model** and want to hear from the "
                "developers who will build on it.\n\n- 45 minutes, small groups\n"
                "- Bring your use case and your questions"
            ),
            registration_mode=Event.Mode.OPEN,
            timezone="Europe/Berlin",
        )
        for day, capacity in ((0, 8), (2, 8)):
            scheduling.create_session(
                event=feedback,
                actor=organizer,
                starts_at=start + timedelta(days=day),
                ends_at=start + timedelta(days=day, minutes=45),
                capacity=capacity,
                format=Session.Format.ONLINE,
                online_url="https://meet.example.com/open-model-feedback",
            )
        scheduling.publish_event(event=feedback, actor=organizer)
        demo = scheduling.create_event(
            team=Team.objects.get(slug="open-model"),
            actor=organizer,
            title="Prototype demo: the new agent toolkit",
            kind=Event.Kind.DEMO,
            description="A live demo of pre-release work, followed by questions.",
            registration_mode=Event.Mode.OPEN,
            timezone="America/New_York",
            terms_text="What you see in this demo is confidential until the public release.",
        )
        scheduling.create_session(
            event=demo,
            actor=organizer,
            starts_at=start + timedelta(days=10),
            ends_at=start + timedelta(days=10, hours=1),
            capacity=40,
            location="Auditorium, Example HQ",
        )
        scheduling.publish_event(event=demo, actor=organizer)
        ada = User.objects.get(email="ada@example.com")
        registration.register(user=ada, session=feedback.sessions.all()[0])
        # The feedback session's survey, built and sending (it goes out after each session).
        survey = surveys.create_survey(event=feedback, actor=organizer)
        surveys.start_sending(survey=survey, actor=organizer)

    def seed_call(self) -> None:
        organizer = User.objects.get(email="organizer@example.com")
        call = open_calls.create_call(
            team=Team.objects.get(slug="open-model"),
            actor=organizer,
            title="What do you expect of the open model?",
            slug="open-model",
            intro="We are about to release an **open model**. Tell us what you would build.",
        )
        questionnaire.add_question(
            questionnaire=call.questionnaire,
            label="What would you use it for first?",
            kind=Question.Kind.SINGLE,
            choices=["Agents", "Retrieval (RAG)", "Fine-tuning", "Research"],
            required=True,
        )
        questionnaire.add_question(
            questionnaire=call.questionnaire,
            label="What worries you about it?",
            kind=Question.Kind.LONG_TEXT,
        )
        open_calls.set_status(call=call, actor=organizer, published=True)
