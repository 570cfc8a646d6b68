"""A person's browser tab in the journeys: every page it loads is looked at the way a person
(and a screen reader) would meet it. `Tab.check` runs axe-core on the page, fails on any
serious or critical violation with a readable list of what to fix, and saves a screenshot under
artifacts/screenshots/<journey>/; a page the journey loaded but did not check fails the test
when the tab closes, so no page is left out by accident.

A new journey needs only `open_tab` (tests/browser/conftest.py) and these verbs:

    tab = open_tab("attendee")
    tab.visit(link_from_mail, "survey")          # goto + check
    tab.click(tab.page.get_by_role("button", name="Send"), "survey sent")   # click + check
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Locator, Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
FAILING_IMPACTS = ("critical", "serious")

AXE = Axe()  # reads the axe.min.js bundled in the wheel once; nothing comes from the network


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def axe_report(page_name: str, url: str, violations: list[dict]) -> str:
    """What axe found, in the words a person fixing the template needs: rule, impact, what it
    means, where to read more, and each failing element with its HTML and the reason."""
    lines = [
        f"{len(violations)} serious or critical accessibility violation(s) on the "
        f"{page_name!r} page ({url}):"
    ]
    for violation in violations:
        lines.append(
            f"\n- {violation['id']} ({violation['impact']}): {violation['help']}\n"
            f"  {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            html = re.sub(r"\s+", " ", node["html"])[:300]
            lines.append(f"  * {target}\n    {html}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


@dataclass
class Journey:
    """What the tabs of one test share: its screenshot folder and the running shot number, so
    the files sort in the order the journey happened, across people."""

    folder: Path
    shots: int = 0

    def next_shot(self, who: str, name: str) -> Path:
        self.shots += 1
        return self.folder / f"{self.shots:02d}-{slug(who)}-{slug(name)}.png"


@dataclass
class Tab:
    page: Page
    who: str
    base_url: str
    journey: Journey
    loads: list[str] = field(default_factory=list)  # every document loaded, in order
    checked: int = 0  # how many of them have been checked
    unchecked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # script errors
    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, where)

    def __post_init__(self) -> None:
        self.page.on("load", self._loaded)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    # What a person does

    def visit(self, path_or_url: str, name: str) -> Page:
        """Type an address (or follow a link from a mail), then look at the page."""
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        self.page.goto(url)
        self.check(name)
        return self.page

    def click(self, target: Locator, name: str) -> None:
        """Click something that loads another page, then look at that page."""
        self.then(target.click, name)

    def press(self, key: str, name: str) -> None:
        """Press a key (Enter on a focused link or button) that loads another page."""
        self.then(lambda: self.page.keyboard.press(key), name)

    def then(self, action: Callable[[], object], name: str) -> None:
        with self.page.expect_navigation():
            action()
        self.check(name)

    def tab_to(self, target: Locator, *, most: int = 60) -> list[str]:
        """Press Tab until `target` has the focus, as a keyboard user would; fail (listing the
        focus order) if it never does. Returns the names of the stops on the way."""
        stops: list[str] = []
        for _ in range(most):
            self.page.keyboard.press("Tab")
            stops.append(self.page.evaluate(FOCUSED_NAME))
            if target.evaluate("element => element === document.activeElement"):
                return stops
        raise AssertionError(f"{most} presses of Tab never reached {target}; stops: {stops}")

    def focus_is_visible(self) -> bool:
        """The focused element draws a focus ring (our :focus-visible outline)."""
        return self.page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
        )

    def fits_the_screen(self) -> bool:
        """No sideways scrolling: nothing is wider than the viewport."""
        return self.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    # Looking at the page

    def check(self, name: str) -> None:
        """Run axe on the page as it is now and save a screenshot of all of it."""
        self.page.wait_for_load_state("load")
        self.page.screenshot(path=self.journey.next_shot(self.who, name), full_page=True)
        results = AXE.run(self.page).response
        serious = [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]
        # Everything loaded so far (the load event of this page included: the evaluate calls
        # above let it through) has now been looked at.
        self.checked = len(self.loads)
        if serious:
            raise AssertionError(axe_report(name, self.page.url, serious))

    def close(self) -> None:
        """Fail for pages loaded but never checked, script errors and blocked resources."""
        self.page.context.close()
        missed = self.unchecked + self.loads[self.checked :]
        assert not missed, f"{self.who} loaded pages nobody checked with axe: {missed}"
        # A page answered with 400 (a form with errors) is logged as a failed load of the
        # document itself: that is the page the person sees, not a broken resource. Anything
        # else (a blocked script or style, a missing asset) is.
        problems = self.problems + [
            f"{text} ({where})"
            for text, where in self.console_errors
            if not (text.startswith("Failed to load resource") and where in self.loads)
        ]
        assert not problems, f"{self.who}'s browser reported: {problems}"

    # Events

    def _loaded(self, page: Page) -> None:
        self.unchecked.extend(self.loads[self.checked :])  # the page before went unchecked
        self.loads.append(page.url)
        self.checked = len(self.loads) - 1

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append((message.text, message.location.get("url", "")))


FOCUSED_NAME = """() => {
  const e = document.activeElement;
  return (e.getAttribute('aria-label') || e.innerText || e.value || e.id || e.tagName).trim();
}"""
