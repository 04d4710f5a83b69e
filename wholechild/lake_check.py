"""``wholechild check-lake``: is the lake whole? Nothing lost, nothing half-published.

Write-audit-publish promises that every published delivery holds exactly the rows its
ledger row says it published. Storage can break that promise behind the platform's back:
a bucket lifecycle rule or a clean-up script deleting objects, a copy to a new volume that
stopped halfway, a disk error. This check reads only file footers (row counts) and the
ledger, on a directory or an object store alike, and reports in one sentence each:

* ``count_mismatch``: a delivery's entity files hold another number of rows than its
  ledger row's ``rows_written`` says were written (files lost, truncated or added); a
  ledger row older than that column is counted as unverified;
* ``unreadable``: a file of a published delivery is not readable Parquet;
* ``uncommitted``: a publish that never committed (``_incoming/<id>`` on a directory, a
  folder without a ledger in an object store): harmless (nothing reads it, the delivery
  publishes again) and swept by the source's next publish once stale; fresh ones may be
  a publish in progress.

The first two are problems (``check-lake`` exits 1); leftovers are reported only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from wholechild import lake_store
from wholechild.config import Paths
from wholechild.lake import read_ledger

PROBLEMS = ("count_mismatch", "unreadable")


@dataclass(frozen=True)
class Finding:
    kind: str
    location: str
    message: str

    @property
    def is_problem(self) -> bool:
        return self.kind in PROBLEMS

    def as_dict(self) -> dict:
        return asdict(self) | {"is_problem": self.is_problem}


@dataclass
class LakeCheck:
    deliveries: int
    files: int
    rows: int
    findings: list[Finding]
    #: deliveries whose ledger row predates ``rows_written``: readable, not counted
    unverified: int = 0

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.is_problem]


def check(paths: Paths) -> LakeCheck:
    """Every committed delivery's row count against its ledger row, and the leftovers."""
    store = paths.store
    ledger = read_ledger(paths)
    written = ledger["rows_written"] if "rows_written" in ledger else [None] * len(ledger)
    expected_rows = {
        (str(s), str(d)): None if n is None or pd.isna(n) else int(n)
        for s, d, n in zip(ledger["source"], ledger["delivery_id"], written, strict=True)
    }
    unverified = 0
    findings: list[Finding] = []
    n_files = n_rows = 0
    committed = store.committed()
    for (source, delivery), names in committed.items():
        folder = store.url("raw", source, delivery)
        rows = 0
        readable = True
        for name in names:
            if name.startswith("_"):  # the ledger and the quarantine
                continue
            url = f"{folder}/{name}"
            n_files += 1
            try:
                rows += store.num_rows(url)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is the finding
                readable = False
                findings.append(
                    Finding(
                        "unreadable",
                        url,
                        f"{url} is not readable Parquet ({type(exc).__name__}: {exc}); restore "
                        "it from a backup, or delete the delivery's folder and deliver the "
                        "file again.",
                    )
                )
        n_rows += rows
        expected = expected_rows.get((source, delivery))
        if expected is None:
            unverified += 1
        elif readable and rows != expected:
            findings.append(
                Finding(
                    "count_mismatch",
                    folder,
                    f"{folder} holds {rows:,} published rows but its ledger row says "
                    f"{expected:,} were written; files were lost or changed after publishing (check the "
                    "storage's lifecycle rules and clean-up jobs), restore them or deliver "
                    "the file again.",
                )
            )
    for location, age in store.uncommitted():
        stale = age >= lake_store.STALE_SECONDS
        findings.append(
            Finding(
                "uncommitted",
                location,
                f"{location} is a publish that never committed, untouched for "
                f"{age / 3600:.1f} h; nothing reads it, "
                + (
                    "and the source's next publish removes it."
                    if stale
                    else "and it may be a publish in progress."
                ),
            )
        )
    return LakeCheck(len(committed), n_files, n_rows, findings, unverified)
