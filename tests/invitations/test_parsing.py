"""Reading an organizer's list (events.invite_parsing): pasted lines and CSV files in every shape
spreadsheets export them. Bad rows are listed with their line and reason; a list that cannot be
read at all (too long, empty, binary) is refused as a whole, so nothing is half created."""

import zlib

import pytest

from events.invite_parsing import MAX_BYTES, MAX_ROWS, ListError, Row, parse_csv, parse_pasted

NOT_AN_EMAIL = "Not a valid email address."
NOT_NAME_EMAIL = "Not of the form Name <email@example.com>."


def emails(parsed) -> list[str]:
    return [r.email for r in parsed.rows]


def refused(data: bytes | str) -> str:
    with pytest.raises(ListError) as error:
        parse_csv(data) if isinstance(data, bytes) else parse_pasted(data)
    return error.value.message


def a_png() -> bytes:
    """The first bytes of a real PNG file: signature, then the IHDR chunk."""
    ihdr = b"IHDR" + (1).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + ihdr + zlib.crc32(ihdr).to_bytes(4, "big")
    )


# Pasted lines


def test_pasted_plain_addresses_one_per_line_are_read_with_their_line_numbers():
    parsed = parse_pasted("ann@example.com\nbob@example.com\n")

    assert parsed.rows == [Row(1, "ann@example.com"), Row(2, "bob@example.com")]
    assert parsed.errors == []


def test_pasted_name_and_address_in_angle_brackets_gives_the_name():
    parsed = parse_pasted('Ada Lovelace <ada@example.com>\n"Hopper, Grace" <grace@example.com>')

    assert parsed.rows == [
        Row(1, "ada@example.com", "Ada Lovelace"),
        Row(2, "grace@example.com", "Hopper, Grace"),
    ]


def test_pasted_email_comma_name_and_name_comma_email_both_work():
    parsed = parse_pasted("ann@example.com, Ann Smith\nBob Jones, bob@example.com\n")

    assert parsed.rows == [
        Row(1, "ann@example.com", "Ann Smith"),
        Row(2, "bob@example.com", "Bob Jones"),
    ]


def test_blank_lines_and_surrounding_spaces_are_ignored_but_line_numbers_kept():
    parsed = parse_pasted("\n  ann@example.com   \n\n\t\n   bob@example.com\t\n\n")

    assert parsed.rows == [Row(2, "ann@example.com"), Row(5, "bob@example.com")]
    assert parsed.errors == []


def test_uppercase_addresses_are_lowercased():
    parsed = parse_pasted("ANN@Example.COM\nBob <Bob@EXAMPLE.com>")

    assert emails(parsed) == ["ann@example.com", "bob@example.com"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not an email", NOT_AN_EMAIL),
        ("ann@", NOT_AN_EMAIL),
        ("@example.com", NOT_AN_EMAIL),
        ("ann@example", NOT_AN_EMAIL),
        ("ann smith@example.com", NOT_AN_EMAIL),
        ("ann@@example.com", NOT_AN_EMAIL),
        ("a" * 250 + "@example.com", NOT_AN_EMAIL),
        ("Jane <jane@", NOT_NAME_EMAIL),
        ("<>", NOT_NAME_EMAIL),
        ("Ann <ann@example.com> Bob <bob@example.com>", NOT_NAME_EMAIL),
        ("Ann <not-an-address>", NOT_AN_EMAIL),
    ],
)
def test_a_malformed_pasted_line_is_listed_with_its_number_and_reason(line, reason):
    parsed = parse_pasted(f"ok@example.com\n\n{line}\nfine@example.com")

    assert parsed.errors == [(3, line, reason)]
    assert emails(parsed) == ["ok@example.com", "fine@example.com"]


def test_every_bad_line_of_a_paste_is_listed_not_just_the_first():
    parsed = parse_pasted("nope\nann@example.com\nstill nope\nJane <jane@\n")

    assert [(line, reason) for line, _raw, reason in parsed.errors] == [
        (1, NOT_AN_EMAIL),
        (3, NOT_AN_EMAIL),
        (4, NOT_NAME_EMAIL),
    ]
    assert emails(parsed) == ["ann@example.com"]


