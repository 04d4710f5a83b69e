"""The readers: one delivered file to a table of text, and the file-level and row-level
failures the bad inputs of real districts produce. Every test writes its own small files."""

from __future__ import annotations

import datetime as dt
import decimal
import random
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wholechild.readers import (
    BadRecord,
    DeliveryRejected,
    RawTable,
    count_records,
    csv_reader,
    read_table,
)
from wholechild.readers.csv_reader import read_csv
from wholechild.readers.xlsx_reader import cell_text

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def write(tmp_path: Path, data: bytes | str, name: str = "delivery.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def rows(table: RawTable) -> list[list[str | None]]:
    return [[None if pd.isna(v) else v for v in row] for row in table.frame.itertuples(index=False)]


def rejection(call, *args, **kwargs) -> DeliveryRejected:
    with pytest.raises(DeliveryRejected) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture(params=["auto", "arrow", "python"])
def read(request):
    """Every CSV behaviour holds for the pyarrow fast path, the csv-module slow path, and
    the public entry point that picks between them."""
    engine = request.param

    def reader(path: Path, options: dict | None = None) -> RawTable:
        if engine == "auto":
            return read_table(path, "csv", options)
        return read_csv(path, options, engine=engine)

    return reader


# --- CSV: values ---------------------------------------------------------------------------


def test_ids_stay_exactly_as_written(tmp_path, read):
    path = write(tmp_path, "student_id,score\n004512,07\n12345678901234567,1.2E+07\n0,-0.0\n")
    table = read(path)
    assert rows(table) == [
        ["004512", "07"],
        ["12345678901234567", "1.2E+07"],
        ["0", "-0.0"],
    ]


def test_frame_is_text_with_na_for_empty_and_trimmed_values(tmp_path, read):
    path = write(tmp_path, 'id,name,grade\n 7 ,"  Ann  ",\n8,   ,""\n')
    table = read(path)
    assert table.headers == ["id", "name", "grade"]
    assert list(table.frame.columns) == ["id", "name", "grade"]
    for column in table.frame.columns:
        assert table.frame[column].dtype == pd.StringDtype("pyarrow")
    assert rows(table) == [["7", "Ann", None], ["8", None, None]]
    assert table.frame["grade"].isna().all()
    assert table.row_numbers.dtype == np.int64
    assert table.row_numbers.tolist() == [2, 3]
    assert table.bad_records == []
    assert table.records_read == 2


def test_quoted_delimiters_newlines_and_doubled_quotes_stay_in_one_record(tmp_path, read):
    path = write(
        tmp_path,
        'id,note,city\n1,"Lee, Jr","a\nb"\n2,"He said ""hi""",x\n3,"line1\r\nline2",y\n4,z,w\n',
    )
    table = read(path)
    assert rows(table) == [
        ["1", "Lee, Jr", "a\nb"],
        ["2", 'He said "hi"', "x"],
        ["3", "line1\r\nline2", "y"],
        ["4", "z", "w"],
    ]
    assert table.row_numbers.tolist() == [2, 3, 4, 5]


@pytest.mark.parametrize(
    "newline", ["\n", "\r\n", "\r\r\n", "\r", "mixed"], ids=["lf", "crlf", "crcrlf", "cr", "mixed"]
)
def test_line_endings_give_the_same_rows_and_numbers(tmp_path, read, newline):
    lines = ["id,name", "1,Ann", '2,"B\nC"', "3,Dee", "4,Eve"]
    if newline == "mixed":
        text = (
            lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r" + lines[3] + "\r\r\n" + lines[4]
        )
    else:
        text = newline.join(lines) + newline
    table = read(write(tmp_path, text))
    assert rows(table) == [["1", "Ann"], ["2", "B\nC"], ["3", "Dee"], ["4", "Eve"]]
    assert table.row_numbers.tolist() == [2, 3, 4, 5]


def test_blank_lines_are_not_records_and_do_not_take_a_number(tmp_path, read):
    path = write(tmp_path, "\n\nid,name\n\n1,Ann\n\n\n2,Bo\n   \n,,\n3,Cy\n\n")
    table = read(path)
    assert rows(table) == [["1", "Ann"], ["2", "Bo"], ["3", "Cy"]]
    assert table.row_numbers.tolist() == [2, 3, 4]
    assert table.records_read == 3


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_come_from_options(tmp_path, read, delimiter):
    text = f'id{delimiter}name\n1{delimiter}Lee, Jr\n2{delimiter}"a{delimiter}b"\n'
    table = read(write(tmp_path, text), {"delimiter": delimiter})
    assert rows(table) == [["1", "Lee, Jr"], ["2", f"a{delimiter}b"]]


def test_tab_can_be_spelled_out_in_yaml(tmp_path, read):
    table = read(write(tmp_path, "id\tname\n1\tAnn\n"), {"delimiter": "\\t"})
    assert rows(table) == [["1", "Ann"]]


def test_quotechar_comes_from_options(tmp_path, read):
    table = read(write(tmp_path, "id,name\n1,'Lee, Jr'\n"), {"quotechar": "'"})
    assert rows(table) == [["1", "Lee, Jr"]]


# --- CSV: record shapes --------------------------------------------------------------------


def test_short_row_is_padded_with_na(tmp_path, read):
    table = read(write(tmp_path, "a,b,c\n1,2,3\n4,5\n6\n7,8,9\n"))
    assert rows(table) == [["1", "2", "3"], ["4", "5", None], ["6", None, None], ["7", "8", "9"]]
    assert table.row_numbers.tolist() == [2, 3, 4, 5]
    assert table.bad_records == []


def test_long_row_with_empty_extra_fields_is_accepted(tmp_path, read):
    table = read(write(tmp_path, 'a,b\n1,2\n3,4,,\n5,6, ,""\n'))
    assert rows(table) == [["1", "2"], ["3", "4"], ["5", "6"]]
    assert table.bad_records == []


def test_long_row_with_filled_extra_fields_is_a_bad_record(tmp_path, read):
    table = read(write(tmp_path, "a,b\n1,2\n3,4,oops\n5,6\n"))
    assert rows(table) == [["1", "2"], ["5", "6"]]
    assert table.row_numbers.tolist() == [2, 4]
    assert table.bad_records == [
        BadRecord(
            3,
            "too_many_fields",
            "the record has 3 fields but the header has 2, and the extra fields are not empty.",
            "3,4,oops",
        )
    ]
    assert table.records_read == 3


def test_stray_delimiter_on_every_line_reads_at_full_width(tmp_path, read):
    body = "".join(f"{i},x{i},\n" for i in range(300))
    table = read(write(tmp_path, "a,b,\n" + body + "7,8\n9,10,filled\n"))
    assert table.headers == ["a", "b"]
    assert len(table.frame) == 301
    assert rows(table)[-1] == ["7", "8"]
    assert [(r.row_number, r.rule) for r in table.bad_records] == [(303, "too_many_fields")]


def test_rows_that_all_omit_trailing_empty_fields_are_padded(tmp_path, read):
    body = "".join(f"{i},x{i}\n" for i in range(300))
    table = read(write(tmp_path, "a,b,c,d\n" + body + "1,2,3,4\n"))
    assert len(table.frame) == 301
    assert rows(table)[0] == ["0", "x0", None, None]
    assert rows(table)[-1] == ["1", "2", "3", "4"]


def test_truncated_last_line_inside_quotes_is_one_bad_record(tmp_path, read):
    table = read(write(tmp_path, 'id,name,city\n1,Ann,X\n2,"Bo",Y\n3,"Trunc'))
    assert rows(table) == [["1", "Ann", "X"], ["2", "Bo", "Y"]]
    assert table.row_numbers.tolist() == [2, 3]
    [bad] = table.bad_records
    assert (bad.row_number, bad.rule, bad.raw) == (4, "unterminated_quote", '3,"Trunc')
    assert "cut off" in bad.message
    assert table.records_read == count_records(tmp_path / "delivery.csv") == 3


def test_truncated_last_field_of_a_full_width_row_is_one_bad_record(tmp_path, read):
    table = read(write(tmp_path, 'id,name\n1,Ann\n2,"Tru""nc\n'))
    assert rows(table) == [["1", "Ann"]]
    [bad] = table.bad_records
    assert (bad.row_number, bad.rule, bad.raw) == (3, "unterminated_quote", '2,"Tru""nc')


def test_closed_quote_at_the_very_end_is_not_mistaken_for_an_open_one(tmp_path, read):
    table = read(write(tmp_path, 'id,name\n1,""\n2,"a"""'))
    assert rows(table) == [["1", None], ["2", 'a"']]
    assert table.bad_records == []


def test_quote_left_open_over_many_lines_rejects_the_delivery(tmp_path, read):
    path = write(tmp_path, 'id,name\n1,Ann\n2,"Bo\n3,Cy\n4,Di\n')
    error = rejection(read, path)
    assert error.rule == "unterminated_quote"
    assert "line 3" in error.message and "delivery.csv" in error.message


@pytest.mark.parametrize("block", [1 << 12, 1 << 23])
def test_stray_quote_swallowing_the_rest_of_a_large_file_is_rejected(tmp_path, monkeypatch, block):
    # With small blocks pyarrow gives up and the csv module's field limit stops the slow path.
    monkeypatch.setattr(csv_reader, "_BLOCK", block)
    text = 'id,name\n1,Ann\n2,"oops\n' + "".join(f"{i},x\n" for i in range(3, 40000))
    error = rejection(read_table, write(tmp_path, text), "csv")
    assert error.rule == "unterminated_quote"
    assert "line 3" in error.message


def test_repeated_header_mid_file_is_a_bad_record(tmp_path, read):
    table = read(write(tmp_path, "id,name\n1,Ann\nid,name\n2,Bo\n id , name ,\n3,Cy\n"))
    assert rows(table) == [["1", "Ann"], ["2", "Bo"], ["3", "Cy"]]
    assert table.row_numbers.tolist() == [2, 4, 6]
    assert [(r.row_number, r.rule, r.raw) for r in table.bad_records] == [
        (3, "repeated_header", "id,name"),
        (5, "repeated_header", "id,name"),
    ]


def test_files_joined_byte_for_byte_have_their_second_header_quarantined(tmp_path, read):
    data = b"\xef\xbb\xbfid,name\r\n1,Ann\r\n" + b"\xef\xbb\xbfid,name\r\n2,Bo\r\n"
    table = read(write(tmp_path, data))
    assert rows(table) == [["1", "Ann"], ["2", "Bo"]]
    assert [(r.row_number, r.rule) for r in table.bad_records] == [(3, "repeated_header")]


# --- CSV: headers and files that publish nothing -------------------------------------------


def test_duplicate_header_is_rejected(tmp_path, read):
    error = rejection(read, write(tmp_path, "id,name, id\n1,2,3\n"))
    assert error.rule == "duplicate_header"
    assert "'id'" in error.message and "delivery.csv" in error.message


@pytest.mark.parametrize("header", ["id,,name", " ,id"])
def test_blank_header_is_rejected(tmp_path, read, header):
    error = rejection(read, write(tmp_path, header + "\n1,2,3\n"))
    assert error.rule == "blank_header"


def test_trailing_empty_header_cells_are_not_columns(tmp_path, read):
    table = read(write(tmp_path, "id,name,,\n1,Ann,,\n"))
    assert table.headers == ["id", "name"]
    assert rows(table) == [["1", "Ann"]]


@pytest.mark.parametrize(
    "data",
    [b"", b"   \r\n\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n"],
    ids=["0b", "ws", "bom", "bom+nl"],
)
def test_empty_file_is_rejected(tmp_path, read, data):
    assert rejection(read, write(tmp_path, data)).rule == "empty_file"


def test_file_of_only_delimiters_is_rejected_as_empty(tmp_path, read):
    assert rejection(read, write(tmp_path, ",,,\n,,\n")).rule == "empty_file"


@pytest.mark.parametrize("data", ["id,name", "id,name\n", "id,name\r\n\r\n", "id,name\n,,\n  \n"])
def test_header_without_records_is_rejected(tmp_path, read, data):
    error = rejection(read, write(tmp_path, data))
    assert error.rule == "no_rows"
    assert "delivery.csv" in error.message


def test_header_left_inside_an_open_quote_is_rejected(tmp_path, read):
    assert rejection(read, write(tmp_path, 'id,"name\n1,2\n')).rule == "unterminated_quote"


# --- CSV: encodings -----------------------------------------------------------------------


def test_invalid_utf8_is_rejected_naming_line_and_byte(tmp_path, read):
    data = b"id,name\n1,Ann\n2,Bo\n" + "3,Jos\u00e9\n".encode("latin-1")
    error = rejection(read, write(tmp_path, data, "attendance_2025-09-30.csv"))
    assert error.rule == "encoding"
    assert error.message == (
        "attendance_2025-09-30.csv: byte 0xE9 at line 4 is not valid utf-8; declare "
        "options.encoding (e.g. latin-1) in the source YAML."
    )
    assert str(error) == error.message


def test_invalid_utf8_past_the_first_chunk_is_found(tmp_path, read, monkeypatch):
    monkeypatch.setattr("wholechild.readers.text._CHUNK", 64)
    data = ("id,name\n" + "".join(f"{i},\u00e9t\u00e9\n" for i in range(40))).encode()
    data += b"41,\xff\n"
    error = rejection(read, write(tmp_path, data))
    assert error.rule == "encoding" and "byte 0xFF at line 42" in error.message


def test_utf8_bom_is_stripped(tmp_path, read):
    table = read(write(tmp_path, b"\xef\xbb\xbfid,name\n1,Ann\n"))
    assert table.headers == ["id", "name"]


@pytest.mark.parametrize(
    "data",
    ["id,name\n1,Ann\n".encode("utf-16"), "id,name\n1,Ann\n".encode("utf-16-le")],
    ids=["bom", "no-bom"],
)
def test_utf16_declared_as_utf8_is_rejected_with_the_fix(tmp_path, read, data):
    error = rejection(read, write(tmp_path, data))
    assert error.rule == "encoding"
    assert "UTF-16" in error.message and "options.encoding: utf-16" in error.message


def test_declared_latin1_and_cp1252_decode(tmp_path, read):
    path = write(tmp_path, "id,name\n1,Jos\u00e9\n".encode("latin-1"))
    assert rows(read(path, {"encoding": "latin-1"})) == [["1", "Jos\u00e9"]]
    path = write(tmp_path, "id,name\n1,\u201cq\u201d\n".encode("cp1252"))
    assert rows(read(path, {"encoding": "cp1252"})) == [["1", "\u201cq\u201d"]]


def test_declared_utf16_decodes(tmp_path, read):
    path = write(tmp_path, "id,name\r\n004512,Jos\u00e9\r\n".encode("utf-16"))
    table = read(path, {"encoding": "utf-16"})
    assert table.headers == ["id", "name"]
    assert rows(table) == [["004512", "Jos\u00e9"]]


def test_utf8_file_declared_utf16_is_rejected(tmp_path, read):
    error = rejection(read, write(tmp_path, "id,name\n1,Ann\n"), {"encoding": "utf-16"})
    assert error.rule == "encoding"


def test_bytes_invalid_in_a_declared_encoding_are_rejected(tmp_path, read):
    error = rejection(read, write(tmp_path, b"id,name\n1,\x81\n"), {"encoding": "cp1252"})
    assert error.rule == "encoding" and "line 2" in error.message and "0x81" in error.message


def test_unknown_encoding_name_is_rejected(tmp_path, read):
    error = rejection(read, write(tmp_path, "id\n1\n"), {"encoding": "klingon"})
    assert error.rule == "encoding" and "klingon" in error.message


@pytest.mark.parametrize(
    ("data", "said"),
    [(b"PK\x03\x04rest-of-an-xlsx", "zip"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", ".xls")],
)
def test_spreadsheet_delivered_as_csv_is_rejected(tmp_path, read, data, said):
    error = rejection(read, write(tmp_path, data))
    assert error.rule == "unreadable" and said in error.message


def test_utf8_bom_is_stripped_under_a_declared_single_byte_encoding(tmp_path, read):
    table = read(write(tmp_path, b"\xef\xbb\xbfid,name\n1,Ann\n"), {"encoding": "latin-1"})
    assert table.headers == ["id", "name"]


# --- CSV: options ---------------------------------------------------------------------------


def test_header_row_skips_a_free_text_preamble(tmp_path, read):
    text = 'District "Report, Fall\n\nid,name\n1,Ann\n\n2,Bo\n'
    table = read(write(tmp_path, text), {"header_row": 3})
    assert table.headers == ["id", "name"]
    assert rows(table) == [["1", "Ann"], ["2", "Bo"]]
    assert table.row_numbers.tolist() == [4, 5]


def test_header_row_past_the_end_is_rejected(tmp_path, read):
    error = rejection(read, write(tmp_path, "a\n1\n"), {"header_row": 9})
    assert error.rule == "no_header"


@pytest.mark.parametrize(
    "options", [{"delimiter": ";;"}, {"quotechar": ","}, {"header_row": 0}, {"header_row": "2"}]
)
def test_bad_options_are_rejected(tmp_path, read, options):
    assert rejection(read, write(tmp_path, "a\n1\n"), options).rule == "options"


# --- CSV: the fast path and the slow path agree ---------------------------------------------


def _messy_csv(seed: int, records: int) -> str:
    """Random mix of everything real exports do, for comparing the two parsers."""
    rng = random.Random(seed)
    newlines = ["\n", "\r\n", "\r\r\n"]
    out = ["id,name,note,grade\n"]
    for i in range(records):
        roll = rng.random()
        if roll < 0.03:
            out.append(rng.choice(["\n", "\r\n", ",,,\n", "   \n"]))
            continue
        fields = [
            f"{i:06d}",
            rng.choice(["Ann", " Bo ", "", '"Lee, Jr"', '"x""y"', "5'10\"", ' "sp"', '"a"b']),
            "",
            "07",
        ]
        if rng.random() < 0.05:
            fields[2] = '"multi\nline, ""quoted"""'
        if roll < 0.06:
            fields = fields[: rng.randint(1, 3)]
        elif roll < 0.09:
            fields += [""] * rng.randint(1, 3)
        elif roll < 0.11:
            fields += ["extra"]
        elif roll < 0.12:
            fields = ["id", "name", "note", "grade"]
        out.append(",".join(fields) + rng.choice(newlines))
    return "".join(out)


@pytest.mark.parametrize("seed", range(6))
def test_fast_and_slow_paths_agree_on_messy_files(tmp_path, monkeypatch, seed):
    # Small blocks make pyarrow cut the file into many pieces, as it does a large one.
    monkeypatch.setattr(csv_reader, "_BLOCK", 1 << 12)
    text = _messy_csv(seed, 3000)
    if seed % 2:
        text += '9999,"cut off'
    path = write(tmp_path, text)
    fast = read_csv(path, engine="arrow")
    slow = read_csv(path, engine="python")
    pd.testing.assert_frame_equal(fast.frame, slow.frame)
    assert fast.row_numbers.tolist() == slow.row_numbers.tolist()
    assert fast.bad_records == slow.bad_records
    assert fast.records_read == count_records(path)
    assert np.all(np.diff(fast.row_numbers) > 0)
    numbers = sorted([*fast.row_numbers.tolist(), *(r.row_number for r in fast.bad_records)])
    assert numbers == list(range(2, 2 + fast.records_read))
    assert {r.rule for r in fast.bad_records} <= {
        "too_many_fields",
        "repeated_header",
        "unterminated_quote",
    }


def test_fast_path_falls_back_when_pyarrow_refuses(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise pa.ArrowInvalid("straddling object straddles two block boundaries")

    monkeypatch.setattr(csv_reader, "_arrow_pass", refuse)
    table = read_table(write(tmp_path, "id\n1\n2\n"), "csv")
    assert rows(table) == [["1"], ["2"]]


# --- count_records ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id\n1\n2\n", 2),
        ("id\n1\n2", 2),
        ("id\r\n1\r\n2\r\n", 2),
        ("id\r\r\n1\r\r\n2\r\r\n", 2),
        ("id\r1\r2\r", 2),
        ('id,note\n1,"a\nb"\n2,"c\r\nd"\n', 2),
        ('id,note\n1,"say ""hi""\n, ok"\n', 1),
        ("id\n\n1\n\n\n2\n", 2),
        ("id,x\n,\n  ,\n1,\n", 1),
        ('id,x\n"",""\n', 0),
        ('id,x\n1,2\n2,"cut', 2),
        ('id,x\n1,2\n"', 2),
        ("id\n", 0),
        ("", 0),
        ("id,x\n1,5'10\"\n", 1),
    ],
)
def test_count_records_counts_data_records_quote_aware(tmp_path, text, expected):
    assert count_records(write(tmp_path, text)) == expected


def test_count_records_honours_encoding_bom_delimiter_and_quotechar(tmp_path):
    path = write(tmp_path, "\ufeffid;note\n1;'a\n;b'\n2;c\n".encode("utf-16"))
    assert count_records(path, encoding="utf-16", delimiter=";", quotechar="'") == 2
    assert count_records(write(tmp_path, b"\xef\xbb\xbfid\n1\n")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "id,name\n1,Ann\n2,Bo\n",
        'id,name\n1,"a\nb"\r\n\r\n2,"x""y"\r\r\n3\n',
        "id,name\n1,Ann,,\n2,Bo,extra\nid,name\n,,\n",
        'id,name\n1,Ann\n2,"cut',
    ],
)
def test_records_read_equals_the_independent_count(tmp_path, read, text):
    path = write(tmp_path, text)
    assert read(path).records_read == count_records(path)


# --- CSV: real exports ------------------------------------------------------------------------


def test_map_growth_sample_pads_its_short_last_row(tmp_path):
    path = tmp_path / "map_growth.csv"
    shutil.copy(REAL / "nwea_map_growth" / "map_growth_sample.csv", path)
    table = read_table(path, "csv")
    assert len(table.headers) == 143
    assert table.records_read == count_records(path) == len(table.frame) == 7
    assert table.bad_records == []
    assert table.frame["Student_StateID"].iloc[0] == "604821"
    assert table.frame["TestStartDate"].iloc[0] == "09/16/2021"
    assert pd.isna(table.frame.iloc[-1, -1])


def test_oneroster_users_accepts_the_empty_extra_field_of_teacher_rows(tmp_path):
    path = tmp_path / "users.csv"
    shutil.copy(REAL / "oneroster_1_1_grand_bend" / "users.csv", path)
    table = read_table(path, "csv")
    assert table.records_read == count_records(path) == len(table.frame) == 10
    assert table.frame["userIds"].iloc[7] == "{Local:015}"
    assert table.frame["grades"].iloc[0] == "09"


# --- xlsx ---------------------------------------------------------------------------------------


def workbook(tmp_path: Path, sheets: dict[str, list[list]], name: str = "delivery.xlsx") -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, sheet_rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in sheet_rows:
            sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (True, "true"),
        (False, "false"),
        (4512, "4512"),
        (12.0, "12"),
        (1.2e16, "12000000000000000"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (1.5e-07, "0.00000015"),
        (dt.datetime(2025, 9, 30), "2025-09-30"),
        (dt.datetime(2025, 9, 30, 8, 5), "2025-09-30T08:05:00"),
        (dt.date(2025, 9, 30), "2025-09-30"),
        (dt.time(8, 5), "08:05:00"),
        ("004512", "004512"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_cell_text_keeps_the_leading_zeros_a_zero_format_shows():
    assert cell_text(4512, "000000") == "004512"
    assert cell_text(4512.0, "000000") == "004512"
    assert cell_text(4512, "General") == "4512"


def test_xlsx_cells_become_text(tmp_path):
    path = workbook(
        tmp_path,
        {
            "Roster": [
                ["student_id", "score", "ratio", "enrolled", "stamp", "active", "note"],
                [
                    "004512",
                    88,
                    0.25,
                    dt.date(2025, 8, 20),
                    dt.datetime(2025, 9, 1, 7, 30),
                    True,
                    " x ",
                ],
                [12345, 90.0, 1e-7, dt.datetime(2025, 8, 21), None, False, ""],
            ]
        },
    )
    table = read_table(path, "xlsx")
    assert table.headers == ["student_id", "score", "ratio", "enrolled", "stamp", "active", "note"]
    assert rows(table) == [
        ["004512", "88", "0.25", "2025-08-20", "2025-09-01T07:30:00", "true", "x"],
        ["12345", "90", "0.0000001", "2025-08-21", None, "false", None],
    ]
    assert table.row_numbers.tolist() == [2, 3]
    assert all(table.frame[c].dtype == pd.StringDtype("pyarrow") for c in table.frame.columns)


def test_xlsx_number_shown_with_leading_zeros_keeps_them(tmp_path):
    path = workbook(tmp_path, {"S": [["student_id"], [4512], [12]]})
    book = openpyxl.load_workbook(path)
    for row in (2, 3):
        book["S"].cell(row=row, column=1).number_format = "000000"
    book.save(path)
    assert rows(read_table(path, "xlsx")) == [["004512"], ["000012"]]


def test_xlsx_rows_keep_sheet_numbers_and_empty_rows_are_skipped(tmp_path):
    path = workbook(
        tmp_path,
        {"S": [["id", "name"], [1, "Ann"], [None, None], [2, "Bo"], [None, None], [None, None]]},
    )
    table = read_table(path, "xlsx")
    assert rows(table) == [["1", "Ann"], ["2", "Bo"]]
    assert table.row_numbers.tolist() == [2, 4]
    assert table.records_read == 2


def test_xlsx_sheet_and_header_row_options(tmp_path):
    path = workbook(
        tmp_path,
        {
            "Cover": [["About this export"]],
            "Data": [["Fall report"], [], ["id", "name"], [7, "Ann"]],
        },
    )
    table = read_table(path, "xlsx", {"sheet": "Data", "header_row": 3})
    assert table.headers == ["id", "name"]
    assert rows(table) == [["7", "Ann"]]
    assert table.row_numbers.tolist() == [4]
    error = rejection(read_table, path, "xlsx", {"sheet": "Nope"})
    assert error.rule == "missing_sheet" and "Cover, Data" in error.message


def test_xlsx_row_shapes_follow_the_csv_rules(tmp_path):
    path = workbook(
        tmp_path,
        {"S": [["id", "name", None], [1], [2, "Bo", None, ""], [3, "Cy", "x"], ["id", "name"]]},
    )
    table = read_table(path, "xlsx")
    assert table.headers == ["id", "name"]
    assert rows(table) == [["1", None], ["2", "Bo"]]
    assert [(r.row_number, r.rule, r.raw) for r in table.bad_records] == [
        (4, "too_many_fields", "3,Cy,x"),
        (5, "repeated_header", "id,name"),
    ]


@pytest.mark.parametrize(
    ("sheet_rows", "rule"),
    [
        ([["id", "id"], [1, 2]], "duplicate_header"),
        ([["id", None, "name"], [1, 2, 3]], "blank_header"),
        ([["id", "name"]], "no_rows"),
        ([["id", "name"], [None, None]], "no_rows"),
        ([], "empty_file"),
    ],
)
def test_xlsx_file_rules(tmp_path, sheet_rows, rule):
    error = rejection(read_table, workbook(tmp_path, {"S": sheet_rows}), "xlsx")
    assert error.rule == rule
    assert "delivery.xlsx" in error.message


@pytest.mark.parametrize(
    "data", [b"id,name\n1,Ann\n", b"PK\x03\x04garbage", b"", bytes(range(256)) * 8]
)
def test_not_an_xlsx_is_rejected_as_unreadable(tmp_path, data):
    error = rejection(read_table, write(tmp_path, data, "delivery.xlsx"), "xlsx")
    assert error.rule == "unreadable" and "delivery.xlsx" in error.message


def test_xlsx_with_an_unusual_suffix_is_still_read(tmp_path):
    path = workbook(tmp_path, {"S": [["id"], ["004512"]]}, name="delivery.XLSX.part")
    assert rows(read_table(path, "xlsx")) == [["004512"]]


def test_xlsx_error_cells_keep_their_text(tmp_path):
    # calamine reads #N/A as empty; the contract must see the value to name it
    path = workbook(tmp_path, {"S": [["id", "score"], ["1", "#N/A"], ["2", 7]]})
    assert rows(read_table(path, "xlsx")) == [["1", "#N/A"], ["2", "7"]]


def test_xlsx_fast_reader_and_openpyxl_fallback_agree(tmp_path, monkeypatch):
    from wholechild.readers import xlsx_reader

    path = workbook(
        tmp_path,
        {
            "Cover": [["About this export"]],
            "Data": [
                [None, None],
                ["id", "n", "neg", "when", "at", "text", "ratio"],
                [4512, -12, -5, dt.datetime(2025, 1, 2), dt.time(1, 2), "0042", 0.1],
                [12, 3.0, 0, dt.date(2025, 9, 30), dt.datetime(2025, 9, 1, 7, 30), 7, 1e-7],
                [None] * 7,
                ["x", 1, 2, 3, 4, 5, 6, "extra"],
                ["id", "n", "neg", "when", "at", "text", "ratio"],
            ],
        },
    )
    book = openpyxl.load_workbook(path)
    for row in (3, 4, 6):
        for column, number_format in ((1, "000000"), (2, "0000"), (3, "000"), (6, "00000")):
            book["Data"].cell(row=row, column=column).number_format = number_format
    book.save(path)
    assert xlsx_reader._zero_padded_cells(path, "Data")[3][0] == (0, "000000")
    fast = read_table(path, "xlsx", {"sheet": "Data", "header_row": 2})
    monkeypatch.setattr(xlsx_reader, "_read_calamine", None)  # calling it fails: fallback
    slow = read_table(path, "xlsx", {"sheet": "Data", "header_row": 2})
    assert (
        rows(fast)
        == rows(slow)
        == [
            ["004512", "-12", "-5", "2025-01-02", "01:02:00", "0042", "0.1"],
            ["000012", "0003", "000", "2025-09-30", "2025-09-01T07:30:00", "00007", "0.0000001"],
        ]
    )
    assert fast.row_numbers.tolist() == slow.row_numbers.tolist() == [3, 4]
    assert [(r.row_number, r.rule, r.raw) for r in fast.bad_records] == [
        (r.row_number, r.rule, r.raw) for r in slow.bad_records
    ]
    assert [r.raw for r in fast.bad_records] == [
        "x,0001,002,3,4,00005,6,extra",
        "id,n,neg,when,at,text,ratio",
    ]


# --- parquet ------------------------------------------------------------------------------------


def test_parquet_columns_become_text(tmp_path):
    table = pa.table(
        {
            "student_id": pa.array(["004512", "12345678901234567"]),
            "n": pa.array([7, None], pa.int64()),
            "x": pa.array([0.5, 1e20]),
            "ok": pa.array([True, False]),
            "day": pa.array([dt.date(2025, 9, 30), None], pa.date32()),
            "at": pa.array(
                [dt.datetime(2025, 9, 30), dt.datetime(2025, 9, 30, 8, 5, 1)], pa.timestamp("us")
            ),
            "amount": pa.array([decimal.Decimal("12.50"), None], pa.decimal128(5, 2)),
            "code": pa.array(["A", "B"]).dictionary_encode(),
            "blank": pa.array([None, None], pa.null()),
            "pad": pa.array(["  a ", " "]),
        }
    )
    path = tmp_path / "delivery.parquet"
    pq.write_table(table, path)
    result = read_table(path, "parquet")
    assert result.headers == table.column_names
    assert rows(result) == [
        ["004512", "7", "0.5", "true", "2025-09-30", "2025-09-30", "12.50", "A", None, "a"],
        [
            "12345678901234567",
            None,
            "100000000000000000000",
            "false",
            None,
            "2025-09-30T08:05:01",
            None,
            "B",
            None,
            None,
        ],
    ]
    assert result.row_numbers.tolist() == [2, 3]
    assert all(result.frame[c].dtype == pd.StringDtype("pyarrow") for c in result.frame.columns)


def test_parquet_without_rows_is_rejected(tmp_path):
    path = tmp_path / "delivery.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.string())}), path)
    assert rejection(read_table, path, "parquet").rule == "no_rows"


def test_parquet_with_a_duplicate_column_is_rejected(tmp_path):
    path = tmp_path / "delivery.parquet"
    pq.write_table(pa.table([pa.array([1]), pa.array([2])], names=["id", "id"]), path)
    assert rejection(read_table, path, "parquet").rule == "duplicate_header"


@pytest.mark.parametrize("data", [b"", b"id,name\n1,2\n", b"PAR1" + bytes(100) + b"PAR1"])
def test_not_a_parquet_is_rejected_as_unreadable(tmp_path, data):
    error = rejection(read_table, write(tmp_path, data, "delivery.parquet"), "parquet")
    assert error.rule == "unreadable" and "delivery.parquet" in error.message


# --- never a traceback --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_a_rejection_or_a_table_never_a_traceback(tmp_path, fmt, seed):
    rng = random.Random(seed)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
    path = write(tmp_path, data, f"delivery.{fmt}")
    try:
        result = read_table(path, fmt)
    except DeliveryRejected as error:
        assert error.rule and "delivery." in error.message
    else:
        assert isinstance(result, RawTable)


def test_missing_file_is_a_rejection(tmp_path):
    assert rejection(read_table, tmp_path / "gone.csv", "csv").rule == "unreadable"


def test_unknown_format_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        read_table(write(tmp_path, "a\n1\n"), "json")
