"""allauth's own mail goes through the outbox: the request writes a row and answers, a mail
worker sends it once over SMTP, in the recipient's language, with a Message-ID from the key;
a stalled relay never holds up a sign-up; the one-time links leave the row once sent and do
not reach the logs; the rows leave the outbox with the account, and soon after sending."""

import json
import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from config.logs import redact
from events.messages import accounts as account_messages
from events.models import Notification
from events.outbox import rendering, tasks
from tests.celery_worker import wait_for
from tests.factories import PASSWORD, UserFactory
from tests.notifications.conftest import point_django_at
from tests.notifications.helpers import deliver_pending
from tests.notifications.smtp import ScriptedSMTPServer

Kind, Status = Notification.Kind, Notification.Status
SIGNUP = reverse("account_signup")
RESET = reverse("account_reset_password")


def signup(client: Client, email: str):
    return client.post(SIGNUP, {"email": email, "password1": PASSWORD, "password2": PASSWORD})


def link_in(mailbox, message, fragment: str) -> str:
    [link] = [u for u in mailbox.links(message) if fragment in u]
    return link


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


@pytest.mark.django_db
def test_a_sign_up_owes_its_confirmation_and_sends_nothing_itself(smtp):
    response = signup(Client(), "new.dev@example.com")

    assert response.status_code == 302
    assert smtp.messages == []
    [row] = Notification.objects.filter(kind=Kind.ACCOUNT)
    assert (row.email, row.status) == ("new.dev@example.com", Status.PENDING)
    assert row.recipient == User.objects.get(email="new.dev@example.com")
    assert row.key.startswith("account:email_confirmation_signup:")


@pytest.mark.django_db
def test_the_confirmation_arrives_in_the_recipients_language_with_the_keys_message_id(smtp):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    signup(client, "marie@example.com")
    row = Notification.objects.get(kind=Kind.ACCOUNT)

    deliver_pending()

    [message] = smtp.to("marie@example.com")
    assert message["Subject"] == "[Feedback Sessions] Confirmez votre adresse e-mail"
    assert message["Message-ID"] == rendering.message_id(row.key)
    assert "Feedback Sessions" in smtp.text(message)  # "Bonjour de la part de ..."
    html = message.get_body(preferencelist=("html",)).get_content()
    link = link_in(smtp, message, "/accounts/confirm-email/")
    assert f'href="{link}"' in html
    # The link works: the page, then its button, verifies the address.
    assert client.post(path_of(link)).status_code == 302
    assert User.objects.get(email="marie@example.com").emailaddress_set.get().verified


@pytest.mark.django_db
def test_markup_in_a_display_name_reaches_the_html_part_as_text_not_as_a_link(client_for, smtp):
    # The display name (the profile's, or GitHub's) is the "from" of a confirmation mail sent
    # to any address its owner adds: a link in it must not become a live link there.
    evil = "<a href='//evil.example/login'>Confirm here</a>"
    client = client_for(UserFactory(display_name=evil))
    client.post(reverse("account_email"), {"email": "victim@example.com", "action_add": ""})

    deliver_pending()

    [message] = smtp.to("victim@example.com")
    html = message.get_body(preferencelist=("html",)).get_content()
    assert evil not in html
    assert "evil.example" not in html.replace("&lt;a href=&#x27;//evil.example/login", "")
    assert "&lt;a href=&#x27;//evil.example/login&#x27;&gt;Confirm here&lt;/a&gt;" in html
    assert evil in smtp.text(message)  # the text part says what it was, as text
    # The confirmation link is still a link.
    link = link_in(smtp, message, "/accounts/confirm-email/")
    assert f'href="{link}"' in html


@pytest.mark.django_db
def test_a_password_reset_arrives_and_its_link_sets_the_password(smtp):
    UserFactory(email="known@example.com")
    client = Client()

    assert client.post(RESET, {"email": "known@example.com"}).status_code == 302
    assert smtp.messages == []
    deliver_pending()

    [message] = smtp.to("known@example.com")
    link = link_in(smtp, message, "/accounts/password/reset/key/")
    form = client.get(path_of(link), follow=True)
    new = "a-brand-new-passphrase-42"
    done = client.post(form.redirect_chain[-1][0], {"password1": new, "password2": new})
    assert done.status_code == 302
    assert User.objects.get(email="known@example.com").check_password(new)