@pytest.mark.parametrize("text", ["", "\n\n", "   \n\t\n  "])
def test_an_empty_paste_is_refused_as_a_whole(text):
    assert refused(text) == "The list is empty: paste one email address per line."


def test_five_thousand_pasted_lines_are_read():
    text = "\n".join(f"person{n}@example.com" for n in range(MAX_ROWS))

    parsed = parse_pasted(text)

    assert MAX_ROWS == 5000
    assert len(parsed.rows) == 5000
    assert parsed.errors == []


def test_five_thousand_and_one_pasted_lines_are_refused_with_a_clear_message():
    text = "\n".join(f"person{n}@example.com" for n in range(MAX_ROWS + 1))

    message = refused(text)

    assert "5,001 rows" in message
    assert "at most 5,000" in message


def test_blank_lines_do_not_count_towards_the_limit():
    text = "\n\n".join(f"person{n}@example.com" for n in range(MAX_ROWS))

    assert len(parse_pasted(text).rows) == MAX_ROWS


# CSV files


def test_a_csv_with_a_byte_order_mark_and_a_header_is_read():
    data = "\ufeffemail,name,note\nann@example.com,Ann,VIP\n".encode()

    parsed = parse_csv(data)

    assert parsed.rows == [Row(2, "ann@example.com", "Ann", "VIP")]
    assert parsed.errors == []


def test_a_csv_with_a_byte_order_mark_and_no_header_is_read():
    data = "\ufeffann@example.com,Ann\r\nbob@example.com,Bob\r\n".encode()

    assert parse_csv(data).rows == [
        Row(1, "ann@example.com", "Ann"),
        Row(2, "bob@example.com", "Bob"),
    ]


def test_a_semicolon_separated_csv_is_read():
    data = b"email;name;note\r\nann@example.com;Ann Smith;likes, commas\r\nbob@example.com;Bob;\r\n"

    parsed = parse_csv(data)

    assert parsed.rows == [
        Row(2, "ann@example.com", "Ann Smith", "likes, commas"),
        Row(3, "bob@example.com", "Bob", ""),
    ]
    assert parsed.errors == []


def test_a_semicolon_csv_from_excel_with_a_quoted_cell_containing_a_semicolon_is_read():
    data = b'email;name\r\nann@example.com;"Smith; Ann"\r\nbob@example.com;Bob\r\n'

    parsed = parse_csv(data)

    assert parsed.errors == []
    assert parsed.rows == [
        Row(2, "ann@example.com", "Smith; Ann"),
        Row(3, "bob@example.com", "Bob"),
    ]


def test_a_tab_separated_file_is_read():
    data = b"Email\tFull name\r\nann@example.com\tSmith, Ann\r\nbob@example.com\tBob\r\n"

    assert parse_csv(data).rows == [
        Row(2, "ann@example.com", "Smith, Ann"),
        Row(3, "bob@example.com", "Bob"),
    ]


@pytest.mark.parametrize(
    "header",
    [
        "E-mail,Full name,Notes",
        "Email Address,Name,Comments",
        "EMAIL,Display Name,Note",
        "email_address,full_name,remarks",
        " E-Mail Address , Full  Name ,NOTES",
        "mail,fullname,comment",
    ],
)
def test_header_spellings_are_recognised(header):
    data = f"{header}\nann@example.com,Ann Smith,VIP\n".encode()

    parsed = parse_csv(data)

    assert parsed.rows == [Row(2, "ann@example.com", "Ann Smith", "VIP")]
    assert parsed.errors == []


def test_header_columns_may_come_in_any_order_among_other_columns():
    data = b"id,Notes,Full name,E-mail,signed up\n7,VIP,Ann Smith,ann@example.com,2024-01-01\n"

    assert parse_csv(data).rows == [Row(2, "ann@example.com", "Ann Smith", "VIP")]


def test_without_a_header_the_columns_are_email_name_note():
    data = b"ann@example.com,Ann Smith,VIP\nbob@example.com,Bob\ncarl@example.com\n"

    parsed = parse_csv(data)

    assert parsed.rows == [
        Row(1, "ann@example.com", "Ann Smith", "VIP"),
        Row(2, "bob@example.com", "Bob", ""),
        Row(3, "carl@example.com", "", ""),
    ]


