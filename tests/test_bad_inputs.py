"""The bad-input corpus: every way a real export goes wrong, one generated file a case,
each through ``pipeline.process_delivery`` exactly as a landed delivery would go.

For every case: the outcome (published, rows quarantined by the expected rule, or the
whole delivery rejected by the expected rule), a message that is one sentence naming the
file (and the row, where there is one) and never a traceback, and a ledger row where rows
read = rows published + rows quarantined, with rows read counted independently of the
readers by :func:`wholechild.readers.count_records` in the file's true encoding.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from wholechild import lake, pipeline
from wholechild.readers import count_records
from wholechild.registry import load_registry

ROSTER_YML = """\
name: roster
system: Test SIS
format: csv
entity: student
domains: [demographics]
steward: sis@district.example
cadence: daily
student_id: local
mode: incremental
columns:
  student_ref: StudentID
  first_name: FirstName
  last_name: LastName
  birth_date: {{header: BirthDate, format: "{date_format}"}}
  school_id: School
options: {options}
quality: {{max_reject_rate: 0.5}}
"""

HEADER = "StudentID,FirstName,LastName,BirthDate,School"
ROWS = [
    "004512,Ana,Lopez,2015-03-04,101",
    "004513,Ben,Okafor,2014-11-30,101",
    "004514,Chloé,Martin,2015-01-15,102",
    "004515,Dev,Patel,2016-07-01,102",
]
GOOD = "\n".join([HEADER, *ROWS]) + "\n"
NAME = "roster_2025-09-05.csv"

# The rows above, as they must reach the lake whatever the file's dress.
ANA = {"first_name": "Ana", "last_name": "Lopez", "birth_date": dt.date(2015, 3, 4)}
CHLOE = {"first_name": "Chloé", "last_name": "Martin", "school_id": "102"}


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("roster.csv", GOOD)
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    """One bad (or merely unusual) file and what the platform must make of it."""

    id: str
    data: bytes
    status: str
    #: rejected: the file rule; otherwise the (row number, rule) pairs quarantined
    rule: str | None = None
    quarantined: tuple[tuple[int, str], ...] = ()
    #: what the published rows must hold, by student_ref
    expect: dict[str, dict] = field(default_factory=dict)
    #: words the rejection message must contain besides the file name
    says: tuple[str, ...] = ()
    options: str = "{}"
    date_format: str = "%Y-%m-%d"
    name: str = NAME
    #: the file's true encoding and delimiter, for the independent record count; None: not
    #: a text file at all (it holds no records)
    count_as: tuple[str, str] | None = ("utf-8", ",")
    marks: tuple = ()


def lines(*rows: str, header: str = HEADER, nl: str = "\n") -> str:
    return nl.join([header, *rows]) + nl


# A file the reader rejects before it hands back any record (an encoding it cannot decode,
# a quote left open) is still ledgered with every row read and quarantined: each case's
# rows_read is compared with an independent count of the file (count_as).
CASES = [
    # --- encodings ------------------------------------------------------------------------
    Case("utf8_bom", b"\xef\xbb\xbf" + GOOD.encode(), "published", expect={"004512": ANA}),
    Case(
        "latin1_declared",
        GOOD.encode("latin-1"),
        "published",
        options="{encoding: latin-1}",
        expect={"004514": CHLOE},
        count_as=("latin-1", ","),
    ),
    Case(
        "latin1_undeclared",
        GOOD.encode("latin-1"),
        "rejected",
        rule="encoding",
        says=("byte 0xE9", "line 4", "options.encoding"),
        count_as=("latin-1", ","),
    ),
    Case(
        "utf16_declared",
        GOOD.encode("utf-16"),
        "published",
        options="{encoding: utf-16}",
        expect={"004514": CHLOE},
        count_as=("utf-16", ","),
    ),
    Case(
        "utf16_undeclared",
        GOOD.encode("utf-16"),
        "rejected",
        rule="encoding",
        says=("UTF-16", "options.encoding"),
        count_as=("utf-16", ","),
    ),
    Case(
        "invalid_utf8_bytes",
        lines(ROWS[0], ROWS[1], ROWS[2].replace("é", "\udcff"), ROWS[3]).encode(
            "utf-8", "surrogateescape"
        ),
        "rejected",
        rule="encoding",
        says=("byte 0xFF", "line 4"),
        count_as=("latin-1", ","),
    ),
    Case(
        "utf16_big_endian_without_bom_declared",
        GOOD.encode("utf-16-be"),
        "published",
        options="{encoding: utf-16}",
        expect={"004514": CHLOE},
        count_as=("utf-16-be", ","),
    ),
    Case(
        "utf32_declared_as_utf16",
        GOOD.encode("utf-32"),
        "rejected",
        rule="encoding",
        says=("NUL", "UTF-32"),
        options="{encoding: utf-16}",
        count_as=("utf-32", ","),
    ),
    Case(
        "nul_byte_in_utf8",
        lines(ROWS[0], ROWS[1].replace("Ben", "B\x00en"), ROWS[2]).encode(),
        "rejected",
        rule="encoding",
        says=("byte 0x00 at line 3", "not text"),
    ),
    # --- identifiers ----------------------------------------------------------------------
    Case(
        "id_leading_zeros",
        lines("000001,Ann,Lee,2015-03-04,0101", "0,Bo,Lee,2015-03-04,007").encode(),
        "published",
        expect={"000001": {"school_id": "0101"}, "0": {"school_id": "007"}},
    ),
    Case(
        "id_16_plus_digits",
        lines("1234567890123456789012,Ann,Lee,2015-03-04,9007199254740993").encode(),
        "published",
        expect={"1234567890123456789012": {"school_id": "9007199254740993"}},
    ),
    Case(
        "id_scientific_notation",
        lines(ROWS[0], "1.2E+07,Ann,Lee,2015-03-04,101", ROWS[1]).encode(),
        "published_with_quarantine",
        quarantined=((3, "id_in_scientific_notation"),),
    ),
    # --- dates ----------------------------------------------------------------------------
    Case("date_iso", GOOD.encode(), "published", expect={"004512": ANA}),
    Case(
        "date_us",
        lines("004512,Ana,Lopez,03/04/2015,101", "004513,Ben,Okafor,11/30/2014,101").encode(),
        "published",
        date_format="%m/%d/%Y",
        expect={"004512": ANA, "004513": {"birth_date": dt.date(2014, 11, 30)}},
    ),
    Case(
        "date_european",
        lines("004512,Ana,Lopez,04.03.2015,101", "004513,Ben,Okafor,30.11.2014,101").encode(),
        "published",
        date_format="%d.%m.%Y",
        expect={"004512": ANA, "004513": {"birth_date": dt.date(2014, 11, 30)}},
    ),
    Case(
        "date_in_another_format_than_declared",
        lines(ROWS[0], "004513,Ben,Okafor,11/30/2014,101", ROWS[2]).encode(),
        "published_with_quarantine",
        quarantined=((3, "date_format"),),
    ),
    # Excel serial day numbers (45903 = 2025-09-03) are not supported by quality.validate:
    # they must be quarantined by row, naming the value, never read as some other date.
    Case(
        "date_excel_serial",
        lines(ROWS[0], "004513,Ben,Okafor,41973,101", ROWS[2], ROWS[3]).encode(),
        "published_with_quarantine",
        quarantined=((3, "date_format"),),
    ),
    # --- quoting and line breaks ----------------------------------------------------------
    Case(
        "quoted_newline",
        lines('004512,"Ana\nMaria",Lopez,2015-03-04,101', ",Ben,Okafor,2014-11-30,101").encode(),
        "published_with_quarantine",
        quarantined=((3, "required"),),  # numbered by record, not by line
        expect={"004512": {"first_name": "Ana\nMaria"}},
    ),
    Case(
        "unescaped_quotes_inside_a_field",
        lines('004512,Ana "Annie",O"Brien,2015-03-04,101', ROWS[1]).encode(),
        "published",
        expect={"004512": {"first_name": 'Ana "Annie"', "last_name": 'O"Brien'}},
    ),
    # A quote inside a quoted field that is not doubled closes the field early; like Excel and
    # every CSV parser, the text after it is kept (the quotes move, no character is lost).
    Case(
        "unescaped_quotes_inside_a_quoted_field",
        lines('004512,"Ana "Annie" M",Lopez,2015-03-04,101', ROWS[1]).encode(),
        "published",
        expect={"004512": {"first_name": 'Ana Annie" M"', "last_name": "Lopez"}},
    ),
    Case(
        "doubled_quotes_inside_quoted_field",
        lines('004512,"Ana ""Annie""","Lopez, Jr",2015-03-04,101', ROWS[1]).encode(),
        "published",
        expect={"004512": {"first_name": 'Ana "Annie"', "last_name": "Lopez, Jr"}},
    ),
    Case(
        "cr_cr_lf_line_ends",
        lines(*ROWS, nl="\r\r\n").encode(),
        "published",
        expect={"004512": ANA, "004515": {"school_id": "102"}},
    ),
    Case(
        "mixed_line_ends",
        (HEADER + "\r\n" + ROWS[0] + "\n" + ROWS[1] + "\r" + ROWS[2] + "\r\r\n" + ROWS[3]).encode(),
        "published",
        expect={"004512": ANA, "004514": CHLOE, "004515": {"last_name": "Patel"}},
    ),
    Case(
        "truncated_last_line",
        lines(*ROWS[:3], "004515,De").removesuffix("\n").encode(),
        "published_with_quarantine",
        quarantined=((5, "required"),),  # the cut record lacks its required last name
    ),
    Case(
        "truncated_inside_quotes",
        (lines(*ROWS[:3]) + '004515,"Dev').encode(),
        "published_with_quarantine",
        quarantined=((5, "unterminated_quote"),),
    ),
    Case(
        "quote_left_open_over_many_lines",
        lines(ROWS[0], '004513,"Ben,Okafor,2014-11-30,101', ROWS[2], ROWS[3]).encode(),
        "rejected",
        rule="unterminated_quote",
        says=("line 3",),
    ),
    # --- delimiters -----------------------------------------------------------------------
    Case(
        "semicolon_declared",
        GOOD.replace(",", ";").encode(),
        "published",
        options='{delimiter: ";"}',
        expect={"004512": ANA},
        count_as=("utf-8", ";"),
    ),
    Case(
        "tab_declared",
        GOOD.replace(",", "\t").encode(),
        "published",
        options='{delimiter: "\\t"}',
        expect={"004514": CHLOE},
        count_as=("utf-8", "\t"),
    ),
    Case(
        "semicolon_undeclared",
        GOOD.replace(",", ";").encode(),
        "rejected",
        rule="missing_column",
        says=("StudentID",),
    ),
    # --- files with nothing in them -------------------------------------------------------
    Case("zero_bytes", b"", "rejected", rule="empty_file", says=("0 bytes",)),
    Case("only_blank_lines", b"\n\r\n  \n", "rejected", rule="empty_file"),
    Case("header_only", (HEADER + "\n").encode(), "rejected", rule="no_rows"),
    Case(
        "zip_delivered_to_a_csv_source",
        _zip_bytes(),
        "rejected",
        rule="unreadable",
        says=("zip",),
        name="roster_2025-09-05.zip",
        count_as=None,
    ),
    Case(
        "zip_that_is_not_a_zip",
        b"PK\x03\x04" + bytes(range(256)) * 4,
        "rejected",
        rule="unreadable",
        says=("zip",),
        name="roster_2025-09-05.zip",
        count_as=None,
    ),
    Case(
        "binary_garbage",
        bytes(range(128, 256)) * 8,
        "rejected",
        rule="encoding",
        says=("byte 0x80", "line 1"),
        count_as=None,
    ),
    # --- header and row shapes ------------------------------------------------------------
    Case(
        "header_repeated_mid_file",
        lines(ROWS[0], ROWS[1], HEADER, ROWS[2], ROWS[3]).encode(),
        "published_with_quarantine",
        quarantined=((4, "repeated_header"),),
    ),
    Case(
        "extra_column",
        lines(*(r + ",x" for r in ROWS), header=HEADER + ",Locker").encode(),
        "published",
        expect={"004512": ANA},
    ),
    Case(
        "missing_column",
        lines(
            *(r.rsplit(",", 2)[0] + "," + r.rsplit(",", 1)[1] for r in ROWS),
            header="StudentID,FirstName,LastName,School",
        ).encode(),
        "rejected",
        rule="missing_column",
        says=("BirthDate",),
    ),
    Case(
        "renamed_column_spacing_and_case",
        GOOD.replace("StudentID", "Student ID").replace("LastName", "last_name").encode(),
        "published",
        expect={"004512": ANA},
    ),
    Case(
        "renamed_column",
        GOOD.replace("StudentID", "PupilNumber").encode(),
        "rejected",
        rule="missing_column",
        says=("StudentID",),
    ),
    Case(
        "reordered_columns",
        lines(
            "101,2015-03-04,Lopez,Ana,004512",
            "102,2015-01-15,Martin,Chloé,004514",
            header="School,BirthDate,LastName,FirstName,StudentID",
        ).encode(),
        "published",
        expect={"004512": ANA, "004514": CHLOE},
    ),
    Case(
        "short_row_padded_then_judged",
        lines(ROWS[0], "004513,Ben", ROWS[2]).encode(),
        "published_with_quarantine",
        quarantined=((3, "required"),),
    ),
    Case(
        "long_row_with_filled_extra_field",
        lines(ROWS[0], ROWS[1] + ",surprise", ROWS[2], ROWS[3] + ",,").encode(),
        "published_with_quarantine",
        quarantined=((3, "too_many_fields"),),
        expect={"004515": {"school_id": "102"}},
    ),
    # --- keys -----------------------------------------------------------------------------
    Case(
        "duplicate_key_within_file",
        lines(*ROWS, "004512,Ana,Lopez-Diaz,2015-03-04,101").encode(),
        "rejected",
        rule="duplicate_key",
        says=("004512", "student_ref"),
    ),
    Case(
        "null_key_within_file",
        lines(
            ROWS[0], ",Ben,Okafor,2014-11-30,101", ROWS[2], "  ,Dev,Patel,2016-07-01,102"
        ).encode(),
        "published_with_quarantine",
        quarantined=((3, "required"), (5, "required")),
    ),
]


