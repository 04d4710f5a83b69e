"""``wholechild check-lake``: is the lake whole? Nothing lost, nothing half-published.

Write-audit-publish promises that every published delivery holds exactly the rows its
ledger row says it published. Storage can break that promise behind the platform's back:
a bucket lifecycle rule or a clean-up script deleting objects, a copy to a new volume that
stopped halfway, a disk error. This check reads only file footers (row counts) and the
ledger, on a directory or an object store alike, and reports in one sentence each:

* ``count_mismatch``: a delivery's entity files hold another number of rows than its
  ledger row's ``rows_written`` says were written (files lost, truncated or added); a
  ledger row older than that column is counted as unverified;
* ``unreadable``: a file of a published delivery (its ledger and quarantine too) is not
  readable Parquet;
* ``ledger_lost``: a published delivery's folder without its ledger (on a directory every
  folder came in by the rename, ledger and all; in an object store, one whose landed file
  was filed away): its rows are read by nothing now;
* ``misplaced``: a folder holding another delivery's ledger (a copy under a new name),
  whose rows the views read twice;
* ``uncommitted``: a publish that never committed (``_incoming/<id>`` on a directory, a
  folder without a ledger in an object store): harmless (nothing reads it, the delivery
  publishes again) and swept by the source's next publish once stale; fresh ones may be
  a publish in progress.

All but the last are problems (``check-lake`` exits 1); leftovers are reported only.
Each folder is judged by its own ledger file, not by the ledger view, so a lost or broken
ledger is found too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from wholechild import lake_store
from wholechild.config import Paths
from wholechild.lake import filed_away
from wholechild.lake_store import LEDGER_FILE

PROBLEMS = ("count_mismatch", "unreadable", "ledger_lost", "misplaced")


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
    """Every delivery folder on its own: its ledger, its files' row counts, its place."""
    store = paths.store
    findings: list[Finding] = []
    deliveries = n_files = n_rows = unverified = 0
    folders = store.folders()
    filed = {source: filed_away(paths, source) for source, _ in folders}
    for (source, delivery), names in folders.items():
        folder = store.url("raw", source, delivery)
        if LEDGER_FILE not in names:
            if store.is_local or delivery in filed.get(source, ()):
                findings.append(Finding("ledger_lost", folder, _LOST.format(folder=folder)))
            continue  # an object store's upload in progress or dead: listed below
        deliveries += 1
        ledger = _read(store, f"{folder}/{LEDGER_FILE}", findings)
        rows = 0
        readable = ledger is not None
        for name in names:
            if name.startswith(".") or not name.endswith(".parquet") or name == LEDGER_FILE:
                continue  # stray files (.DS_Store, .nfs*) are no part of the delivery
            counted = _rows(store, f"{folder}/{name}", findings)
            if name.startswith("_"):  # the quarantine: readable is enough
                readable = readable and counted is not None
                continue
            n_files += 1
            readable = readable and counted is not None
            rows += counted or 0
        n_rows += rows
        if ledger is None:
            continue
        row = ledger.to_pylist()[0] if ledger.num_rows else {}
        if (row.get("source"), row.get("delivery_id")) != (source, delivery):
            findings.append(
                Finding(
                    "misplaced",
                    folder,
                    f"{folder} holds the ledger of delivery {row.get('delivery_id')} of "
                    f"{row.get('source')}: a copy under another name, whose rows every view "
                    "reads a second time; remove the copy.",
                )
            )
        written = row.get("rows_written")
        if written is None:
            unverified += 1
        elif readable and rows != written:
            findings.append(
                Finding(
                    "count_mismatch",
                    folder,
                    f"{folder} holds {rows:,} published rows but its ledger row says "
                    f"{written:,} were written; files were lost or changed after publishing "
                    "(check the storage's lifecycle rules and clean-up jobs), restore them or "
                    "deliver the file again.",
                )
            )
    for location, age in store.uncommitted():
        source, delivery = location.rstrip("/").split("/")[-2:]
        if not store.is_local and delivery in filed.get(source, ()):
            continue  # reported above as ledger_lost
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
    return LakeCheck(deliveries, n_files, n_rows, findings, unverified)


_LOST = (
    "{folder} has no _ledger.parquet although its delivery was published (its landed file "
    "was filed away, or it came in by the rename with its ledger): nothing reads its rows "
    "now; restore the ledger from a backup, or delete the folder and deliver the file again."
)


def _read(store, url: str, findings: list[Finding]):
    try:
        return store.read_table(url)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the finding
        findings.append(_unreadable(url, exc))
        return None


def _rows(store, url: str, findings: list[Finding]) -> int | None:
    try:
        return store.num_rows(url)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the finding
        findings.append(_unreadable(url, exc))
        return None


def _unreadable(url: str, exc: Exception) -> Finding:
    return Finding(
        "unreadable",
        url,
        f"{url} is not readable Parquet ({type(exc).__name__}: {exc}); restore it from a "
        "backup, or delete the delivery's folder and deliver the file again.",
    )
