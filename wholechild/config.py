"""Where wholechild keeps its state, read from the environment once per call.

Every path the platform touches derives from ``WHOLECHILD_HOME`` so a test (or a second
district on one machine) is fully isolated by pointing that variable elsewhere.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

#: Used when WHOLECHILD_PSEUDONYM_KEY is unset. Public on purpose: it only suits the demo.
DEMO_PSEUDONYM_KEY = "wholechild-demo-key-not-for-real-students"


@dataclass(frozen=True)
class Paths:
    """The state layout under one ``WHOLECHILD_HOME`` (see PRODUCT.md, Configuration)."""

    home: Path
    #: Root of the Parquet lake (``WHOLECHILD_LAKE``): a directory, or an object-store URI
    #: such as ``s3://bucket/prefix`` (a str); None: ``home / "lake"``.
    lake_root: Path | str | None = None

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def rejected(self) -> Path:
        return self.home / "rejected"

    @cached_property
    def store(self):
        """The lake's storage (``wholechild.lake_store``): every read and write of the lake
        goes through it, so a directory and an object store behave alike."""
        from wholechild.lake_store import open_store

        return open_store(self.lake_root if self.lake_root is not None else self.home / "lake")

    @property
    def lake_location(self) -> str:
        """The lake root as a person reads it: a path or a URI."""
        return self.store.root

    @property
    def lake(self) -> Path:
        """The lake's directory; an object-store lake has none (use :attr:`store`)."""
        if not self.store.is_local:
            raise TypeError(f"the lake {self.store.root} is an object store, not a directory")
        return self.store.root_path

    @property
    def lake_raw(self) -> Path:
        return self.lake / "raw"

    @property
    def lake_staging(self) -> Path:
        """Scratch space for deliveries being written; renamed into ``lake_raw`` to publish."""
        return self.lake / "_incoming"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def pii(self) -> Path:
        return self.home / "pii.duckdb"

    @property
    def share(self) -> Path:
        return self.home / "share"

    @property
    def analytics(self) -> Path:
        return self.home / "analytics.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def locks(self) -> Path:
        return self.home / "locks"

    def landing_for(self, landing_name: str) -> Path:
        return self.landing / landing_name

    def ensure(self) -> Paths:
        for p in (
            self.landing,
            self.archive,
            self.rejected,
            self.share,
            self.dagster_home,
            self.locks,
        ):
            p.mkdir(parents=True, exist_ok=True)
        self.store.ensure()
        return self


def home() -> Path:
    return Path(os.environ.get("WHOLECHILD_HOME", "./.wholechild")).resolve()


def lake_root() -> Path | str | None:
    """``WHOLECHILD_LAKE``: where the Parquet lake lives, when not under the home.

    Either a directory every engine and pod can read (a shared volume with an atomic
    ``rename``: local disks, NFS, EFS, Azure Files), or an object-store URI such as
    ``s3://bucket/prefix``, reached through fsspec with the options in
    ``WHOLECHILD_LAKE_OPTIONS``. ``wholechild.lake_store`` says how each publishes a
    delivery atomically (docs/DEPLOY.md).
    """
    value = os.environ.get("WHOLECHILD_LAKE", "").strip()
    if not value:
        return None
    if value.startswith("file://"):
        value = value.removeprefix("file://")
    elif "://" in value:
        scheme = value.split("://", 1)[0]
        if not scheme or not scheme.replace("-", "").replace("+", "").isalnum():
            raise ValueError(f"WHOLECHILD_LAKE={value!r} is neither a path nor a URI.")
        if any(c in value for c in "*?[]{}"):
            # DuckDB reads every URL as a glob, and an object store has no escape for it.
            raise ValueError(
                f"WHOLECHILD_LAKE={value!r} holds a glob character (* ? [ ] {{ }}), which "
                "DuckDB would read as a pattern; choose a prefix without them."
            )
        return value.rstrip("/")
    return Path(value).resolve()


def paths() -> Paths:
    return Paths(home(), lake_root())


def sources_dir() -> Path:
    return Path(os.environ.get("WHOLECHILD_SOURCES", "./sources")).resolve()


def project_root() -> Path:
    """The checkout: ``dbt_project/`` lives beside the Python packages."""
    return Path(__file__).resolve().parent.parent


def dbt_project_dir() -> Path:
    return project_root() / "dbt_project"


_warned = False


def pseudonym_key() -> bytes:
    """The secret for keyed hashing of student ids; warns once when the demo key is used."""
    global _warned
    key = os.environ.get("WHOLECHILD_PSEUDONYM_KEY")
    if key:
        return key.encode()
    if not _warned:
        print(
            "warning: WHOLECHILD_PSEUDONYM_KEY is not set; using the public demo key, "
            "which is fine for the demo district and wrong for real students.",
            file=sys.stderr,
        )
        _warned = True
    return DEMO_PSEUDONYM_KEY.encode()
