"""Where the lake's bytes live: a directory, or an object store reached through fsspec.

The lake's layout is the same on both (see :mod:`wholechild.lake`); what differs is how a
delivery is published so that a reader sees it entirely or not at all:

* **A filesystem** (a local disk, or a shared volume: NFS, EFS, Azure Files). A delivery's
  files are written under ``_incoming/<delivery_id>/`` and the directory is then renamed
  into ``raw/<source>/<delivery_id>/``, one atomic step. Readers glob ``raw/``, so the
  DuckDB views over it are live.
* **An object store** (``s3://``, ``gs://``, ``abfs://``... whatever fsspec implementation
  is installed). There is no rename, but one object appears entirely or not at all. The
  delivery's files are uploaded straight into ``raw/<source>/<delivery_id>/`` and
  ``_ledger.parquet`` goes last: **the ledger is the commit marker**. Readers list the
  prefix and keep only the delivery folders that hold a ledger, so a delivery being
  uploaded (or one whose upload died) is invisible. The DuckDB views name the committed
  files explicitly, so they show the deliveries committed when they were last refreshed
  (every build refreshes them first).

A publish that dies leaves unpublished files (``_incoming/<id>/``, or a ledger-less folder
in the object store). Nothing read them, the ledger has no row for them, and the delivery
is still in the landing zone, so it runs again under a new id; the leftovers are swept away
once untouched for :data:`STALE_SECONDS`.

Test hooks (never set them in production): ``WHOLECHILD_TEST_PAUSE_BEFORE_COMMIT`` and
``WHOLECHILD_TEST_PAUSE_AFTER_COMMIT`` are seconds a commit sleeps just before and just after
its atomic step (the rename, or the ledger's upload), so ``tests/test_faults.py`` can kill
a process at a known point.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.parquet as pq

LEDGER_FILE = "_ledger.parquet"
QUARANTINE_FILE = "_quarantine.parquet"

#: Unpublished files untouched this long belong to a process that died mid-publish.
#: Generous on purpose: a live writer touches its delivery with every file it adds.
STALE_SECONDS = 6 * 3600.0

PAUSE_BEFORE_COMMIT = "WHOLECHILD_TEST_PAUSE_BEFORE_COMMIT"
PAUSE_AFTER_COMMIT = "WHOLECHILD_TEST_PAUSE_AFTER_COMMIT"

#: ``WHOLECHILD_LAKE_OPTIONS``: a JSON object of fsspec storage options for an object-store
#: lake (``{"endpoint_url": ...}``, ``{"profile": ...}``); credentials are better left to
#: the store's own environment (``AWS_*``, ``GOOGLE_APPLICATION_CREDENTIALS``...).
OPTIONS_VARIABLE = "WHOLECHILD_LAKE_OPTIONS"

#: What ``read_parquet`` reads for one file name across deliveries: a glob (filesystem),
#: a list of URLs (object store), or None when no committed delivery has the file.
Scan = str | list[str] | None


@dataclass(frozen=True)
class LakeFile:
    """One file of a committed delivery; ``stamp`` changes whenever the file does."""

    url: str
    stamp: tuple


def literal_pattern(path: Path | str) -> str:
    """One local file as a glob that matches exactly it, whatever characters its path holds
    (DuckDB reads every path as a glob)."""
    return glob.escape(str(path))


def _pause(variable: str) -> None:
    """The fault tests' hook (see the module docstring); a no-op unless the variable is set."""
    seconds = os.environ.get(variable)
    if seconds:
        time.sleep(float(seconds))


