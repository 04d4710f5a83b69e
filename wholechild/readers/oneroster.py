"""OneRoster 1.1/1.2 CSV bundles: a folder or a zip holding ``manifest.csv`` and its files.

The manifest says the version (``oneroster.version``) and, per file, whether the bundle
carries it whole (``bulk``), as changes (``delta``) or not at all (``absent``). Each member
CSV is read by the ordinary CSV reader (BOM, padding of short rows, empty extra fields:
the same rules as any delivery), so :class:`Bundle` holds one :class:`RawTable` per file.
Which files feed which entity is :mod:`wholechild.standards.oneroster`'s business.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from wholechild.readers.errors import DeliveryRejected
from wholechild.readers.table import STRING, RawTable
from wholechild.readers.text import to_utf8

MANIFEST = "manifest.csv"
VERSIONS = ("1.0", "1.1", "1.2")
FILE_MODES = ("bulk", "delta", "absent")
#: A member larger than this (uncompressed) is refused: a zip bomb must not fill the disk.
MAX_MEMBER_BYTES = 4 << 30


@dataclass
class Bundle:
    """The files of one OneRoster delivery, read as text tables."""

    label: str  # the delivery's name: what messages call the bundle
    version: str
    manifest: dict[str, str]
    tables: dict[str, RawTable] = field(default_factory=dict)  # "users" -> users.csv
    modes: dict[str, str] = field(default_factory=dict)  # "users" -> bulk | delta

    def member_label(self, stem: str) -> str:
        return f"{self.label}:{stem}.csv"


def read_bundle(path: Path, wanted: tuple[str, ...], options: dict | None = None) -> Bundle:
    """Read the manifest and the ``wanted`` files (stems: ``users``, ``orgs``...) it lists.

    A wanted file the manifest lists as ``bulk``/``delta`` but the bundle lacks rejects the
    delivery; one it lists as ``absent`` (or not at all) is simply not in the bundle.
    """
    path = Path(path)
    if path.is_dir():
        return _read(path.name, _FolderSource(path), wanted, options)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DeliveryRejected(
                "not_a_zip",
                f"{path.name}: is not a readable zip archive ({type(exc).__name__}); send the "
                "OneRoster bundle as a .zip of its CSV files or as a folder.",
            ) from exc
        with archive, tempfile.TemporaryDirectory(prefix="wholechild-oneroster-") as tmp:
            return _read(path.name, _ZipSource(archive, Path(tmp), path.name), wanted, options)
    raise DeliveryRejected(
        "not_a_bundle",
        f"{path.name}: a OneRoster delivery is a folder or a .zip holding manifest.csv and "
        "its CSV files, not a single file.",
    )


class _FolderSource:
    def __init__(self, root: Path):
        self.root = root
        files = [p for p in root.rglob("*") if p.is_file()]
        manifests = [p for p in files if p.name.lower() == MANIFEST]
        base = min(manifests, key=lambda p: len(p.parts)).parent if manifests else root
        self.members = {p.name.lower(): p for p in base.iterdir() if p.is_file()}

    def get(self, name: str) -> Path | None:
        return self.members.get(name.lower())


class _ZipSource:
    def __init__(self, archive: zipfile.ZipFile, tmp: Path, label: str):
        self.archive, self.tmp, self.label = archive, tmp, label
        try:
            infos = [i for i in archive.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError) as exc:
            raise DeliveryRejected(
                "not_a_zip", f"{label}: the zip archive is damaged ({exc}); send it again."
            ) from exc
        manifests = [i for i in infos if PurePosixPath(i.filename).name.lower() == MANIFEST]
        base = (
            min((PurePosixPath(i.filename).parent for i in manifests), key=lambda p: len(p.parts))
            if manifests
            else PurePosixPath(".")
        )
        self.members = {
            PurePosixPath(i.filename).name.lower(): i
            for i in infos
            if PurePosixPath(i.filename).parent == base
        }

    def get(self, name: str) -> Path | None:
        info = self.members.get(name.lower())
        if info is None:
            return None
        if info.file_size > MAX_MEMBER_BYTES:
            raise DeliveryRejected(
                "too_large",
                f"{self.label}:{name}: unpacks to {info.file_size} bytes, over the "
                f"{MAX_MEMBER_BYTES} bytes a bundle member may have.",
            )
        # Extract under the member's own base name only: no path from the archive is used.
        target = self.tmp / PurePosixPath(info.filename).name
        try:
            with self.archive.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DeliveryRejected(
                "not_a_zip",
                f"{self.label}:{name}: cannot be unpacked ({type(exc).__name__}); send the "
                "bundle again.",
            ) from exc
        return target


def _manifest(label: str, file: Path | None, options: dict | None) -> dict[str, str]:
    if file is None:
        raise DeliveryRejected(
            "no_manifest",
            f"{label}: has no manifest.csv; a OneRoster bundle names its version and files "
            "in manifest.csv.",
        )
    opts = options or {}
    text = to_utf8(file.read_bytes(), opts.get("encoding") or "utf-8", file).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    out: dict[str, str] = {}
    for row in rows[1:]:
        if len(row) >= 2 and row[0].strip():
            out[row[0].strip().lower()] = row[1].strip()
    return out


def _read(label: str, src, wanted: tuple[str, ...], options: dict | None) -> Bundle:
    manifest = _manifest(label, src.get(MANIFEST), options)
    version = manifest.get("oneroster.version", "")
    if version not in VERSIONS:
        raise DeliveryRejected(
            "unsupported_version",
            f"{label}:manifest.csv: oneroster.version is '{version}'; wholechild reads "
            f"OneRoster {', '.join(VERSIONS)} CSV bundles.",
        )
    bundle = Bundle(label=label, version=version, manifest=manifest)
    for stem in wanted:
        declared = manifest.get(f"file.{stem.lower()}", "").lower()
        if declared and declared not in FILE_MODES:
            raise DeliveryRejected(
                "manifest",
                f"{label}:manifest.csv: file.{stem} is '{declared}'; it must be one of "
                f"{', '.join(FILE_MODES)}.",
            )
        if declared == "absent":
            continue
        file = src.get(f"{stem}.csv")
        if file is None:
            if declared:
                raise DeliveryRejected(
                    "missing_file",
                    f"{label}: manifest.csv lists {stem}.csv as {declared}, but the bundle "
                    "has no such file; send the complete bundle.",
                )
            continue
        bundle.tables[stem] = _read_member(bundle, stem, file, options)
        bundle.modes[stem] = declared or "bulk"
    return bundle


def _read_member(bundle: Bundle, stem: str, file: Path, options: dict | None) -> RawTable:
    """One member CSV; a member with a header and no rows is an empty table (a delta
    often has nothing to say about a file), never a rejection of the bundle."""
    from wholechild.readers import read_table

    try:
        return read_table(file, "csv", options)
    except DeliveryRejected as exc:
        if exc.rule in ("no_rows", "empty_file"):
            return _empty(file, options)
        raise DeliveryRejected(exc.rule, f"{bundle.label}:{exc.message}") from exc


def _empty(file: Path, options: dict | None) -> RawTable:
    opts = options or {}
    data = file.read_bytes()
    headers: list[str] = []
    if data.strip():
        text = to_utf8(data, opts.get("encoding") or "utf-8", file).decode("utf-8")
        first = next(csv.reader(io.StringIO(text)), [])
        headers = [h.strip() for h in first if h.strip()]
    frame = pd.DataFrame({h: pd.Series([], dtype=STRING) for h in headers})
    return RawTable(file, headers, frame, np.array([], dtype=np.int64), [])
