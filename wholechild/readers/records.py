"""An independent count of a CSV's data records, for checking the readers' bookkeeping.

Deliberately shares no code with the CSV reader (no csv module, no pyarrow, no scanner):
it walks the characters once with its own state machine, so "rows read = rows published +
rows quarantined" can be checked against something that did not produce those numbers.
"""

from __future__ import annotations

from pathlib import Path

_START, _UNQUOTED, _QUOTED, _QUOTE_IN_QUOTED = range(4)


def count_records(
    path: Path | str, encoding: str = "utf-8", delimiter: str = ",", quotechar: str = '"'
) -> int:
    """Data records in a CSV whose header is its first record.

    A record ends at ``\\r\\n``, ``\\r`` or ``\\n`` outside quotes. One whose fields hold
    nothing but whitespace (a blank line, ``,,,``) is not a record; one left inside an open
    quote at the end of the file is (the reader reports it as a bad record).
    """
    text = Path(path).read_bytes().decode(encoding).removeprefix("\ufeff")
    records = 0
    state = _START
    content = False  # the current record has a value that is not whitespace
    after_cr = False
    for ch in text:
        if state == _QUOTED:
            if ch == quotechar:
                state = _QUOTE_IN_QUOTED
            elif not ch.isspace():
                content = True
            continue
        if state == _QUOTE_IN_QUOTED:
            if ch == quotechar:  # a doubled quote is a quote character in the value
                content = True
                state = _QUOTED
                continue
            state = _UNQUOTED  # the quote closed the field; fall through for this character
        if ch == "\n" and after_cr:
            after_cr = False
            continue
        after_cr = ch == "\r"
        if ch in "\r\n":
            records += content
            content = False
            state = _START
        elif ch == delimiter:
            state = _START
        elif state == _START and ch == quotechar:
            state = _QUOTED
        else:
            state = _UNQUOTED
            if not ch.isspace():
                content = True
    if content or state == _QUOTED:
        records += 1
    return max(records - 1, 0)