class LocalStore:
    """A lake in a directory; deliveries are published by renaming their directory."""

    is_local = True

    def __init__(self, root: Path):
        self.root_path = Path(root)
        self.root = str(self.root_path)

    def url(self, *parts: str) -> str:
        return str(self.root_path.joinpath(*parts))

    @property
    def raw(self) -> Path:
        return self.root_path / "raw"

    @property
    def incoming(self) -> Path:
        return self.root_path / "_incoming"

    def ensure(self) -> None:
        self.raw.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    # -- files ------------------------------------------------------------------------

    def write_parquet(self, table: pa.Table, url: str, *, private: bool = False) -> None:
        """Write durably; ``private`` files are readable by the owner only, and replace an
        earlier version in one step (a reader never sees half a file)."""
        path = Path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        target = path.with_name(f".{path.name}.tmp") if private else path
        if private:  # owner-only before the first byte is written
            os.chmod(path.parent, 0o700)
        pq.write_table(table, target, compression="zstd")
        with target.open("rb") as fh:
            os.fsync(fh.fileno())
        if private:
            os.chmod(target, 0o600)
            os.replace(target, path)

    def read_table(self, url: str) -> pa.Table:
        return pq.read_table(url)

    def exists(self, url: str) -> bool:
        return Path(url).is_file()

    def pattern(self, source: str | None, file: str) -> str:
        """The glob of one file name in every delivery of a source (or of all sources).

        The root is escaped, so a path such as ``/srv/district [test]`` is matched literally
        by Python and DuckDB alike (both read ``[[]`` as a literal ``[``); unescaped, the
        lake would look empty and every delivery would load again.
        """
        source_part = "*" if source is None else glob.escape(source)
        return f"{glob.escape(str(self.raw))}/{source_part}/*/{glob.escape(file)}"

    def files(self, source: str | None, file: str) -> list[LakeFile]:
        out = []
        for name in sorted(glob.glob(self.pattern(source, file))):
            try:
                st = os.stat(name)
            except FileNotFoundError:  # its delivery directory was removed meanwhile
                continue
            out.append(LakeFile(name, (st.st_ino, st.st_mtime_ns, st.st_size)))
        return out

    def scan(self, source: str | None, file: str) -> Scan:
        pattern = self.pattern(source, file)
        return pattern if glob.glob(pattern) else None

    def scan_one(self, url: str) -> Scan:
        return literal_pattern(url) if self.exists(url) else None

    def register(self, con):
        """DuckDB reads a directory natively; nothing to register."""
        return con

    def folders(self) -> dict[tuple[str, str], list[str]]:
        """(source, delivery id) -> its file names, for every folder under ``raw/`` (each
        came in by the rename, ledger and all)."""
        out: dict[tuple[str, str], list[str]] = {}
        for folder in sorted(glob.glob(f"{glob.escape(str(self.raw))}/*/*/")):
            d = Path(folder)
            out[(d.parent.name, d.name)] = sorted(p.name for p in d.iterdir() if p.is_file())
        return out

    def uncommitted(self) -> list[tuple[str, float]]:
        """(folder, seconds since last touched) of every publish not (yet) renamed in."""
        if not self.incoming.is_dir():
            return []
        now = time.time()
        out = []
        for d in sorted(self.incoming.iterdir()):
            try:
                if d.is_dir() and not d.is_symlink():
                    out.append((str(d), now - _last_touched(d)))
            except OSError:  # renamed into the lake or swept by another process meanwhile
                continue
        return out

    def num_rows(self, url: str) -> int:
        return pq.ParquetFile(url).metadata.num_rows

    # -- publishing -------------------------------------------------------------------

    def open_delivery(
        self, source: str, delivery_id: str, filed: frozenset[str] = frozenset()
    ) -> DeliveryWriter:
        """Start writing a delivery (``filed``: ids whose landed file was filed away, which
        only an object store's sweep needs)."""
        work = self.incoming / delivery_id
        if work.exists():
            shutil.rmtree(work)  # leftovers of a crashed attempt: never published, safe to drop
        self.sweep()
        work.mkdir(parents=True)
        return DeliveryWriter(self, source, delivery_id, str(work))

    def commit(self, writer: DeliveryWriter, ledger: pa.Table) -> str:
        """Write the ledger into the finished directory, then rename it into ``raw/``."""
        work = Path(writer.folder)
        self.write_parquet(ledger, str(work / LEDGER_FILE))
        dest_parent = self.raw / writer.source
        dest_parent.mkdir(parents=True, exist_ok=True)
        dest = dest_parent / writer.delivery_id
        _fsync_dir(work)
        _pause(PAUSE_BEFORE_COMMIT)
        os.rename(work, dest)
        _fsync_dir(dest_parent)
        _pause(PAUSE_AFTER_COMMIT)
        return str(dest)

    def sweep(self, older_than: float = STALE_SECONDS) -> list[str]:
        """Remove ``_incoming`` directories of publishes that died; returns what went."""
        removed = []
        for folder, age in self.uncommitted():
            if age < older_than:
                continue
            try:
                shutil.rmtree(folder)
                removed.append(folder)
            except OSError:  # renamed into the lake or swept by another process meanwhile:
                continue  # housekeeping never fails a publish
        return removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_touched(d: Path) -> float:
    stamps = [d.stat().st_mtime]
    stamps += [p.stat().st_mtime for p in d.iterdir()]
    return max(stamps)


