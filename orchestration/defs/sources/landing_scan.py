"""Which landed files a source's sensor should request a run for: pure, no Dagster.

A delivery is requested once it is complete (``landing.is_settled``: a ``.done`` marker, or
size and mtime still for the settle interval) and its bytes are new: not already loaded
(the ledger knows every sha256 a source ever processed) and not already requested (the
cursor). The cursor stores what was seen, ``{file name: [size, mtime, sha256]}`` for the
files still in the landing folder, never the wall clock, so a re-upload under the same
name with new bytes is new, and the same bytes under a new name are not (teamster #4993).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wholechild import landing


@dataclass(frozen=True)
class Seen:
    """A settled file as the sensor last saw it."""

    size: int
    mtime: float
    sha256: str

    def as_list(self) -> list:
        return [self.size, self.mtime, self.sha256]


@dataclass(frozen=True)
class Delivery:
    """A complete, new delivery the sensor requests a run for."""

    name: str
    path: Path
    sha256: str
    size: int
    mtime: float
    #: requested before, but its run ended without publishing (it died): run it again
    retry: bool = False


@dataclass
class Scan:
    requests: list[Delivery] = field(default_factory=list)
    cursor: dict[str, Seen] = field(default_factory=dict)
    files: int = 0
    being_written: list[str] = field(default_factory=list)
    already_loaded: list[str] = field(default_factory=list)
    already_requested: list[str] = field(default_factory=list)
    settle: float = 0.0

    def skip_reason(self, folder_label: str) -> str:
        """Why nothing was requested, in one sentence (empty when something was)."""
        if self.requests:
            return ""
        if not self.files:
            return f"No files in {folder_label}."
        parts = []
        if self.being_written:
            parts.append(
                f"{len(self.being_written)} file(s) still being written (waiting for "
                f"{self.settle:g}s without change or a .done marker): {_names(self.being_written)}"
            )
        if self.already_loaded:
            parts.append(
                f"{len(self.already_loaded)} file(s) already loaded (same bytes as an earlier "
                f"delivery): {_names(self.already_loaded)}"
            )
        if self.already_requested:
            parts.append(
                f"{len(self.already_requested)} file(s) already seen and requested: "
                f"{_names(self.already_requested)}"
            )
        return f"Nothing new in {folder_label}: " + "; ".join(parts) + "."


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def decode_cursor(cursor: str | None) -> dict[str, Seen]:
    """The cursor as ``{name: Seen}``; an unreadable cursor counts as nothing seen."""
    if not cursor:
        return {}
    try:
        raw = json.loads(cursor)
        return {str(k): Seen(int(v[0]), float(v[1]), str(v[2])) for k, v in raw.items()}
    except (ValueError, TypeError, IndexError, AttributeError):
        return {}


def encode_cursor(seen: dict[str, Seen]) -> str:
    return json.dumps({k: seen[k].as_list() for k in sorted(seen)}, sort_keys=True)


def scan_landing(
    folder: Path,
    cursor: dict[str, Seen],
    loaded_shas: Callable[[], Iterable[str]],
    *,
    settle: float | None = None,
    now: float | None = None,
    run_ended: Callable[[str], bool] | None = None,
) -> Scan:
    """Decide, for every file in ``folder``, whether to request it now.

    ``loaded_shas`` (the source's ledger) is called at most once, and only when a settled
    file is present. ``run_ended(sha256)`` says whether every run requested for those bytes
    has finished: a file still in landing whose runs ended without a ledger row died
    before publishing, and is requested again (the ledger, not the run key, says what
    was loaded).
    """
    settle = landing.settle_seconds() if settle is None else settle
    scan = Scan(settle=settle)
    files = landing.list_landed(folder)
    scan.files = len(files)
    known = {s.sha256 for s in cursor.values()}
    loaded: set[str] | None = None
    for f in files:
        if not landing.is_settled(f, now=now, settle=settle):
            scan.being_written.append(f.name)
            continue
        prev = cursor.get(f.name)
        if prev is not None and prev.size == f.size and prev.mtime == f.mtime:
            sha = prev.sha256  # unchanged since last seen: no need to hash it again
        else:
            try:
                sha = landing.sha256_of(f.path)
            except FileNotFoundError:  # filed away between listing and hashing
                continue
        scan.cursor[f.name] = Seen(f.size, f.mtime, sha)
        if loaded is None:
            loaded = set(loaded_shas())
        if sha in loaded:
            scan.already_loaded.append(f.name)
        elif sha in known and run_ended is not None and run_ended(sha):
            scan.requests.append(Delivery(f.name, f.path, sha, f.size, f.mtime, retry=True))
        elif sha in known:
            scan.already_requested.append(f.name)
        else:
            known.add(sha)
            scan.requests.append(Delivery(f.name, f.path, sha, f.size, f.mtime))
    return scan
