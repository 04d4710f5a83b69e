"""Where wholechild keeps its state, read from the environment once per call.

Every path the platform touches derives from ``WHOLECHILD_HOME`` so a test (or a second
district on one machine) is fully isolated by pointing that variable elsewhere.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

#: Used when WHOLECHILD_PSEUDONYM_KEY is unset. Public on purpose: it only suits the demo.
DEMO_PSEUDONYM_KEY = "wholechild-demo-key-not-for-real-students"


@dataclass(frozen=True)
class Paths:
    """The state layout under one ``WHOLECHILD_HOME`` (see PRODUCT.md, Configuration)."""

    home: Path
    #: Root of the Parquet lake (``WHOLECHILD_LAKE``); None: ``home / "lake"``.
    lake_root: Path | None = None

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def rejected(self) -> Path:
        return self.home / "rejected"

    @property
    def lake(self) -> Path:
        return self.lake_root if self.lake_root is not None else self.home / "lake"

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
            self.lake_raw,
            self.lake_staging,
            self.share,
            self.dagster_home,
            self.locks,
        ):
            p.mkdir(parents=True, exist_ok=True)
        return self


def home() -> Path:
    return Path(os.environ.get("WHOLECHILD_HOME", "./.wholechild")).resolve()


def lake_root() -> Path | None:
    """``WHOLECHILD_LAKE``: where the Parquet lake lives, when not under the home.

    A shared volume every engine and pod reads (docs/DEPLOY.md). It must be a filesystem
    with an atomic ``rename`` within it (local disks, NFS, EFS, Azure Files): a delivery
    is published by renaming its directory from ``_incoming/`` into ``raw/``, both under
    this root. Object-storage URIs (``s3://``...) have no atomic rename and are refused
    until publishing there writes a commit marker instead.
    """
    value = os.environ.get("WHOLECHILD_LAKE", "").strip()
    if not value:
        return None
    if value.startswith("file://"):
        value = value.removeprefix("file://")
    elif "://" in value:
        raise ValueError(
            f"WHOLECHILD_LAKE={value!r} is an object-storage URI, which wholechild cannot "
            "publish to atomically yet; give a local or shared-volume path (docs/DEPLOY.md)."
        )
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
