"""The UI end to end: the Dagster webserver on the demo warehouse, then headless Chromium.

Builds the demo district once (300 students) and its HTML report, starts
``dagster-webserver`` on loopback against ``workspace.yaml`` with the instance of
``orchestration.runtime.ensure_dagster_home`` (what ``make dagster`` does), and asks its
GraphQL API what a newcomer should see: one asset group per whole-child domain (the
unconnected one included), raw assets with owners, kinds and contract checks, and a
landing sensor per source, running by default, and the coverage the demo recorded. Then
Chromium takes screenshots of the global asset lineage, of the coverage asset's page and
of the report, and the test checks they rendered: PNGs of the window's size that are not
blank, and the key labels in the page's DOM.

Chromium: Debian's ``chromium`` (``.ci/run`` installs it when missing; as root with
apt-get this test installs it too). Only when it can be neither found nor installed do
the screenshot tests skip, saying why. ``WHOLECHILD_CHROMIUM`` names another binary;
``WHOLECHILD_SCREENSHOTS=DIR`` keeps the PNGs to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest

from orchestration.cli import main
from orchestration.defs.sources.sensors import sensor_name
from schemas import DOMAINS, ENTITIES
from tests.conftest import ROOT
from wholechild.registry import load_registry
from wholechild.report.html import SECTIONS, TITLE

pytestmark = pytest.mark.slow

SOURCES = ROOT / "sources"
#: The demo registers no health system: the graph must show that gap.
UNCONNECTED = "health"
WINDOW = (1600, 1000)
#: Starting the webserver loads the code location, which parses the dbt project.
SERVER_TIMEOUT = 300
CHROMIUM_TIMEOUT = 180
#: As root on a machine with no network of its own: no sandbox, no GPU, and none of
#: Chromium's background connections (they are refused here, many at a time).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--no-proxy-server",  # the webserver is on loopback
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
    # Virtual time runs the page's timers and requests before the capture.
    "--virtual-time-budget=15000",
)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """The demo district (300 students) built once, with its HTML report."""
    home = tmp_path_factory.mktemp("browser") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WHOLECHILD_HOME", str(home))
        mp.setenv("WHOLECHILD_SOURCES", str(SOURCES))
        code = main(["demo", "--students", "300"])
        assert code == 0, f"wholechild demo exited {code}"
        assert main(["report"]) == 0
        from wholechild import config

        yield config.paths()


@pytest.fixture(scope="module")
def webserver(demo_home):
    """``dagster-webserver -w workspace.yaml`` on a free loopback port: its base URL."""
    from orchestration.runtime import ensure_dagster_home

    binary = Path(sys.executable).with_name("dagster-webserver")
    if not binary.exists():
        binary = Path(shutil.which("dagster-webserver") or binary)
    port = _free_port()
    env = {
        **os.environ,
        "WHOLECHILD_HOME": str(demo_home.home),
        "WHOLECHILD_SOURCES": str(SOURCES),
        "DAGSTER_HOME": str(ensure_dagster_home(demo_home)),
    }
    log_path = demo_home.home / "webserver.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(binary), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the code server goes with it
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_loaded(base, proc, log_path)
        # Dagster greets a new browser on 127.0.0.1 with a community sign-up dialog over
        # the page; mark it seen in this instance so the screenshots show the graph.
        _graphql(base, "mutation { setNuxSeen }")
        yield base
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _find_chromium()
    if found is None:
        problem = _install_chromium()
        found = _find_chromium()
        if found is None:
            pytest.skip(
                f"Chromium is not installed and could not be installed ({problem}); "
                "install Debian's chromium (apt-get install chromium) or run .ci/run, which does."
            )
    return found


# --------------------------------------------------------------------------- GraphQL
ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    kinds
    description
    owners {
      __typename
      ... on UserAssetOwner { email }
      ... on TeamAssetOwner { team }
    }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking } }
    }
  }
}
"""

REPOSITORY_QUERY = """
{
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        assetGroups { groupName }
        sensors { name sensorType sensorState { status } }
      }
    }
    ... on PythonError { message }
  }
}
"""

COVERAGE_QUERY = """
{
  assetOrError(assetKey: {path: ["coverage", "interoperability"]}) {
    __typename
    ... on Asset {
      assetMaterializations(limit: 1) {
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on TextMetadataEntry { text }
          ... on MarkdownMetadataEntry { mdStr }
        }
      }
    }
  }
}
"""

WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""