def write_source(sources_dir: Path, case_options: str = "{}", date_format: str = "%Y-%m-%d"):
    (sources_dir / "roster.yml").write_text(
        ROSTER_YML.format(options=case_options, date_format=date_format)
    )
    registry = load_registry(sources_dir)
    assert registry.errors == []
    return registry.sources["roster"]


def deliver(home, source, name: str, data: bytes) -> Path:
    folder = home.landing / source.landing
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def independent_count(path: Path, count_as: tuple[str, str] | None) -> int:
    if count_as is None or not path.stat().st_size:
        return 0
    encoding, delimiter = count_as
    return count_records(path, encoding=encoding, delimiter=delimiter)


def assert_one_sentence(message: str, file_name: str, row: int | None = None) -> None:
    assert message, "an empty message"
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message and 'File "' not in message, message
    assert file_name in message, message
    if row is not None:
        assert f"row {row}" in message, message


def published_by_ref(home) -> dict[str, dict]:
    rows = lake.read_published(home, "roster", "student")
    out = {}
    for rec in rows.to_dict(orient="records"):
        rec = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in rec.items()}
        if isinstance(rec["birth_date"], pd.Timestamp | dt.datetime):
            rec["birth_date"] = rec["birth_date"].date()
        out[rec["student_ref"]] = rec
    return out


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input_corpus(home, sources_dir, case: Case):
    source = write_source(sources_dir, case.options, case.date_format)
    path = deliver(home, source, case.name, case.data)
    read = independent_count(path, case.count_as)

    out = pipeline.process_delivery(source, path, home)  # never raises for a bad file

    [ledger] = lake.read_ledger(home, "roster").to_dict(orient="records")
    assert ledger["status"] == out.status == case.status, ledger["reason"]
    published = published_by_ref(home)
    q = lake.read_quarantine(home, "roster")
    report = out.report_path.read_text()
    assert "Traceback" not in report

    if case.status == "rejected":
        assert published == {}
        file_rows = q[q["row_number"].isna()]
        assert file_rows["rule"].tolist() == [case.rule]
        assert_one_sentence(ledger["reason"], case.name)
        assert file_rows["message"].iloc[0] == ledger["reason"]
        for words in case.says:
            assert words in ledger["reason"], ledger["reason"]
        assert f"{case.name} file: {ledger['reason']} (rule {case.rule})" in report
        assert (home.rejected / "roster" / out.delivery_id / case.name).exists()
    else:
        row_rules = sorted(zip(q["row_number"].astype(int), q["rule"], strict=True))
        assert sorted(set(row_rules)) == sorted(case.quarantined)
        for rec in q.to_dict(orient="records"):
            assert_one_sentence(rec["message"], case.name, rec["row_number"])
            assert f"(rule {rec['rule']})" in report
        if case.quarantined:
            assert_one_sentence(ledger["reason"], case.name, case.quarantined[0][0])
        for ref, values in case.expect.items():
            assert ref in published, sorted(published)
            assert {k: published[ref][k] for k in values} == values
        assert (home.archive / "roster" / out.delivery_id / case.name).exists()

    assert not path.exists()
    assert len(published) == ledger["rows_published"]
    assert ledger["rows_read"] == ledger["rows_published"] + ledger["rows_quarantined"]
    assert ledger["rows_read"] == read, f"independent count {read}, ledger {ledger}"


