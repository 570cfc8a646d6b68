"""Reading an organizer's list of people to invite: pasted lines ("Name <email>", or just an
email) or a CSV file (email, name, optional note), in whatever shape spreadsheets export it:
a BOM, commas or semicolons or tabs, with or without a header row, headers spelled many ways.
Pure functions: text in, rows and per-line errors out."""

import csv
import io
import re
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.formats import number_format
from django.utils.translation import gettext as _

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
HEADERS = {
    "email": {"email", "e-mail", "email address", "e-mail address", "mail", "emailaddress"},
    "name": {"name", "full name", "fullname", "display name", "first name last name"},
    "note": {"note", "notes", "comment", "comments", "remark", "remarks"},
}


class ListError(Exception):
    """The whole list is refused (too long, empty, not text): nothing is created."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    name: str = ""
    note: str = ""


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, raw, reason)


def _check_email(raw: str) -> str | None:
    email = raw.strip().strip("<>").strip()
    if not email:
        return None
    try:
        validate_email(email)
    except ValidationError:
        return None
    return email.lower() if len(email) <= 254 else None


def _count_guard(count: int) -> None:
    if count > MAX_ROWS:
        raise ListError(
            _(
                "This list has %(count)s rows; at most %(most)s can be invited at once. "
                "Split it into smaller lists."
            )
            % {
                "count": number_format(count, force_grouping=True),
                "most": number_format(MAX_ROWS, force_grouping=True),
            }
        )


def parse_pasted(text: str) -> Parsed:
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line]
    if not lines:
        raise ListError(_("The list is empty: paste one email address per line."))
    _count_guard(len(lines))
    parsed = Parsed()
    for n, line in lines:
        if "<" in line or ">" in line:
            name, address = parseaddr(line)
            if not address or line.count("<") != 1:
                parsed.errors.append((n, line, _("Not of the form Name <email@example.com>.")))
                continue
        else:
            # "email", "email, name" or "name, email": take the cell that looks like an email.
            cells = [c.strip() for c in re.split(r"[,;\t]", line)]
            address = next((c for c in cells if "@" in c), cells[0])
            name = " ".join(c for c in cells if c != address)
        email = _check_email(address)
        if email is None:
            parsed.errors.append((n, line, _("Not a valid email address.")))
            continue
        parsed.rows.append(Row(line=n, email=email, name=name.strip().strip('"')[:200]))
    return parsed


def _decode(data: bytes) -> str:
    if not data.strip():
        raise ListError(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ListError(_("The file is larger than 2 MB; split it into smaller lists."))
    if b"\x00" in data:
        raise ListError(_("This is not a CSV text file (it looks binary)."))
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ListError(_("This file is not text in a known encoding; save it as UTF-8 CSV."))


def _columns(header: list[str]) -> dict[str, int] | None:
    names = [re.sub(r"\s+", " ", h.strip().lower().replace("_", " ")) for h in header]
    found = {}
    for key, spellings in HEADERS.items():
        for index, name in enumerate(names):
            if name in spellings:
                found[key] = index
                break
    return found if "email" in found else None


def parse_csv(data: bytes) -> Parsed:
    text = _decode(data)
    # Sniff on normalised newlines: with Windows line endings a quoted last cell holding the
    # separator ('ann@example.com;"Smith; Ann"') defeats the sniffer.
    sample = text[:4096].replace("\r\n", "\n")
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # one column: no delimiter to find
    records = [
        (n, row)
        for n, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1)
        if any(cell.strip() for cell in row)
    ]
    if not records:
        raise ListError(_("The file is empty."))
    columns = _columns(records[0][1])
    if columns:
        records = records[1:]
    else:
        columns = {"email": 0, "name": 1, "note": 2}
    _count_guard(len(records))
    parsed = Parsed()
    for n, row in records:

        def cell(key: str, row=row) -> str:
            index = columns.get(key)
            return row[index].strip() if index is not None and index < len(row) else ""

        email = _check_email(cell("email"))
        if email is None:
            raw = (dialect.delimiter if hasattr(dialect, "delimiter") else ",").join(row)
            parsed.errors.append((n, raw[:300], _("Not a valid email address.")))
            continue
        parsed.rows.append(
            Row(line=n, email=email, name=cell("name")[:200], note=cell("note")[:500])
        )
    return parsed