def queries_owing_account_mail(monkeypatch) -> list[list[str]]:
    """The SQL each call of owe_account_mail runs, one list per call."""
    runs: list[list[str]] = []
    owe = accounts.owe_account_mail

    def counted(**kwargs):
        with CaptureQueriesContext(connection) as queries:
            result = owe(**kwargs)
        runs.append([q["sql"] for q in queries.captured_queries])
        return result

    monkeypatch.setattr(accounts, "owe_account_mail", counted)
    return runs


def shape(sql: str) -> str:
    """A statement without its values (addresses, keys, times) or savepoints' names."""
    return re.sub(r"'[^']*'|\b\d+\b|\"s\w+_x\w+\"", "?", sql)


@pytest.mark.django_db
def test_both_branches_of_sign_up_and_of_reset_do_the_same_work_owing_their_mail(monkeypatch, smtp):
    # The branch that names no account ("it already exists", "no account with this address")
    # used to be the only one to look the address up, by a scan of every account: at 200,000
    # accounts the answer took 190 ms longer and told which addresses have one.
    runs = queries_owing_account_mail(monkeypatch)
    UserFactory(email="taken@example.com")

    signup(Client(), "taken@example.com")
    signup(Client(), "fresh@example.com")
    Client().post(RESET, {"email": "taken@example.com"})
    Client().post(RESET, {"email": "nobody@example.com"})

    known_signup, new_signup, known_reset, unknown_reset = runs
    assert len(known_signup) == len(new_signup)
    assert [shape(q) for q in known_signup] == [shape(q) for q in new_signup]
    assert len(known_reset) == len(unknown_reset)
    assert [shape(q) for q in known_reset] == [shape(q) for q in unknown_reset]
    # The lookup is on indexed expressions: LOWER(email), the accounts' unique constraint,
    # and the address itself, which allauth keeps in lower case and indexes.
    [lookup] = [q for q in new_signup if 'FROM "accounts_user"' in q]
    assert 'LOWER("accounts_user"."email")' in lookup
    assert 'FROM "account_emailaddress" U0 WHERE U0."email" = ' in lookup
    assert "JOIN" not in lookup


@pytest.mark.django_db
def test_looking_up_the_account_of_an_address_scans_no_table(monkeypatch):
    from allauth.account.models import EmailAddress

    people = User.objects.bulk_create(
        User(email=f"person{i}@example.com", password="!") for i in range(5000)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=p, email=f"other{p.pk}@example.com") for p in people
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("ANALYZE account_emailaddress")
    runs = queries_owing_account_mail(monkeypatch)
    accounts.owe_account_mail(
        template="account/email/unknown_account", email="Nobody@Example.com", context={}
    )

    [lookup] = [q for q in runs[0] if 'FROM "accounts_user"' in q]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {lookup}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Each table is entered by the index on the expression compared, with nothing left to
    # filter row by row (a walk of a whole index, filtered, is a scan too).
    assert "Seq Scan" not in plan, plan
    assert "Filter:" not in plan, plan
    assert "user_email_ci_unique" in plan, plan
    assert "account_emailaddress_email" in plan, plan
    assert accounts._account_of("PERSON7@example.com") == people[7]
    assert accounts._account_of(f"other{people[9].pk}@EXAMPLE.com") == people[9]


@pytest.mark.django_db
def test_the_mail_is_sent_once_when_its_task_runs_twice(smtp):
    signup(Client(), "twice@example.com")
    row = Notification.objects.get(kind=Kind.ACCOUNT)

    first = tasks.deliver_notification.apply(args=[row.pk]).get()
    second = tasks.deliver_notification.apply(args=[row.pk]).get()
    tasks.deliver_pending.apply().get()  # the doorbell's drain finds nothing left either

    assert (first, second) == (True, False)
    assert len(smtp.to("twice@example.com")) == 1


