"""The two ways a reader says no: the whole file, or one record of it."""

from __future__ import annotations

from dataclasses import dataclass


class DeliveryRejected(Exception):
    """A file-level failure: nothing from the file is published.

    ``rule`` is a stable snake_case id the ledger and reports group by; ``message`` is the one
    sentence a data engineer reads, so it names the file and says what to do.
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep rule and message when the error crosses a process boundary
        return (type(self), (self.rule, self.message))


@dataclass
class BadRecord:
    """A record the reader could not turn into a row; it is quarantined, the rest is read."""

    row_number: int
    rule: str
    message: str
    raw: str
