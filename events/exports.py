"""CSV exports shared by the organizer pages: cells a spreadsheet will not run, and a
streamed response for exports of any length."""

import csv
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import dateformat, timezone, translation
from django.utils.translation import pgettext

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote
    (OWASP's advice against CSV injection)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_time(value: datetime | None, viewer: tzinfo) -> str:
    """A moment in the viewer's zone, as the active language writes a date in a table
    ("" for none)."""
    if value is None:
        return ""
    # Translators: a Django date format (docs.djangoproject.com/en/5.2/ref/templates/builtins/#date)
    # for times in CSV exports: English "2026-12-08 15:00 CET"; French writes "d/m/Y H:i T".
    return dateformat.format(timezone.localtime(value, viewer), pgettext("csv date", "Y-m-d H:i T"))


def yes_no(value: bool) -> str:
    return pgettext("csv cell", "yes") if value else pgettext("csv cell", "no")


class Echo:
    """A file-like object csv.writer writes into, returning each line instead of keeping it."""

    def write(self, value: str) -> str:
        return value


CSV_BLOCK = 1 << 16


def stream_csv(rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    """Stream any questionnaire's export (the engine's `csv_rows`): times in the viewer's
    zone, booleans as yes/no, every cell safe from formula injection. Rows go out in blocks
    of about 64 KiB: one write to the socket per block rather than per row, and memory holds
    one block at most, however many responses."""
    writer = csv.writer(Echo())
    viewer = timezone.get_current_timezone()
    # The rows are made while the response streams, after the view has returned: in the
    # language of the request, whatever the thread's language is by then.
    language = translation.get_language()

    def cell(value) -> str:
        if hasattr(value, "tzinfo"):
            return csv_time(value, viewer)
        if isinstance(value, bool):
            return yes_no(value)
        return csv_safe(value)

    def blocks():
        with translation.override(language):
            block, size = [], 0
            for row in rows:
                line = writer.writerow([cell(v) for v in row])
                block.append(line)
                size += len(line)
                if size >= CSV_BLOCK:
                    yield "".join(block)
                    block, size = [], 0
            if block:
                yield "".join(block)

    response = StreamingHttpResponse(blocks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
