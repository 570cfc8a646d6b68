"""The API reference renders in a real browser under the site's CSP: no asset from
elsewhere, nothing blocked, every operation listed."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_reference_page_shows_the_operations_with_nothing_blocked(browser, live_server):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/registrations/" in p for p in paths)
    assert problems == []
    assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requests)
    page.close()
