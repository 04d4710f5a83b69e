"""The landing zone: which deliveries are complete and which are new.

A delivery is a file (or, for OneRoster, a folder or zip) directly inside
``landing/<source>/``. It is complete when a ``<name>.done`` marker sits beside it, or when
its size and mtime have not changed for the settle interval. Its identity is the SHA-256
of its bytes, never its name or the wall clock: the same bytes twice load once, and a
corrected file under the same name is new (teamster #4993 is the lesson).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

#: Seconds a file's size and mtime must stay still before it counts as complete.
DEFAULT_SETTLE_SECONDS = 10.0
IGNORED_PREFIXES = (".", "_", "~$")
IGNORED_SUFFIXES = (".done", ".tmp", ".part", ".crdownload", ".filepart")
NAME_DATE = re.compile(r"(?<!\d)(20\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")


def settle_seconds() -> float:
    return float(os.environ.get("WHOLECHILD_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))


@dataclass(frozen=True)
class LandedFile:
    path: Path
    size: int
    mtime: float

    @property
    def name(self) -> str:
        return self.path.name


def date_in_name(name: str) -> dt.date | None:
    """The first valid calendar date in a file name (2025-09-30 or 20250930), if any."""
    for m in NAME_DATE.finditer(name):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None


def tree_signature(path: Path) -> tuple[int, float]:
    """Size and newest mtime of a delivery: a file, or a bundle folder and everything in it."""
    if path.is_dir():
        size, mtime = 0, path.stat().st_mtime
        for p in sorted(path.rglob("*")):
            if p.is_file():
                st = p.stat()
                size += st.st_size
                mtime = max(mtime, st.st_mtime)
        return size, mtime
    st = path.stat()
    return st.st_size, st.st_mtime


def list_landed(folder: Path) -> list[LandedFile]:
    """Candidate deliveries in one source's landing folder, oldest name date first.

    Symlinks are skipped: a delivery must be a real file inside the landing folder, so a
    link cannot smuggle in a file from elsewhere on the machine.
    """
    if not folder.is_dir():
        return []
    out = []
    for p in folder.iterdir():
        if p.name.startswith(IGNORED_PREFIXES) or p.name.endswith(IGNORED_SUFFIXES):
            continue
        if p.is_symlink():
            continue
        try:
            size, mtime = tree_signature(p)
        except FileNotFoundError:  # filed away by another process while we listed
            continue
        out.append(LandedFile(p, size, mtime))
    return sorted(out, key=apply_order_key)


def is_deletes(name: str) -> bool:
    """An Ed-Fi change export's deletes file (``schools.deletes.2022-07-14.json``)."""
    return ".deletes." in name.lower() or name.lower().startswith("deletes.")


def apply_order_key(f: LandedFile) -> tuple:
    """Deliveries apply in the order of the date in their name, else their arrival.

    Of one date in their names, a deletes file applies after the other files: an Ed-Fi
    change export of one window carries both, and a record upserted then deleted in it
    must end deleted. Undated files keep their arrival order.
    """
    d = date_in_name(f.name)
    if d is None:
        return (dt.date.fromtimestamp(f.mtime), False, f.mtime, f.name)
    return (d, is_deletes(f.name), f.mtime, f.name)


def is_settled(f: LandedFile, now: float | None = None, settle: float | None = None) -> bool:
    """Complete: a ``.done`` marker, or no change for the settle interval."""
    if f.path.with_name(f.path.name + ".done").exists():
        return True
    now = time.time() if now is None else now
    settle = settle_seconds() if settle is None else settle
    return now - f.mtime >= settle


def sha256_of(path: Path) -> str:
    """Content hash of a file, or of a folder's files (names and bytes, in name order)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(p.relative_to(path).as_posix().encode() + b"\0")
                _feed(h, p)
    else:
        _feed(h, path)
    return h.hexdigest()


def _feed(h, path: Path) -> None:
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