# --- keys across deliveries ---------------------------------------------------------------


def test_same_key_in_a_later_delivery_wins_in_staging(home, sources_dir):
    source = write_source(sources_dir)
    deliver(home, source, "roster_2025-09-05.csv", GOOD.encode())
    deliver(
        home,
        source,
        "roster_2025-09-06.csv",
        lines("004512,Ana,Lopez-Diaz,2015-03-04,103", ROWS[1]).encode(),
    )
    registry = load_registry(sources_dir)
    outs = pipeline.process_pending(registry, home, settle=0)
    assert [o.status for o in outs] == ["published", "published"]
    current = lake.current_rows(home, "roster", "student", "incremental")
    by_ref = current.set_index("student_ref")
    assert sorted(by_ref.index) == ["004512", "004513", "004514", "004515"]
    assert by_ref.loc["004512", "last_name"] == "Lopez-Diaz"
    assert by_ref.loc["004512", "school_id"] == "103"
    assert by_ref.loc["004514", "last_name"] == "Martin"  # untouched by the later delivery


def test_later_dated_delivery_wins_even_when_processed_first(home, sources_dir):
    source = write_source(sources_dir)
    later = deliver(
        home,
        source,
        "roster_2025-09-06.csv",
        lines("004512,Ana,Lopez-Diaz,2015-03-04,103").encode(),
    )
    pipeline.process_delivery(source, later, home)
    earlier = deliver(home, source, "roster_2025-09-05.csv", GOOD.encode())
    pipeline.process_delivery(source, earlier, home)
    current = lake.current_rows(home, "roster", "student", "incremental").set_index("student_ref")
    assert current.loc["004512", "last_name"] == "Lopez-Diaz"
    assert len(current) == 4