def test_asset_groups_show_every_whole_child_domain(webserver):
    nodes = _graphql(webserver, ASSETS_QUERY)["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    groups = {n["groupName"] for n in nodes}
    assert set(DOMAINS) <= groups, f"domains without a group: {set(DOMAINS) - groups}"

    # The gap is visible: a placeholder asset in the domain's own group says how to close it.
    gap = by_key.get(f"coverage/unconnected/{UNCONNECTED}")
    assert gap is not None, sorted(by_key)
    assert gap["groupName"] == UNCONNECTED and "coverage" in gap["kinds"]
    assert "Not connected" in gap["description"]
    unconnected = [k for k in by_key if k.startswith("coverage/unconnected/")]
    assert unconnected == [f"coverage/unconnected/{UNCONNECTED}"]
    assert "coverage/interoperability" in by_key

    # Every registered source's entities are raw assets in their domain's group, owned by
    # the source's steward, with their format as a kind and blocking contract checks.
    registry = load_registry(SOURCES)
    for name, source in registry.sources.items():
        for entity in source.entities:
            node = by_key.get(f"raw/{name}/{entity}")
            assert node is not None, f"raw/{name}/{entity} missing from the graph"
            assert node["groupName"] == ENTITIES[entity].domain
            assert node["owners"], f"raw/{name}/{entity} has no owner"
            assert {source.format, "parquet"} <= set(node["kinds"]), node["kinds"]
            checks = node["assetChecksOrError"]["checks"]
            assert any(c["blocking"] for c in checks), f"raw/{name}/{entity}: {checks}"
    # Everything says what it is.
    undescribed = [k for k, n in by_key.items() if not (n["description"] or "").strip()]
    assert not undescribed
    assert all(n["kinds"] for n in nodes)


def test_a_landing_sensor_per_source_runs_by_default(webserver):
    repos = _graphql(webserver, REPOSITORY_QUERY)["repositoriesOrError"]
    assert repos["__typename"] == "RepositoryConnection", repos
    (repo,) = repos["nodes"]
    assert repo["location"]["name"] == "wholechild"
    assert set(DOMAINS) <= {g["groupName"] for g in repo["assetGroups"]}
    status = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    for name in load_registry(SOURCES).sources:
        assert status.get(sensor_name(name)) == "RUNNING", (sensor_name(name), status)
    assert status.get("wholechild_automation_sensor") == "RUNNING", status


def test_the_demo_coverage_is_in_the_instance(webserver):
    """What ``make demo`` recorded: the UI shows the coverage without running anything."""
    asset = _graphql(webserver, COVERAGE_QUERY)["assetOrError"]
    assert asset["__typename"] == "Asset", asset
    (latest,) = asset["assetMaterializations"]
    meta = {e["label"]: e for e in latest["metadataEntries"]}
    assert meta["domains"]["intValue"] == len(DOMAINS)
    assert meta["domains_connected"]["intValue"] == len(DOMAINS) - 1
    assert meta["unconnected_domains"]["text"] == UNCONNECTED
    table = meta["coverage"]["mdStr"]
    assert all(d in table for d in DOMAINS), table


# --------------------------------------------------------------------------- Chromium
def test_asset_graph_renders_in_chromium(webserver, chromium, tmp_path):
    url = f"{webserver}/asset-groups"  # "Global asset lineage": every group, collapsed
    png = _screenshot(chromium, url, tmp_path / "asset_graph.png")
    stats = _png_stats(png)
    assert stats["size"] == WINDOW, stats
    assert stats["colors"] >= 50 and stats["ink"] >= 0.02, f"{png} looks blank: {stats}"

    dom = _dump_dom(chromium, url)
    assert "Global asset lineage" in dom, dom[-2000:]
    # The group tree lists every domain; the graph draws the groups in view as nodes.
    missing = [d for d in DOMAINS if f'title="{d}"' not in dom]
    assert not missing, f"domains not on the page: {missing}"
    assert "data-svg-viewport" in dom
    drawn = [d for d in (*DOMAINS, "coverage") if f'data-tooltip="{d}"' in dom]
    assert len(drawn) >= 6, f"the graph drew only {drawn}"


def test_coverage_asset_page_renders_in_chromium(webserver, chromium, tmp_path):
    url = f"{webserver}/assets/coverage/interoperability"
    png = _screenshot(chromium, url, tmp_path / "coverage_asset.png")
    stats = _png_stats(png)
    assert stats["size"] == WINDOW, stats
    assert stats["colors"] >= 50 and stats["ink"] >= 0.02, f"{png} looks blank: {stats}"

    dom = _dump_dom(chromium, url)
    for label in ("interoperability", "domains_connected", "unconnected_domains"):
        assert label in dom, f"{label!r} not on the coverage asset's page"
    assert f">{UNCONNECTED}<" in dom


def test_html_report_renders_in_chromium(demo_home, chromium, tmp_path):
    report = demo_home.home / "reports" / "wholechild_report.html"
    assert report.is_file()
    png = _screenshot(chromium, report.as_uri(), tmp_path / "report.png")
    stats = _png_stats(png)
    assert stats["size"] == WINDOW, stats
    assert stats["colors"] >= 20 and stats["ink"] >= 0.02, f"{png} looks blank: {stats}"

    dom = _dump_dom(chromium, report.as_uri())
    assert TITLE in dom
    # Every section, with its heading (the overview's is the page title).
    missing = [h for sid, h in SECTIONS if f'id="{sid}"' not in dom]
    missing += [h for sid, h in SECTIONS if sid != "overview" and h not in dom]
    assert not missing, f"report sections not rendered: {missing}"
    assert all(d in dom for d in DOMAINS)


# --------------------------------------------------------------------------- helpers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


#: Loopback needs no proxy, whatever the environment says.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _graphql(base: str, query: str, timeout: float = 60) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with _LOCAL.open(request, timeout=timeout) as response:
        body = json.load(response)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def _wait_until_loaded(base: str, proc: subprocess.Popen, log_path: Path) -> None:
    """Until /server_info answers and the code location has loaded; fail clearly if not."""
    deadline = time.monotonic() + SERVER_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"dagster-webserver exited with {proc.returncode} before serving; "
                f"log tail:\n{_log_tail(log_path)}"
            )
        try:
            with _LOCAL.open(f"{base}/server_info", timeout=5) as r:
                json.load(r)
            entries = _graphql(base, WORKSPACE_QUERY, timeout=30)["workspaceOrError"][
                "locationEntries"
            ]
            (entry,) = entries
            loaded = entry["locationOrLoadError"] or {}
            if loaded.get("__typename") == "PythonError":
                pytest.fail(f"the wholechild code location failed to load: {loaded['message']}")
            if entry["loadStatus"] == "LOADED":
                return
            last = f"code location {entry['loadStatus'].lower()}"
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = str(exc)
        time.sleep(1)
    pytest.fail(
        f"dagster-webserver did not serve the wholechild location within {SERVER_TIMEOUT}s "
        f"({last}); log tail:\n{_log_tail(log_path)}"
    )


