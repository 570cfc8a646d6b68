"""Steps several journeys share, done through the pages as a person would."""

import re

from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.mail import Mailbox
from tests.notifications.helpers import deliver_pending

from .tabs import Tab


def sign_up(tab: Tab, mailbox: Mailbox, *, email: str, name: str) -> None:
    """Create an account from the home page and verify the address with the link from the mail
    the SMTP server received; ends logged in."""
    tab.visit("/", "home")
    open_menu(tab)
    tab.click(tab.page.get_by_role("link", name="Sign up"), "sign-up form")
    page = tab.page
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    tab.click(page.get_by_role("button", name="Sign up"), "verify your email")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Verify", re.I))

    link = confirmation_link(mailbox, email)
    tab.visit(link, "confirm email")
    # Opening the link shows a page (mail scanners open links); the button confirms.
    tab.click(page.get_by_role("button", name="Confirm"), "confirmed")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(name)


def confirmation_link(mailbox: Mailbox, email: str) -> str:
    deliver_pending()  # what the mail worker does: allauth's mail goes through the outbox
    [message] = mailbox.to(email)
    [link] = [url for url in mailbox.links(message) if "/accounts/confirm-email/" in url]
    return link


def log_in(tab: Tab, *, email: str, name: str) -> None:
    tab.visit("/", "home")
    open_menu(tab)
    tab.click(tab.page.get_by_role("link", name="Log in"), "log-in form")
    tab.page.get_by_label("Email").fill(email)
    tab.page.get_by_label("Password:", exact=True).fill(PASSWORD)
    tab.click(tab.page.get_by_role("button", name="Log in"), "logged in")
    expect(tab.page.get_by_role("navigation", name="Main")).to_contain_text(name)


def open_menu(tab: Tab) -> None:
    """On a phone the site's links are folded into the header's menu: open it (a tap on
    "Menu"), as a person would before following one. On a wide screen there is nothing to do."""
    menu = tab.page.get_by_role("navigation", name="Main").locator("summary")
    folded = menu.count() and menu.is_visible()
    if folded and not menu.evaluate("summary => summary.parentElement.open"):
        menu.click()