@pytest.mark.django_db
def test_a_sent_message_keeps_no_link_and_its_links_never_reach_a_log_line(smtp):
    UserFactory(email="known@example.com")
    Client().post(RESET, {"email": "known@example.com"})
    signup(Client(), "new.dev@example.com")
    rows = list(Notification.objects.filter(kind=Kind.ACCOUNT))
    owed = [json.dumps(row.payload) for row in rows]

    deliver_pending()

    reset = link_in(smtp, smtp.to("known@example.com")[0], "/password/reset/key/")
    confirm = link_in(smtp, smtp.to("new.dev@example.com")[0], "/confirm-email/")
    segments = [path_of(link).rstrip("/").rpartition("/")[2] for link in (reset, confirm)]
    # The reset link's segment is "<user id>-<key>": the key alone is the secret too.
    secrets = [*segments, segments[0].partition("-")[2]]
    for secret in secrets:
        assert len(secret) > 10
        # A line quoting a row's payload while it is owed (a SQL statement, an error) is
        # redacted: the secret is only ever inside its link.
        assert any(secret in payload for payload in owed)
        assert all(secret not in redact(payload) for payload in owed)
        for row in rows:
            row.refresh_from_db()
            assert row.status == Status.SENT
            assert secret not in json.dumps(row.payload)