def _stop(proc: subprocess.Popen) -> None:
    """Stop the webserver and its code server: the whole process group."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def _find_chromium() -> str | None:
    names = [os.environ.get("WHOLECHILD_CHROMIUM", "")]
    names += ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
    for name in filter(None, names):
        found = shutil.which(name)
        if found:
            return found
    return None


def _install_chromium() -> str:
    """Debian's chromium, as .ci/run installs it; one sentence on why not otherwise."""
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    if os.geteuid() != 0:
        return "installing it needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
    ):
        try:
            proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(args)}` timed out"
        if proc.returncode != 0:
            tail = " ".join((proc.stdout + proc.stderr).strip().splitlines()[-2:])
            return f"`{' '.join(args)}` failed: {tail}"
    return "apt-get installed no chromium binary"


def _chromium(chromium: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="wholechild-chromium-") as profile:
        proc = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            timeout=CHROMIUM_TIMEOUT,
        )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    return proc


def _screenshot(chromium: str, url: str, out: Path) -> Path:
    _chromium(chromium, f"--screenshot={out}", url)
    assert out.is_file() and out.stat().st_size > 0, f"Chromium wrote no screenshot of {url}"
    keep = os.environ.get("WHOLECHILD_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, Path(keep) / out.name)
    return out


def _dump_dom(chromium: str, url: str) -> str:
    return _chromium(chromium, "--dump-dom", url).stdout.decode("utf-8", errors="replace")


def _png_stats(path: Path) -> dict:
    """Size, distinct colours and the share of pixels unlike the commonest colour (ink)."""
    import numpy as np

    width, height, channels, rows = _decode_png(path.read_bytes())
    pixels = rows.reshape(height, width, channels)[..., :3].astype(np.uint32)
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    values, counts = np.unique(packed, return_counts=True)
    return {
        "size": (width, height),
        "colors": int(len(values)),
        "ink": round(1 - float(counts.max()) / packed.size, 4),
    }


def _decode_png(data: bytes):
    """8-bit RGB/RGBA/grey PNG (what Chromium writes) -> (width, height, channels, bytes)."""
    import numpy as np

    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, color, _c, _f, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    assert depth == 8 and channels and not interlace, f"unsupported PNG {header}"
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: running sum per channel
            cur = np.cumsum(line.reshape(width, channels), axis=0).reshape(-1) & 0xFF
        elif kind == 2:  # Up
            cur = (line + prev) & 0xFF
        else:  # Average (3) or Paeth (4): each byte depends on the one before it
            cur, up = line.tolist(), prev.tolist()
            for i in range(stride):
                left = cur[i - channels] if i >= channels else 0
                if kind == 3:
                    cur[i] = (cur[i] + ((left + up[i]) >> 1)) & 0xFF
                else:
                    ul = up[i - channels] if i >= channels else 0
                    p = left + up[i] - ul
                    pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else ul)
                    cur[i] = (cur[i] + pred) & 0xFF
            cur = np.array(cur, dtype=np.int32)
        out[y] = cur
        prev = cur
    return width, height, channels, out
