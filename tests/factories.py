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
    is_organizer = True


def in_days(days: float, hour: int = 15):
    return (timezone.now() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


class EventFactory(factory.django.DjangoModelFactory):
    """A published, public, open-mode event; organizer given or made."""

    class Meta:
        model = "events.Event"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Feedback session {n}")
    description = "Tell us what you think of the **new model**."
    status = "published"
    registration_mode = "open"
    timezone = "Europe/Berlin"

    @factory.post_generation
    def organizer(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.organizers.add(extracted or OrganizerFactory())


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "events.Session"

    event = factory.SubFactory(EventFactory)
    starts_at = factory.Sequence(lambda n: in_days(7 + n))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(hours=1))
    capacity = 10
    location = "Room 1, Example HQ"