def test_null_keys_never_reach_the_lake_in_any_delivery(home, sources_dir):
    source = write_source(sources_dir)
    for day, ref in ((5, ""), (6, '""')):
        deliver(
            home,
            source,
            f"roster_2025-09-{day:02d}.csv",
            lines(ROWS[day - 5], f"{ref},Zed,Null,2015-03-04,101").encode(),
        )
    outs = pipeline.process_pending(load_registry(sources_dir), home, settle=0)
    assert [o.status for o in outs] == ["published_with_quarantine"] * 2
    assert lake.read_published(home, "roster", "student")["student_ref"].notna().all()
    current = lake.current_rows(home, "roster", "student", "incremental")
    assert sorted(current["student_ref"]) == ["004512", "004513"]
    q = lake.read_quarantine(home, "roster")
    assert q[["row_number", "rule", "column_name"]].values.tolist() == [
        [3, "required", "student_ref"],
        [3, "required", "student_ref"],
    ]


def test_date_format_without_a_strptime_directive_is_refused_at_load(sources_dir):
    (sources_dir / "roster.yml").write_text(
        ROSTER_YML.format(options="{}", date_format="MM/DD/YYYY")
    )
    registry = load_registry(sources_dir)
    assert [e.key for e in registry.errors] == ["columns.birth_date.format"]
    assert "strptime" in str(registry.errors[0])


def test_excel_serial_dates_are_read_when_declared(home, sources_dir):
    (sources_dir / "roster.yml").write_text(
        ROSTER_YML.format(options="{}", date_format="excel_serial")
    )
    source = load_registry(sources_dir).sources["roster"]
    body = lines(
        ROWS[0].replace("2015-03-04", "42067"),
        "004513,Ben,Okafor,41973,101",
        "004514,Cy,Ng,4.5,101",
    )
    out = pipeline.process_delivery(source, deliver(home, source, NAME, body.encode()), home)
    assert out.status == "published_with_quarantine"
    assert out.quarantine[["row_number", "rule"]].values.tolist() == [[4, "date_format"]]
    rows = lake.read_published(home, "roster", "student").set_index("student_ref")
    assert rows.loc["004512", "birth_date"] == pd.Timestamp("2015-03-04")
    assert rows.loc["004513", "birth_date"] == pd.Timestamp("2014-11-30")


def test_tab_delimiter_spelled_out_in_yaml_is_accepted(home, sources_dir):
    source = write_source(sources_dir, "{delimiter: tab}")
    path = deliver(home, source, NAME, GOOD.replace(",", "\t").encode())
    assert pipeline.process_delivery(source, path, home).status == "published"