class ObjectStore:
    """A lake in an object store; a delivery is committed by uploading its ledger last."""

    is_local = False

    def __init__(self, root: str, options: dict | None = None):
        import fsspec

        protocol = root.split("://", 1)[0]
        options = dict(options or {})
        # Another process commits deliveries while this one runs (the sensor daemon, a
        # second run): a cached listing would hide their ledgers from every later read.
        options.setdefault("use_listings_cache", False)
        try:
            self.fs = fsspec.filesystem(protocol, **options)
        except (ImportError, ValueError) as exc:
            raise ValueError(
                f"WHOLECHILD_LAKE={root!r} needs the fsspec implementation of {protocol}:// "
                f"({exc}); install it (pip install 'wholechild[s3]' for s3://, gcsfs for "
                "gs://, adlfs for abfs://)."
            ) from None
        self.root = root.rstrip("/")

    def url(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def _key(self, url: str) -> str:
        """The store's own name of a URL (fsspec names have no protocol)."""
        return self.fs._strip_protocol(url)

    def ensure(self) -> None:
        """Fail in one sentence when the lake's prefix cannot be listed (no such bucket,
        no credentials, no permission). Only the prefix is listed, so a policy that grants
        the lake's prefix and nothing else of the bucket is enough."""
        key = self._key(self.root)
        try:
            try:
                self.fs.ls(key, detail=False)
            except FileNotFoundError:  # a new lake (nothing under the prefix yet), or no bucket:
                self.fs.find(f"{key}/raw")  # empty for the first, raises for the second
        except Exception as exc:
            # Configuration, not an outage: no bucket, no access, no credentials (botocore's
            # credential errors are not OSErrors). A network error stays what it is.
            if not isinstance(exc, FileNotFoundError | PermissionError) and (
                "Credentials" not in type(exc).__name__
            ):
                raise
            bucket = key.split("/", 1)[0]
            raise ValueError(
                f"WHOLECHILD_LAKE={self.root!r} cannot be listed ({type(exc).__name__}: "
                f"{exc}); check that the bucket {bucket!r} exists and that this process has "
                "credentials with list, read and write access to the prefix."
            ) from None

    # -- files ------------------------------------------------------------------------

    def write_parquet(self, table: pa.Table, url: str, *, private: bool = False) -> None:
        """One upload; the object appears whole when it completes. ``private`` files rely
        on the bucket's policy for their access (docs/DEPLOY.md)."""
        with self.fs.open(url, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")

    def read_table(self, url: str) -> pa.Table:
        with self.fs.open(url, "rb") as fh:
            return pq.read_table(fh)

    def exists(self, url: str) -> bool:
        self.fs.invalidate_cache(self._key(url))
        return self.fs.isfile(url)

    def _listing(self, prefix: str) -> dict[str, dict]:
        """Every object under ``prefix``, freshly listed (another process may have added
        some since this process last looked)."""
        key = self._key(prefix)
        self.fs.invalidate_cache(key)
        try:
            return self.fs.find(key, detail=True)
        except FileNotFoundError:
            return {}

    def _deliveries(self, source: str | None) -> dict[tuple[str, str], dict[str, dict]]:
        """(source, delivery id) -> file name -> object info, for every delivery folder."""
        raw = self._key(self.url("raw"))
        prefix = self.url("raw") if source is None else self.url("raw", source)
        out: dict[tuple[str, str], dict[str, dict]] = {}
        for key, info in self._listing(prefix).items():
            parts = PurePosixPath(key).relative_to(raw).parts
            if len(parts) == 3:
                out.setdefault((parts[0], parts[1]), {})[parts[2]] = info
        return out

    def files(self, source: str | None, file: str) -> list[LakeFile]:
        """The file in every committed delivery (one holding a ledger), in path order."""
        out = []
        for (src, delivery), names in self._deliveries(source).items():
            if LEDGER_FILE in names and file in names:
                info = names[file]
                stamp = (info.get("ETag") or info.get("etag"), info.get("size"))
                out.append(LakeFile(self.url("raw", src, delivery, file), stamp))
        return sorted(out, key=lambda f: f.url)

    def scan(self, source: str | None, file: str) -> Scan:
        return [f.url for f in self.files(source, file)] or None

    def scan_one(self, url: str) -> Scan:
        return [url] if self.exists(url) else None

    def folders(self) -> dict[tuple[str, str], list[str]]:
        """(source, delivery id) -> its file names, for every delivery folder (a folder
        without a ledger is an upload that has not committed, or lost its ledger)."""
        return {k: sorted(names) for k, names in sorted(self._deliveries(None).items())}

    def uncommitted(self) -> list[tuple[str, float]]:
        """(folder, seconds since last touched) of every delivery folder without a ledger."""
        now = dt.datetime.now(dt.UTC)
        out = []
        for (src, delivery), names in sorted(self._deliveries(None).items()):
            if LEDGER_FILE in names:
                continue
            touched = [t for t in (_modified(i) for i in names.values()) if t is not None]
            age = (now - max(touched)).total_seconds() if touched else 0.0
            out.append((self.url("raw", src, delivery), age))
        return out

    def num_rows(self, url: str) -> int:
        with self.fs.open(url, "rb") as fh:
            return pq.ParquetFile(fh).metadata.num_rows

    def register(self, con):
        """Let a DuckDB connection read the store's URLs through this fsspec filesystem
        (once: DuckDB refuses a second registration under the same name)."""
        protocol = self.fs.protocol
        name = protocol if isinstance(protocol, str) else protocol[0]  # DuckDB's name for it
        if name not in con.list_filesystems():
            con.register_filesystem(self.fs)
        return con

    # -- publishing -------------------------------------------------------------------

    def open_delivery(
        self, source: str, delivery_id: str, filed: frozenset[str] = frozenset()
    ) -> DeliveryWriter:
        """Start writing a delivery; sweeps the source's dead uploads, never a folder whose
        delivery id is in ``filed`` (its landed file was filed away: it was published, and
        a ledger-less folder of it lost its ledger, which ``check-lake`` reports)."""
        folder = self.url("raw", source, delivery_id)
        deliveries = self._deliveries(source)
        names = deliveries.pop((source, delivery_id), {})
        if LEDGER_FILE in names:  # the local store's rename would fail here too
            raise FileExistsError(f"{folder} is already published; a delivery id is used once.")
        if names:  # a crashed attempt under this id: never committed, safe to drop
            self.fs.rm([self._key(f"{folder}/{name}") for name in names])
        self.sweep(source, listed=deliveries, filed=filed)
        return DeliveryWriter(self, source, delivery_id, folder)

    def commit(self, writer: DeliveryWriter, ledger: pa.Table) -> str:
        """Upload the ledger: from this moment on the delivery is published."""
        _pause(PAUSE_BEFORE_COMMIT)
        self.write_parquet(ledger, f"{writer.folder}/{LEDGER_FILE}")
        _pause(PAUSE_AFTER_COMMIT)
        return writer.folder

    def sweep(
        self,
        source: str | None = None,
        older_than: float = STALE_SECONDS,
        listed: dict[tuple[str, str], dict[str, dict]] | None = None,
        filed: frozenset[str] = frozenset(),
    ) -> list[str]:
        """Remove delivery folders without a ledger, untouched for ``older_than`` seconds
        (uploads that died), except those of ``filed`` delivery ids; returns what went.
        ``listed`` is a listing just taken."""
        now = dt.datetime.now(dt.UTC)
        removed = []
        for (src, delivery), names in (listed or self._deliveries(source)).items():
            if LEDGER_FILE in names or delivery in filed:
                continue
            touched = [_modified(info) for info in names.values()]
            if all(t is not None for t in touched) and (
                (now - max(touched)).total_seconds() >= older_than
            ):
                folder = self.url("raw", src, delivery)
                # The listed objects only, never the folder: a ledger uploaded since the
                # listing (a writer that stalled for hours, then committed) must stay.
                try:
                    self.fs.rm([self._key(f"{folder}/{name}") for name in names])
                    removed.append(folder)
                except OSError:  # another process swept it: housekeeping never fails
                    continue
        return removed


def _modified(info: dict) -> dt.datetime | None:
    value = info.get("LastModified") or info.get("mtime") or info.get("updated")
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


LakeStore = LocalStore | ObjectStore


@dataclass
class DeliveryWriter:
    """The files of one delivery being published; :meth:`commit` makes them visible."""

    store: LakeStore
    source: str
    delivery_id: str
    folder: str

    def write(self, name: str, table: pa.Table) -> None:
        self.store.write_parquet(table, f"{self.folder}/{name}")

    def commit(self, ledger: pa.Table) -> str:
        """Publish: the ledger is written last, atomically with the delivery's visibility."""
        return self.store.commit(self, ledger)


def is_uri(value: str) -> bool:
    return "://" in value and not value.startswith("file://")


def storage_options() -> dict:
    """``WHOLECHILD_LAKE_OPTIONS`` as a dict (empty when unset)."""
    text = os.environ.get(OPTIONS_VARIABLE, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{OPTIONS_VARIABLE} is not valid JSON ({exc.msg} at character {exc.pos}); give "
            'an object of fsspec storage options, e.g. {"endpoint_url": "http://minio:9000"}.'
        ) from None
    if not isinstance(value, dict):
        raise ValueError(
            f"{OPTIONS_VARIABLE} must be a JSON object of fsspec storage options, "
            f"not a {type(value).__name__}."
        )
    return value


def open_store(root: Path | str) -> LakeStore:
    """The store of a lake root: a directory, or an object-store URI."""
    if isinstance(root, str) and is_uri(root):
        return ObjectStore(root, storage_options())
    return LocalStore(Path(root))