def test_a_one_column_file_of_addresses_is_read():
    data = b"ann@example.com\nbob@example.com\n"

    assert emails(parse_csv(data)) == ["ann@example.com", "bob@example.com"]


def test_quoted_fields_may_contain_commas_and_quotes():
    data = b'"email","name","note"\n"ann@example.com","Smith, Ann","said ""hi"", twice"\n'

    assert parse_csv(data).rows == [
        Row(2, "ann@example.com", "Smith, Ann", 'said "hi", twice'),
    ]


def test_extra_columns_are_ignored():
    data = b"ann@example.com,Ann,VIP,extra,more,columns\n"

    assert parse_csv(data).rows == [Row(1, "ann@example.com", "Ann", "VIP")]


def test_csv_addresses_are_trimmed_and_lowercased():
    data = b"email,name\n  ANN@Example.COM  , Ann \n"

    assert parse_csv(data).rows == [Row(2, "ann@example.com", "Ann")]


def test_bad_csv_rows_are_listed_with_their_line_and_reason():
    data = b"email,name\nann@example.com,Ann\nnot-an-email,Bob\n,Nobody\nbob@example.com,Bob\n"

    parsed = parse_csv(data)

    assert emails(parsed) == ["ann@example.com", "bob@example.com"]
    assert parsed.errors == [
        (3, "not-an-email,Bob", NOT_AN_EMAIL),
        (4, ",Nobody", NOT_AN_EMAIL),
    ]


def test_blank_csv_rows_are_skipped():
    data = b"email\n\nann@example.com\n,,\n\nbob@example.com\n"

    parsed = parse_csv(data)

    assert emails(parsed) == ["ann@example.com", "bob@example.com"]
    assert parsed.errors == []


def test_a_latin_1_file_is_read_with_its_accents():
    data = "email,name\njose@example.com,José Müller\n".encode("latin-1")

    assert parse_csv(data).rows == [Row(2, "jose@example.com", "José Müller")]


def test_five_thousand_csv_rows_after_a_header_are_read():
    data = ("email,name\n" + "".join(f"p{n}@example.com,P {n}\n" for n in range(5000))).encode()

    parsed = parse_csv(data)

    assert len(parsed.rows) == 5000
    assert parsed.errors == []


def test_five_thousand_and_one_csv_rows_are_refused_with_a_clear_message():
    data = ("email,name\n" + "".join(f"p{n}@example.com,P {n}\n" for n in range(5001))).encode()

    message = refused(data)

    assert message == (
        "This list has 5,001 rows; at most 5,000 can be invited at once. "
        "Split it into smaller lists."
    )


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\n\r\n", b" \t \n \n"])
def test_an_empty_or_blank_file_is_refused(data):
    assert refused(data) == "The file is empty."


def test_a_file_of_empty_cells_only_is_refused():
    assert refused(b",,\n , ,\n") == "The file is empty."


def test_a_header_without_rows_reads_as_no_one_and_no_error():
    parsed = parse_csv(b"email,name,note\n")

    assert (parsed.rows, parsed.errors) == ([], [])


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"ann@example.com\x00\x00\x01\x02", id="nul-bytes"),
        pytest.param(a_png(), id="png"),
        pytest.param(b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + b"\x00" * 20, id="xlsx-zip"),
        pytest.param("email\nann@example.com\n".encode("utf-16"), id="utf-16"),
    ],
)
def test_a_binary_file_is_refused_as_not_text(data):
    assert refused(data) == "This is not a CSV text file (it looks binary)."


def test_bytes_that_are_no_known_text_encoding_are_refused():
    data = b"email\n\x81\x8d\x8f\x90\x9d@example.com\n"

    assert refused(data) == "This file is not text in a known encoding; save it as UTF-8 CSV."


def test_a_file_over_two_megabytes_is_refused():
    line = b"someone-with-a-long-address@example.com,Some Long Name\n"
    data = line * (MAX_BYTES // len(line) + 1)

    assert refused(data) == "The file is larger than 2 MB; split it into smaller lists."
