"""Reading other systems' files: header synonyms and the birth-date layouts people actually export."""

from __future__ import annotations

from datetime import date

import pytest

from app.imports.columns import header_key, match_headers
from app.imports.sources import UnreadableFile, parse_date, read_csv


@pytest.mark.parametrize("header", ["First Name", "first_name", "FIRSTNAME", " Given Name ", "given_name", "Forename"])
def test_given_name_synonyms(header):
    columns, unmatched = match_headers([header])
    assert columns == {"given_name": [0]} and unmatched == []


@pytest.mark.parametrize("header", ["Date of Birth", "date_of_birth", "DOB", "dob", "Birth Date", "BirthDate"])
def test_birth_date_synonyms(header):
    assert match_headers([header])[0] == {"birth_date": [0]}


def test_header_key_folds_case_space_and_punctuation():
    assert header_key("  E-mail Address ") == "e_mail_address"
    assert header_key("Chart #") == "chart"


def test_two_columns_for_one_field_prefer_the_better_synonym():
    columns, unmatched = match_headers(["Home Phone", "Mobile", "Favourite Colour"])
    assert columns == {"phone": [1, 0]}
    assert unmatched == ["Favourite Colour"]


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("1961-04-17", None, date(1961, 4, 17)),
    ("1961/4/7", None, date(1961, 4, 7)),
    ("19610417", None, date(1961, 4, 17)),
    ("17/04/1961", None, date(1961, 4, 17)),      # unambiguous: 17 cannot be a month
    ("04/17/1961", None, date(1961, 4, 17)),
    ("03/04/1970", "DMY", date(1970, 4, 3)),
    ("03/04/1970", "MDY", date(1970, 3, 4)),
    ("05.05.1970", None, date(1970, 5, 5)),
    ("17 Apr 1961", None, date(1961, 4, 17)),
    ("April 17, 1961", None, date(1961, 4, 17)),
    ("1961-04-17T00:00:00", None, date(1961, 4, 17)),
])
def test_birth_date_layouts(text, order, expected):
    assert parse_date(text, order) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("03/04/1970", "date_order"),       # never guessed
    ("1961-02-30", "calendar"),
    ("last spring", "not a date"),
])
def test_unreadable_birth_dates_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_date(text)


def test_semicolon_and_tab_separated_files_are_read():
    for sep in (";", "\t"):
        text = sep.join(["Last Name", "First Name", "DOB", "City"]) + "\n" + sep.join(
            ["Côté", "Élise", "1970-01-02", "Montréal, QC"]) + "\n"
        [row], _ = read_csv(text, None)
        assert row.body["given_name"] == "Élise" and row.body["family_name"] == "Côté"
        assert row.body["address"]["city"] == "Montréal, QC"


def test_blank_lines_are_skipped_and_line_numbers_kept():
    text = "first_name,last_name,dob\nAnn,Lee,1980-01-01\n,,\n\"Bo\nB\",Chan,1981-02-02\nCy,Day,1982-03-03\n"
    rows, _ = read_csv(text, None)
    assert [r.source for r in rows] == ["line 2", "line 4", "line 6"]
    assert [r.index for r in rows] == [0, 1, 2]


@pytest.mark.parametrize("text", ["", "\n\n", "first_name,last_name\nAnn,Lee\n"])
def test_a_file_without_the_needed_columns_is_refused(text):
    with pytest.raises(UnreadableFile):
        read_csv(text, None)
