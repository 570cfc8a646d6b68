"""Browser journeys: Playwright drives Debian's chromium against the live test server.

`open_tab("who")` gives a fresh browser (its own cookies) for one person of the journey; every
tab is closed and judged at the end of the test (see tabs.Tab.close)."""

import shutil

import pytest

from .tabs import SCREENSHOTS, Journey, Tab, slug

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def journey(request) -> Journey:
    folder = SCREENSHOTS / slug(request.node.name.removeprefix("test_"))
    shutil.rmtree(folder, ignore_errors=True)  # no stale shots from an earlier run
    folder.mkdir(parents=True)
    return Journey(folder)


@pytest.fixture
def open_tab(request, browser, live_server, journey):
    tabs: list[Tab] = []
    failed_before = request.session.testsfailed

    def open_tab(who: str, *, phone: bool = False, locale: str = "en-US") -> Tab:
        # The locale is what the browser's Accept-Language asks for.
        context = browser.new_context(**(PHONE if phone else DESKTOP), locale=locale)
        tab = Tab(context.new_page(), who, live_server.url, journey)
        tabs.append(tab)
        return tab

    yield open_tab
    if request.session.testsfailed > failed_before:
        # The test has failed already: its own error says what went wrong; a list of pages
        # left unchecked after it stopped half way would only hide it.
        for tab in tabs:
            tab.page.context.close()
        return
    for tab in tabs:
        tab.close()