@pytest.mark.django_db
def test_staff_who_may_view_the_outbox_do_not_see_the_links_of_account_mail(client_for):
    from django.contrib.auth.models import Permission

    UserFactory(email="known@example.com")
    Client().post(RESET, {"email": "known@example.com"})
    row = Notification.objects.get(kind=Kind.ACCOUNT)
    link = row.payload[account_messages.VALUES]["password_reset_url"]
    assert "/accounts/password/reset/key/" in link
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client = client_for(staff)

    page = client.get(reverse("admin:events_notification_change", args=[row.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "known@example.com" in text
    assert link not in text and "/accounts/password/reset/key/" not in text
    assert "password_reset_url" in text and "[hidden]" in text
    assert (
        "/accounts/password/reset/key/"
        not in client.get(reverse("admin:events_notification_changelist")).content.decode()
    )


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_while_sending_leaves_the_row_to_the_new_holder(
    monkeypatch, smtp
):
    from events.outbox import delivery

    UserFactory(email="known@example.com")
    Client().post(RESET, {"email": "known@example.com"})
    row = Notification.objects.get(kind=Kind.ACCOUNT)
    send = delivery._send

    def stalled_past_its_lease(message, connection=None):
        send(message, connection)
        # Meanwhile the sweep took the row back and another worker claimed it.
        Notification.objects.filter(pk=row.pk).update(lease_token="another-worker")

    monkeypatch.setattr(delivery, "_send", stalled_past_its_lease)

    deliver_pending()

    row.refresh_from_db()
    assert len(smtp.to("known@example.com")) == 1
    assert (row.status, row.lease_token) == (Status.SENDING, "another-worker")
    # The new holder's copy still has what it needs to send: its links were not dropped.
    assert "password_reset_url" in row.payload[account_messages.VALUES]


@pytest.mark.django_db
def test_a_message_whose_links_expired_before_a_worker_got_to_it_is_skipped(smtp):
    signup(Client(), "late@example.com")
    row = Notification.objects.get(kind=Kind.ACCOUNT)
    Notification.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - account_messages.link_lifetime() - timedelta(minutes=1)
    )

    deliver_pending()

    row.refresh_from_db()
    assert (row.status, row.last_error) == (Status.SKIPPED, "Its links have expired.")
    assert smtp.messages == []


def a_reset_and_a_confirmation_two_hours_old(settings) -> tuple[Notification, Notification]:
    settings.PASSWORD_RESET_TIMEOUT = 3600  # an hour; a confirmation's link lasts days
    UserFactory(email="known@example.com")
    Client().post(RESET, {"email": "known@example.com"})
    signup(Client(), "new@example.com")
    reset = Notification.objects.get(email="known@example.com")
    confirmation = Notification.objects.get(email="new@example.com")
    assert reset.key.startswith("account:password_reset_key:")
    assert confirmation.key.startswith("account:email_confirmation_signup:")
    Notification.objects.filter(kind=Kind.ACCOUNT).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    return reset, confirmation


@pytest.mark.django_db
def test_each_account_message_expires_with_its_own_links(settings, smtp):
    reset, confirmation = a_reset_and_a_confirmation_two_hours_old(settings)

    deliver_pending()

    reset.refresh_from_db()
    confirmation.refresh_from_db()
    assert (reset.status, reset.last_error) == (Status.SKIPPED, "Its links have expired.")
    assert confirmation.status == Status.SENT
    assert smtp.to("known@example.com") == [] and len(smtp.to("new@example.com")) == 1


@pytest.mark.django_db
def test_an_unsent_reset_leaves_the_outbox_once_its_own_link_expired(settings):
    _, confirmation = a_reset_and_a_confirmation_two_hours_old(settings)

    assert accounts.purge_account_mail() == 1

    assert list(Notification.objects.filter(kind=Kind.ACCOUNT)) == [confirmation]


@pytest.mark.django_db
def test_account_mail_leaves_the_outbox_once_sent_or_once_its_links_expired(smtp):
    signup(Client(), "sent@example.com")
    deliver_pending()
    signup(Client(), "pending@example.com")
    signup(Client(), "stuck@example.com")
    stuck = Notification.objects.get(email="stuck@example.com")
    Notification.objects.filter(pk=stuck.pk).update(status=Status.FAILED)

    assert accounts.purge_account_mail() == 1  # the sent one
    later = timezone.now() + account_messages.link_lifetime() + timedelta(minutes=1)
    assert accounts.purge_account_mail(now=later) == 2
    assert not Notification.objects.filter(kind=Kind.ACCOUNT).exists()


@pytest.mark.django_db
def test_deleting_the_account_takes_its_account_mail_along(client_for, smtp):
    user = UserFactory(email="leaving@example.com")
    Client().post(RESET, {"email": "leaving@example.com"})
    assert Notification.objects.filter(kind=Kind.ACCOUNT, recipient=user).exists()

    response = client_for(user).post(reverse("accounts:delete"), {"confirmation": PASSWORD})

    assert response.status_code == 302
    assert not Notification.objects.filter(email="leaving@example.com").exists()


@pytest.mark.django_db
def test_the_metrics_count_account_mail_owed(settings):
    from tests.monitoring.helpers import TOKEN, scrape, value

    settings.METRICS_TOKEN = TOKEN
    signup(Client(), "counted@example.com")

    assert value(scrape(), "feedback_outbox_pending_messages", kind="account") == 1


# --- a real worker, a real relay ---------------------------------------------------------


@pytest.fixture
def relay(settings):
    with ScriptedSMTPServer() as server:
        point_django_at(settings, server.port)
        yield server.mailbox


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_stalled_relay_does_not_hold_up_sign_up_and_the_mail_arrives_once_it_recovers(
    settings, worker, relay
):
    settings.EMAIL_TIMEOUT = None  # a relay that stalls, not one that fails fast
    relay.hold = threading.Event()
    answered = {}

    def sign_up() -> None:
        try:
            answered["response"] = signup(Client(), "patient@example.com")
        finally:
            connection.close()  # this thread's own

    thread = threading.Thread(target=sign_up)
    thread.start()
    # The worker reaches the relay and stalls there, whoever gets there first.
    assert relay.arrived.wait(20), "the worker never reached the relay"
    thread.join(timeout=20)
    try:
        # The sign-up answered while the relay holds every message.
        assert not thread.is_alive(), "the sign-up waited for the relay"
        assert not relay.hold.is_set()
        assert answered["response"].status_code == 302
        assert relay.messages == []
    finally:
        relay.hold.set()

    row = wait_for(
        lambda: Notification.objects.filter(kind=Kind.ACCOUNT, status=Status.SENT).first()
    )
    [message] = relay.to("patient@example.com")
    assert message["Message-ID"] == rendering.message_id(row.key)
    assert "/accounts/confirm-email/" in relay.text(message)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_a_password_reset_once(worker, relay):
    UserFactory(email="known@example.com")

    assert Client().post(RESET, {"email": "known@example.com"}).status_code == 302

    wait_for(lambda: Notification.objects.filter(kind=Kind.ACCOUNT, status=Status.SENT).exists())
    [message] = relay.to("known@example.com")
    assert "/accounts/password/reset/key/" in relay.text(message)


@pytest.mark.django_db(transaction=True)
def test_a_sign_up_whose_mail_cannot_be_owed_creates_no_account(monkeypatch):
    """The account and the row owing its confirmation commit together: an account nobody
    could confirm is never left behind."""

    def broken(**kwargs):
        raise RuntimeError("the outbox row could not be written")

    monkeypatch.setattr(accounts, "owe_account_mail", broken)

    with pytest.raises(RuntimeError):
        signup(Client(), "half@example.com")

    assert not User.objects.filter(email="half@example.com").exists()
    assert reverse("account_signup") == "/accounts/signup/"
