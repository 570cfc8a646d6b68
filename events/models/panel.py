"""A team's panel: everyone who confirmed a submission to one of the team's open calls or
registered for one of its events, one row per person (by email), with the attributes and the
history organizers choose people by.

A PanelMember row is derived data: services.panel builds and refreshes it from the source rows
(submissions, registrations, invitations, survey answers), so it can always be rebuilt. It is
kept as columns (not computed per request) so that filtering 200,000 people runs in the
database on indexed columns."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from .questionnaire import Question
from .team import Team


class PanelMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="panel")
    # The person's identity in the panel: their address, lower-cased. An account and an
    # earlier anonymous submission with one of its verified addresses are one person.
    email = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Attributes: the latest the person gave (their profile, else their latest submission).
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=User.Role.choices, blank=True)
    affiliation = models.CharField(max_length=200, blank=True)
    location = models.CharField(_("country or time zone"), max_length=64, blank=True)
    github_handle = models.CharField(_("GitHub handle"), max_length=39, blank=True)
    # Open-call answers the team maps to attributes ({"models_used": ["Llama", "Mistral"]}).
    attributes = models.JSONField(default=dict, blank=True)
    # Agreed, in one of the team's calls, to be contacted about future sessions: only they
    # are invitable from the panel.
    consent = models.BooleanField(default=False)
    # The team's tags on the person's submissions, across its calls (names, sorted), and the
    # mean of the team's review scores on them (none until someone scored them).
    tags = models.JSONField(default=list, blank=True)
    review_score = models.FloatField(null=True, blank=True)
    # The team's calls the person confirmed a submission to (ids, sorted), those where the
    # screening rules qualified it, and those where it waits to be scored: the funnel counts
    # its steps from these without going back to the submissions (services.funnel).
    calls = models.JSONField(default=list, blank=True)
    qualified_calls = models.JSONField(default=list, blank=True)
    unscored_calls = models.JSONField(default=list, blank=True)
    # History with this team.
    calls_answered = models.PositiveIntegerField(default=0)
    invitations = models.PositiveIntegerField(default=0)
    invitations_accepted = models.PositiveIntegerField(default=0)
    invitations_declined = models.PositiveIntegerField(default=0)
    registrations = models.PositiveIntegerField(default=0)
    attended = models.PositiveIntegerField(default=0)
    no_shows = models.PositiveIntegerField(default=0)
    late_cancellations = models.PositiveIntegerField(default=0)
    surveys_answered = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    last_attended_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team", "email"]
        constraints = [
            models.UniqueConstraint(fields=["team", "email"], name="panel_member_once_per_team"),
        ]
        indexes = [
            models.Index(fields=["team", "role"]),
            models.Index(fields=["team", "consent"]),
            models.Index(fields=["team", "attended"]),
            models.Index(fields=["team", "last_contacted_at"]),
            models.Index(fields=["team", "last_attended_at"]),
            models.Index(fields=["team", "affiliation"]),
        ]

    def __str__(self) -> str:
        return f"{self.email} in {self.team}"


class PanelAttribute(models.Model):
    """An open-call question whose answers the team uses as a panel attribute: "Which models
    do you use?" becomes `models_used`."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="panel_attributes")
    name = models.SlugField(max_length=40)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="panel_attribute_name_once"),
        ]

    def __str__(self) -> str:
        return self.name


class Segment(models.Model):
    """A saved filter over a team's panel (attributes, answers, history, tags), re-evaluated
    whenever it is opened. `definition` is what services.segments validates and turns into a
    query; it is never typed by hand but composed in a form."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=100)
    definition = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class Draw(models.Model):
    """A sample drawn from a segment (services.draws): what was asked, the seed, and who came
    out, so that the draw can be shown, checked and run again. The segment's definition is
    copied as it was: the segment may change or go later."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="draws")
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="draws"
    )
    # A draw from a call's qualified people (with the call's quotas as its rules) names it.
    call = models.ForeignKey(
        "events.OpenCall", null=True, blank=True, on_delete=models.SET_NULL, related_name="draws"
    )
    segment_name = models.CharField(max_length=100, blank=True)
    definition = models.JSONField(default=list)
    description = models.TextField(blank=True)  # the definition in words, at the time
    rules = models.JSONField(default=dict)  # minimums, caps, prefer_never_attended
    seed = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    picked = models.JSONField(default=list)  # PanelMember ids, in draw order
    skipped = models.JSONField(default=dict)  # reason -> how many
    candidates = models.PositiveIntegerField(default=0)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    drawn_at = models.DateTimeField()

    class Meta:
        ordering = ["-drawn_at", "-pk"]
        indexes = [models.Index(fields=["team", "-drawn_at"])]

    def __str__(self) -> str:
        return f"Draw of {self.size} ({self.seed})"


class PanelErasure(models.Model):
    """A person the team forgot at their request (services.erasure.forget), recorded without
    their identity: how many rows went, when, and who acted."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="erasures")
    forgotten_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    forgotten_at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField()

    class Meta:
        ordering = ["-forgotten_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.rows} rows forgotten in {self.team}"
