"""Every organizer page on a 390 px phone and on a 1280 px screen, as a team's owner, its door
staff and its reviewers use them, with a busy event: long names and long email addresses, forty
registrations, invitations, messages (one failed), check-ins, survey answers and an open call's
pool; the owner is in two teams, so the dashboard shows its team switcher.

On each page: nothing scrolls the page sideways, every link, button and field is inside the
screen and is what a tap there hits (not clipped by its card nor covered), no text is broken
letter by letter, no email address is split inside a word, and the header is one row with its
menu folded. Each page is checked with axe and screenshotted
(artifacts/screenshots/every-organizer-page-*)."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bench.themes_data import generate
from events import privacy
from events.invite_parsing import Row
from events.models import (
    Answer,
    ContactBlock,
    Notification,
    PanelErasure,
    PanelMember,
    Registration,
    Response,
    RetentionLog,
    Segment,
    Session,
    Submission,
    SurveyRecipient,
    Theme,
    ThemeSet,
)
from events.services import (
    api_tokens,
    call_screening,
    invitations,
    open_calls,
    questionnaire,
    surveys,
    themes,
    webhooks,
)
from events.services.attendance import check_in
from events.services.registration import register
from events.services.review import approve
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    ScreeningQuestionFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    add_to_team,
)
from tests.surveys.conftest import answer

from .steps import log_in
from .tabs import Tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORGANIZER = "olga.organizer-programme-lead@developer-relations.example-company.com"
DOOR = "dominik.door-staff-volunteer@events-agency-partner.example-company.com"
REVIEWER = "rania.reviewer-applied-research@developer-relations.example-company.com"
HEADER_MAX = 80  # px: one row of header, with room for a two-line brand at most

FIRST = ["Maximilian Alexander", "Ana", "Jo", "Siobhán", "Oluwaseun", "Wei", "Bartholomew"]
LAST = ["van den Berghe-Schmidt", "Lee", "Okonkwo-Adebayo", "Ng", "Fitzgerald", "Papadopoulos"]


def person(n: int):
    first, last = FIRST[n % len(FIRST)], LAST[n % len(LAST)]
    local = f"{first}.{last}".lower().replace(" ", ".").replace("á", "a")
    return UserFactory(
        email=f"{local}.{n}@research-laboratory.university-of-somewhere.example.org",
        display_name=f"{first} {last}",
        role="researcher" if n % 3 else "developer",
    )


def build_world() -> SimpleNamespace:
    organizer = UserFactory(email=ORGANIZER, display_name="Olga Organizer", timezone="UTC")
    team = TeamFactory(
        owner=organizer, name="Developer Relations: open models programme", slug="devrel"
    )
    # A second team of hers, so the dashboard offers to switch.
    TeamFactory(owner=organizer, name="Research partnerships (Europe, Middle East and Africa)")
    door = UserFactory(email=DOOR, display_name="Dominik Door-Staff", timezone="UTC")
    add_to_team(team, door, role="door")
    reviewer = UserFactory(email=REVIEWER, display_name="Rania Reviewer", timezone="UTC")
    add_to_team(team, reviewer, role="reviewer")
    event = EventFactory(
        title="Evaluating the open-weights model with developers from the community",
        registration_mode="approval",
        team=team,
    )
    for n in range(4):
        EventFactory(title=f"Prototype demo of the agent toolkit {n + 1}", team=team)
    question = ScreeningQuestionFactory(event=event, label="What do you build with open models?")
    now = timezone.now().replace(second=0, microsecond=0)
    session = SessionFactory(
        event=event,
        title="Afternoon roundtable with the research team",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        capacity=30,
        location="Room 4.21, Example Company HQ, 1 Long Street Name Avenue, Berlin",
    )
    later = SessionFactory(event=event, capacity=12)
    people = [person(n) for n in range(40)]
    for n, user in enumerate(people):
        registration = register(
            user=user,
            session=session,
            answers={str(question.pk): "A code assistant for embedded C and a RAG pipeline"},
        )
        if n < 24:
            approve(registration=registration, actor=organizer)
            if n < 10:
                check_in(registration=registration, actor=organizer)
    # On now: check-in is open, and attendance can be corrected.
    Session.objects.filter(pk=session.pk).update(
        starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2)
    )
    Notification.objects.filter(session=session).filter(
        pk__in=Notification.objects.filter(session=session).values("pk")[:2]
    ).update(
        status=Notification.Status.FAILED,
        attempts=5,
        last_error="550 5.1.1 The email account that you tried to reach does not exist.",
    )
    rows = [
        Row(
            line=n + 1,
            email=f"invitee.with-a-long-address.{n}@partner-organisation.example.net",
            name=f"Invitee {FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}",
            note="Met at the conference booth; interested in fine-tuning" if n % 2 else "",
        )
        for n in range(12)
    ]
    invited = invitations.create_batch(
        event=event, session=later, rows=rows, actor=organizer, holds_seat=False
    )
    invitations.revoke(invitation=invited[0], actor=organizer)
    # The team's do-not-contact list: someone who unsubscribed, someone the team blocked.
    for n, reason in enumerate(["unsubscribed", "blocked"]):
        ContactBlock.objects.create(
            team=team,
            email=f"no.more.mail.please.{n}@partner-organisation.example.net",
            reason=reason,
            note="Asked at the booth not to be contacted again" if n else "",
            created_by=organizer if n else None,
        )

    survey = surveys.create_survey(event=event, actor=organizer)
    choice_question = questionnaire.add_question(
        questionnaire=survey.questionnaire,
        label="Which part of the programme was the most useful to you and your team?",
        kind="single",
        choices=[
            "The hands-on session with the research team and the model's authors",
            "The demo",
            "The Q&A about licensing, fine-tuning and deployment on our own hardware",
        ],
    )
    recipients = [
        SurveyRecipient.objects.create(survey=survey, user=user, session=session)
        for user in people[:12]
    ]
    fields = {q.label: questionnaire.field_name(q) for q in survey.questionnaire.questions.all()}
    for recipient in recipients[:5]:
        answer(
            recipient=recipient,
            data={
                fields["Overall, how would you rate this session?"]: "4",
                fields["What should we change or improve?"]: "More hands-on time, please.",
            },
        )

    # Themes over the improvement question: more answers (rows written directly), computed
    # as the background task does, one theme renamed with a long name and pinned.
    improve = survey.questionnaire.questions.get(label="What should we change or improve?")
    for n, text in enumerate(generate(40, seed=3).texts):
        response = Response.objects.create(questionnaire=survey.questionnaire, respondent=f"x{n}")
        Answer.objects.create(response=response, question=improve, text=text)
    theme_set = ThemeSet.objects.create(question=improve, seed=3)
    themes.compute(theme_set.pk)
    theme = Theme.objects.filter(theme_set=theme_set).first()
    themes.rename(
        theme=theme, actor=organizer, name="Installation, disk space and the size of the weights"
    )
    themes.pin(theme=theme, actor=organizer)

    call = open_calls.create_call(
        team=team, actor=organizer, title="The open model: tell us what you need", slug="open-model"
    )
    questionnaire.add_question(
        questionnaire=call.questionnaire,
        label="What would you use it for?",
        kind="single",
        choices=["Agents", "RAG", "Fine-tuning"],
    )
    open_calls.set_status(call=call, actor=organizer, published=True)
    submissions = []
    for n in range(30):
        submitted = open_calls.submit(
            call=call,
            email=f"pool.member.with-long-address.{n}@independent-research.example.org",
            profile={
                "name": f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}",
                "role": "researcher",
                "affiliation": "Institute for Very Long Organisation Names",
            },
            answers={},
        )
        open_calls.confirm(submission=submitted.submission, nonce=submitted.submission.nonce)
        submissions.append(submitted.submission)
    open_calls.set_tags(submission=submissions[0], actor=organizer, names=["shortlist", "gpu"])
    rag = call.questionnaire.questions.get().choices.get(label="RAG")
    call_screening.set_rules(call=call, actor=organizer, effects={rag.pk: "disqualify"})
    call_screening.set_quotas(
        call=call,
        actor=organizer,
        quotas=[{"field": "affiliation", "value": "", "bound": "at_most", "percent": 40}],
    )
    # The team's panel (rows written directly: services.panel builds them in production),
    # more than a page of it, and a saved segment.
    PanelMember.objects.bulk_create(
        PanelMember(
            team=team,
            email=f"panel.member.with-a-long-address.{n}@independent-research.example.org",
            name=f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}",
            role="researcher" if n % 2 else "developer",
            affiliation="Institute for Very Long Organisation Names and Research Partnerships",
            consent=n % 3 != 0,
            attended=n % 3,
            no_shows=n % 5 == 0,
            last_contacted_at=now - timedelta(days=n) if n % 2 else None,
        )
        for n in range(60)
    )
    # Someone the team forgot on request (the forget page lists it).
    PanelErasure.objects.create(team=team, forgotten_by=organizer, rows=37)
    # The funnel's later steps: most of the pool qualified, a dozen of them with a history.
    Submission.objects.filter(call=call).exclude(pk=submissions[-1].pk).update(
        screening="qualified"
    )
    PanelMember.objects.bulk_create(
        PanelMember(
            team=team,
            email=submitted.email,
            role="researcher",
            consent=True,
            calls=[call.pk],
            qualified_calls=[call.pk],
            invitations=1,
            invitations_accepted=n % 2,
            attended=n % 4 == 1,
            surveys_answered=n == 1,
        )
        for n, submitted in enumerate(submissions[:12])
    )
    # One person's page: tags, a mapped answer and a score, besides the call they answered.
    person_row = PanelMember.objects.get(team=team, email=submissions[0].email)
    person_row.tags = ["fine-tuning", "very-important-long-tag-name"]
    person_row.attributes = {"models_used": ["Llama", "Mistral", "A model with a long name"]}
    person_row.review_score = 3.5
    person_row.save()
    segment = Segment.objects.create(
        team=team,
        name="Researchers who never attended and were not contacted in the last month",
        definition=[
            {"field": "role", "op": "in", "value": ["researcher"]},
            {"field": "attended", "op": "eq", "value": 0},
            {"field": "last_contacted_at", "op": "more_than", "value": 30},
        ],
        created_by=organizer,
    )
    # The team's connections to its own tools: a token and a webhook endpoint with long names.
    api_tokens.create_token(
        team=team,
        actor=organizer,
        name="Nightly export to the research data warehouse (read only)",
        scopes=["events:read", "registrations:read", "surveys:read"],
    )
    endpoint = webhooks.create_endpoint(
        team=team,
        actor=organizer,
        url="https://hooks.partner-organisation.example.net/feedback-sessions/incoming/v2",
        event_types=["registration.created", "registration.cancelled", "survey.response"],
        description="CRM sync",
    )
    # The retention log, with every kind of row counted (a long event title among them).
    RetentionLog.objects.create(
        team=team,
        kind=RetentionLog.Kind.EVENT,
        subject="Prototype demo of the new open model for research laboratories (Europe)",
        counts=dict.fromkeys(privacy.KINDS, 1234),
    )
    RetentionLog.objects.create(
        team=team, kind=RetentionLog.Kind.PANEL, counts={"panel_members": 3}
    )
    return SimpleNamespace(
        endpoint=endpoint,
        organizer=organizer,
        event=event,
        session=session,
        registration=Registration.objects.filter(session=session).first(),
        survey_question=survey.questionnaire.questions.first(),
        improve=improve,
        theme=theme,
        choice_question=choice_question,
        screening_question=question,
        call=call,
        submission=submissions[0],
        team=team,
        segment=segment,
        person=person_row,
    )


def organizer_pages(w: SimpleNamespace) -> list[tuple[str, str]]:
    e, s, c = w.event.pk, w.session.pk, w.call.pk
    return [
        ("dashboard", "/manage/"),
        ("dashboard of the team, by its short name", f"/manage/t/{w.team.slug}/"),
        ("new event", "/manage/events/new/"),
        ("event", f"/manage/events/{e}/"),
        ("screening question", f"/manage/questions/{w.screening_question.pk}/edit/"),
        ("edit event", f"/manage/events/{e}/edit/"),
        ("cancel event", f"/manage/events/{e}/cancel/"),
        ("new session", f"/manage/events/{e}/sessions/new/"),
        ("edit session", f"/manage/sessions/{s}/edit/"),
        ("cancel session", f"/manage/sessions/{s}/cancel/"),
        ("registrations", f"/manage/sessions/{s}/registrations/"),
        ("registration", f"/manage/registrations/{w.registration.pk}/"),
        ("messages", f"/manage/sessions/{s}/messages/"),
        ("invitations", f"/manage/events/{e}/invitations/"),
        ("invite", f"/manage/events/{e}/invitations/new/"),
        ("check-in", f"/manage/sessions/{s}/checkin/"),
        ("attendance", f"/manage/sessions/{s}/attendance/"),
        ("event attendance", f"/manage/events/{e}/attendance/"),
        ("survey", f"/manage/events/{e}/survey/"),
        ("survey question", f"/manage/questions/{w.survey_question.pk}/edit/"),
        ("survey choice question", f"/manage/questions/{w.choice_question.pk}/edit/"),
        ("survey preview", f"/manage/events/{e}/survey/preview/"),
        ("survey results", f"/manage/events/{e}/survey/results/"),
        ("survey pending", f"/manage/events/{e}/survey/pending/"),
        ("open calls", "/manage/calls/"),
        ("new open call", "/manage/calls/new/"),
        ("open call", f"/manage/calls/{c}/"),
        ("edit open call", f"/manage/calls/{c}/edit/"),
        ("open call preview", f"/manage/calls/{c}/preview/"),
        ("screening rules", f"/manage/calls/{c}/rules/"),
        ("pool", f"/manage/calls/{c}/pool/"),
        ("pool charts", f"/manage/calls/{c}/results/"),
        ("submission", f"/manage/submissions/{w.submission.pk}/"),
        ("panel", f"/manage/t/{w.team.slug}/panel/"),
        ("panel attributes", f"/manage/t/{w.team.slug}/panel/attributes/"),
        ("panel person", f"/manage/t/{w.team.slug}/panel/{w.person.pk}/"),
        ("forget a panel person", f"/manage/t/{w.team.slug}/panel/{w.person.pk}/forget/"),
        (
            "panel filtered",
            f"/manage/t/{w.team.slug}/panel/?c-0-field=role&c-0-op=in&c-0-value=researcher"
            "&c-1-field=last_contacted_at&c-1-op=more_than&c-1-value=30&add=1",
        ),
        ("segment", f"/manage/segments/{w.segment.pk}/"),
        ("edit segment", f"/manage/segments/{w.segment.pk}/edit/"),
        ("new segment", f"/manage/t/{w.team.slug}/segments/new/"),
        ("delete segment", f"/manage/segments/{w.segment.pk}/delete/"),
        ("do-not-contact", f"/manage/teams/{w.team.slug}/contacts/"),
        ("API tokens", f"/manage/teams/{w.team.slug}/api-tokens/"),
        ("webhooks", f"/manage/teams/{w.team.slug}/webhooks/"),
        ("data retention", f"/manage/teams/{w.team.slug}/retention/"),
        ("event's personal data", f"/manage/events/{e}/data/"),
        ("anonymise an event now", f"/manage/events/{e}/data/anonymise/"),
        ("open call's personal data", f"/manage/calls/{c}/data/"),
        ("a webhook endpoint", f"/manage/teams/{w.team.slug}/webhooks/{w.endpoint.pk}/"),
        ("funnel of the call", f"/manage/calls/{c}/funnel/"),
        ("themes of a survey question", f"/manage/questions/{w.improve.pk}/themes/"),
        ("a theme's answers", f"/manage/themes/{w.theme.pk}/"),
        ("funnel of the team", f"/manage/t/{w.team.slug}/funnel/"),
        ("funnel of a segment", f"/manage/t/{w.team.slug}/funnel/?segment={w.segment.pk}"),
        # The audit log: the world's making (by its services) left entries with long details.
        ("audit log of the team", f"/manage/teams/{w.team.slug}/audit/"),
        ("audit log of the event", f"/manage/events/{e}/audit/"),
        (
            "audit log filtered",
            f"/manage/teams/{w.team.slug}/audit/?action=event&since=2020-01-01",
        ),
    ]


# Measured in the browser: see screen_fit.js.
MEASURE = (Path(__file__).parent / "screen_fit.js").read_text()


@dataclass
class Problems:
    lines: list[str]

    def look(self, tab: Tab, page: str) -> None:
        seen = tab.page.evaluate(MEASURE)
        if seen["pageWidth"] > seen["width"]:
            self.lines.append(
                f"{page}: the page is {seen['pageWidth']} px wide on a {seen['width']} px screen"
            )
        for what in seen["unreachable"]:
            self.lines.append(f"{page}: out of reach: {what}")
        for what in seen["narrow"]:
            self.lines.append(f"{page}: too narrow to read what is typed: {what}")
        for what in seen["broken"]:
            self.lines.append(f"{page}: text broken letter by letter: {what}")
        for what in seen["splitEmails"]:
            self.lines.append(f"{page}: email address split inside a word: {what}")
        if seen["header"] >= HEADER_MAX:
            self.lines.append(f"{page}: the header is {seen['header']} px tall")


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_every_organizer_page_fits_the_screen_with_every_action_in_reach(open_tab, screen):
    world = build_world()
    tab = open_tab("organizer", phone=screen == "phone")
    log_in(tab, email=ORGANIZER, name="Olga Organizer")
    problems = Problems([])
    for name, path in organizer_pages(world):
        tab.visit(path, name)
        problems.look(tab, name)

    # The invitation list checked before sending: a table of long addresses.
    tab.visit(f"/manage/events/{world.event.pk}/invitations/new/", "invite again")
    tab.page.get_by_role("textbox").first.fill(
        "\n".join(
            f"Someone Long-Named {n} <someone.long.named.{n}@far-away-partner.example>"
            for n in range(8)
        )
        + "\nnot an address"
        # Held back by the team's cool-down (invited lately): the override form shows.
        + "\ninvitee.with-a-long-address.3@partner-organisation.example.net"
    )
    tab.click(tab.page.get_by_role("button", name="Check the list"), "invite preview")
    problems.look(tab, "invite preview")

    # The owner's other team, one tap away on the dashboard.
    tab.visit("/manage/", "dashboard again")
    other = "Research partnerships (Europe, Middle East and Africa)"
    tab.click(
        tab.page.get_by_role("navigation", name="Your teams").get_by_role("link", name=other),
        "other team",
    )
    expect(tab.page.get_by_role("heading", level=1)).to_have_text(other)
    problems.look(tab, "the other team's dashboard")

    # Door staff on their phone: their sessions to check in, and a tap to the one on now.
    door = open_tab("door staff", phone=screen == "phone")
    log_in(door, email=DOOR, name="Dominik Door-Staff")
    door.visit("/manage/", "dashboard")
    problems.look(door, "door staff's dashboard")
    door.click(door.page.get_by_role("link", name="Check in").first, "check-in")
    assert door.page.url.endswith(f"/manage/sessions/{world.session.pk}/checkin/")
    problems.look(door, "door staff's check-in")

    # Reviewers: a dashboard with no events table, and the pool they score.
    reviewer = open_tab("reviewer", phone=screen == "phone")
    log_in(reviewer, email=REVIEWER, name="Rania Reviewer")
    reviewer.visit("/manage/", "dashboard")
    expect(reviewer.page.locator("table")).to_have_count(0)
    problems.look(reviewer, "reviewer's dashboard")
    for name, path in [
        ("pool", f"/manage/calls/{world.call.pk}/pool/"),
        ("screening rules", f"/manage/calls/{world.call.pk}/rules/"),
        ("submission", f"/manage/submissions/{world.submission.pk}/"),
        ("panel", f"/manage/t/{world.team.slug}/panel/"),
        ("segment", f"/manage/segments/{world.segment.pk}/"),
        ("funnel", f"/manage/calls/{world.call.pk}/funnel/"),
    ]:
        reviewer.visit(path, name)
        problems.look(reviewer, f"reviewer's {name}")

    assert not problems.lines, "\n".join(problems.lines)


def test_the_header_is_one_row_on_a_phone_and_its_menu_opens_by_keyboard(open_tab):
    organizer = OrganizerFactory(email=ORGANIZER, display_name="Olga Organizer Long-Surname")
    (team,) = organizer.teams.all()
    tab = open_tab("organizer", phone=True)
    log_in(tab, email=ORGANIZER, name="Olga Organizer Long-Surname")
    tab.visit("/manage/", "dashboard")
    page = tab.page
    header = page.locator(".site-header")
    assert header.bounding_box()["height"] < HEADER_MAX
    organize = page.get_by_role("link", name="Organize", exact=True)
    expect(organize).to_be_hidden()  # folded away

    menu = page.get_by_role("navigation", name="Main").locator("summary")
    tab.tab_to(menu)
    page.keyboard.press("Enter")
    expect(organize).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=tab.journey.next_shot("organizer", "menu open"), full_page=True)
    tab.tab_to(organize, most=3)
    assert tab.focus_is_visible()
    tab.press("Enter", "dashboard from the menu")
    expect(page.get_by_role("heading", level=1)).to_have_text(team.name)

    # The menu folds again with the keyboard (Enter on "Menu", or Escape from inside it, which
    # gives the focus back to "Menu"), and with a tap elsewhere.
    tab.tab_to(menu)
    page.keyboard.press("Enter")
    expect(organize).to_be_visible()
    page.keyboard.press("Enter")
    expect(organize).to_be_hidden()
    page.keyboard.press("Enter")
    tab.tab_to(organize, most=3)
    page.keyboard.press("Escape")
    expect(organize).to_be_hidden()
    assert menu.evaluate("summary => summary === document.activeElement")
    menu.click()
    expect(organize).to_be_visible()
    page.mouse.click(10, 500)  # the page's left margin, beside the open menu
    expect(organize).to_be_hidden()
    assert header.bounding_box()["height"] < HEADER_MAX
