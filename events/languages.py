"""The languages an event can have its own version in: every language of the site but its
source one (settings.LANGUAGES less LANGUAGE_CODE), named as the reader says them."""

from django.conf import settings
from django.utils.translation import get_language, get_language_info


def version_languages() -> list[str]:
    """The codes of the languages an event's title and description may be given in."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def language_name(code: str) -> str:
    """`code`'s name in the active language: "French" to an English reader, "français" to a
    French one (its own name, which French writes in lower case inside a sentence)."""
    info = get_language_info(code)
    if (get_language() or "").split("-")[0] == code:
        return str(info["name_local"])
    return str(info["name_translated"])
