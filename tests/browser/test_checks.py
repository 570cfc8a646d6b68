"""The journeys' own checks can see a problem: a page with a serious accessibility fault fails
with a message that says what and where, and a page loaded without a check fails the test."""

import pytest

from .tabs import Journey, Tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def journey(tmp_path) -> Journey:
    return Journey(tmp_path)  # these pages are not worth keeping as CI artifacts


def test_a_form_field_without_a_label_fails_with_the_rule_and_the_element(open_tab):
    tab = open_tab("visitor")
    tab.visit("/accounts/login/", "log-in form")
    tab.page.evaluate(
        "document.querySelector('label[for=id_login]').remove();"
        "document.querySelector('#id_login').removeAttribute('placeholder')"
    )

    with pytest.raises(AssertionError) as failure:
        tab.check("log-in form without a label")

    report = str(failure.value)
    assert "on the 'log-in form without a label' page" in report
    assert "- label (critical): Form elements must have labels" in report
    assert "* #id_login" in report
    assert '<input type="email" name="login"' in report


def test_a_page_loaded_but_never_checked_fails_the_journey(browser, live_server, journey):
    context = browser.new_context()
    tab = Tab(context.new_page(), "visitor", live_server.url, journey)
    tab.visit("/", "home")
    tab.page.goto(f"{live_server.url}/accounts/login/")  # no check
    tab.visit("/accounts/signup/", "sign-up form")

    with pytest.raises(AssertionError, match="accounts/login/"):
        tab.close()
