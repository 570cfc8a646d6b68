"""The French catalogue is complete, reviewed and compiled: CI fails otherwise.

`make messages` collects every marked string; a string marked in the code but missing from the
committed catalogue, left untranslated, or still fuzzy (msgmerge's guess, never reviewed) fails
here, as does a committed .mo that is older than its .po (a deployment reads the .mo).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LOCALES = sorted(p.name for p in (ROOT / "locale").iterdir() if (p / "LC_MESSAGES").is_dir())
DOMAINS = ("django", "djangojs")
# What `make messages` reads, and the folders it leaves out.
SOURCES = ["accounts", "config", "events", "templates", "static", "locale", "manage.py"]
IGNORED = [".venv/*", "bench/*", "tests/*", "var/*", "artifacts/*", "docs/*", "node_modules/*"]

needs_gettext = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgfmt") is None,
    reason="GNU gettext (xgettext, msgfmt) is not installed: apt-get install gettext",
)


def key(entry: polib.POEntry) -> tuple[str | None, str]:
    return (entry.msgctxt, entry.msgid)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    """The catalogues as `make messages` would write them now, from the code as it is, in a
    copy of the project: the committed files are the starting point (so their translations
    are kept) and are not touched."""
    if shutil.which("xgettext") is None:
        pytest.skip("GNU gettext (xgettext) is not installed: apt-get install gettext")
    copy = tmp_path_factory.mktemp("project")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, copy / name)
    for domain in DOMAINS:
        ignored = [*IGNORED, *(["static/vendor/*"] if domain != "django" else [])]
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-a", "-d", domain, "--no-obsolete"]
            + [arg for pattern in ignored for arg in ("-i", pattern)],
            cwd=copy,
            check=True,
            capture_output=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        )
    return copy / "locale"


@needs_gettext
@pytest.mark.parametrize("locale", [code for code in LOCALES if code != "en"])
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_marked_string_is_in_the_committed_catalogue_and_translated(
    extracted: Path, locale: str, domain: str
) -> None:
    fresh_path = extracted / locale / "LC_MESSAGES" / f"{domain}.po"
    committed_path = ROOT / "locale" / locale / "LC_MESSAGES" / f"{domain}.po"
    if not fresh_path.exists():
        assert not committed_path.exists() or not polib.pofile(str(committed_path))
        return
    fresh = polib.pofile(str(fresh_path))
    assert committed_path.exists(), f"run `make messages`: {committed_path} is missing"
    committed = {key(e) for e in polib.pofile(str(committed_path)) if not e.obsolete}
    new = sorted(e.msgid for e in fresh if not e.obsolete and key(e) not in committed)
    assert not new, f"marked but not in {committed_path.name} (run `make messages`): {new[:10]}"
    untranslated = [e.msgid for e in fresh.untranslated_entries()]
    fuzzy = [e.msgid for e in fresh.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} without a translation: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy (review, then drop the flag): {fuzzy[:10]}"


@needs_gettext
@pytest.mark.parametrize("locale", [code for code in LOCALES if code != "en"])
@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_catalogue_compiles_and_its_mo_is_current(
    locale: str, domain: str, tmp_path: Path
) -> None:
    po_path = ROOT / "locale" / locale / "LC_MESSAGES" / f"{domain}.po"
    if not po_path.exists():
        return
    mo_path = po_path.with_suffix(".mo")
    built = tmp_path / f"{domain}.mo"
    # msgfmt --check: placeholders of each translation match its msgid's, headers are sound.
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(built), str(po_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    assert mo_path.exists(), f"run `make translations`: {mo_path} is missing"
    as_committed = {
        (e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural for e in polib.mofile(str(mo_path))
    }
    as_built = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural for e in polib.mofile(str(built))}
    assert as_committed == as_built, f"{mo_path} is older than its .po: run `make translations`"


def test_french_is_offered_because_its_catalogue_is_there() -> None:
    """A language is a catalogue: the one committed for French makes it a choice."""
    assert ("fr", "français") in settings.LANGUAGES
    assert settings.LANGUAGES[0] == ("en", "English")
