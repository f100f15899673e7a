"""Chaos: `lakesmith synth generate` killed with SIGKILL at random points, then run again.

Each re-run must give the tables of a clean run with the same seed (the generator is
seed-deterministic); right after a kill a reader sees each table as it was or complete, the
manifest pins one whole generation, no worker process outlives the job, and `lakesmith doctor`
lists exactly the uncommitted files and `--fix` removes them without touching committed ones.
Bounded for CI: 6 kills of a ~1 s generation.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from deltalake import DeltaTable

from conftest import Project
from lakesmith.synth.check import manifest_versions
from lakesmith.synth.job import MANIFEST
from lakesmith.synth.schema import TABLE_NAMES
from lakesmith.testing import chaos

pytestmark = pytest.mark.chaos

SPEC = "households: 12000\nblock_households: 1000\nseed: {seed}\n"
SEEDS = (7, 8)
YOUNG = ("--min-age", "0")  # the leftovers of a kill a moment ago count too
DOWNSTREAM = """\
name: main
nodes:
  - name: households
    inputs: {src: {table: synth.identity_graph.households}}
    write: {table: gold.households, mode: overwrite}
"""


def generate(project: Project, seed: int, kill_after: float | None = None) -> tuple[int, float]:
    """Run the CLI; with ``kill_after``, SIGKILL it then. Its exit code and seconds taken.

    After a kill, waits until every process the job started (workers, the fork server) is gone.
    """
    spec = project.write(f"spec_{seed}.yaml", SPEC.format(seed=seed))
    command = [sys.executable, "-m", "lakesmith.cli.main", "synth", "generate", str(spec)]
    started = time.monotonic()
    proc = subprocess.Popen(
        [*command, "--warehouse", "warehouse", "--workers", "2", "--no-validate"],
        cwd=project.root,
        env=chaos.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    family: set[int] = set()
    if kill_after is not None:
        chaos.kill_at(proc, started + kill_after, each=lambda: family.update(descendants(proc.pid)))
    code = proc.wait(timeout=300)
    took = time.monotonic() - started
    if family:
        wait_gone(family)
    return code, took


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        children = Path(f"/proc/{todo.pop()}/task")
        for task in children.glob("*/children") if children.is_dir() else ():
            with_kids = {int(p) for p in task.read_text().split()}
            todo += with_kids - found
            found |= with_kids
    return found


def wait_gone(pids: set[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = {p for p in alive if _running(p)}
    assert not alive, f"processes of the killed job still running: {sorted(alive)}"


def _running(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def dataset(project: Project) -> Path:
    return project.root / "warehouse" / "synth" / "identity_graph"


def fingerprints(root: Path, versions: dict[str, int | None] | None = None) -> dict[str, Any]:
    """Rows and an order-independent hash per table; None for a table not created yet."""
    out: dict[str, Any] = {}
    for name in TABLE_NAMES:
        path = root / name
        if not (path / "_delta_log").is_dir():
            out[name] = None
            continue
        version = (versions or {}).get(name)
        frame = pl.read_delta(str(path), version=version)
        out[name] = (frame.height, int(frame.hash_rows(seed=1).sum()))
    return out


def pinned(root: Path) -> dict[str, Any] | None:
    """The dataset as a reader that goes through the manifest sees it."""
    manifest = root / MANIFEST
    if not manifest.exists():
        return None
    return fingerprints(root, manifest_versions(json.loads(manifest.read_text())))


def files(root: Path) -> set[Path]:
    """Every file in the table folders but the Delta logs."""
    return {
        p
        for name in TABLE_NAMES
        for p in (root / name).rglob("*")
        if p.is_file() and "_delta_log" not in p.parts
    }


def current_files(root: Path) -> set[Path]:
    return {
        Path(uri.removeprefix("file://"))
        for name in TABLE_NAMES
        if (root / name / "_delta_log").is_dir()
        for uri in DeltaTable(str(root / name)).file_uris()
    }


@pytest.mark.slow
def test_generation_killed_at_random_points_recovers_to_the_clean_tables(
    project: Project, make_project: Callable[[str], Project]
) -> None:
    clean: dict[int, dict[str, Any]] = {}
    took = 0.0
    for seed in SEEDS:
        reference = make_project(f"clean_{seed}")
        code, took = generate(reference, seed)
        assert code == 0
        clean[seed] = fingerprints(dataset(reference))
    assert clean[SEEDS[0]] != clean[SEEDS[1]]  # so "old or new" below tells them apart

    project.pipeline(DOWNSTREAM)
    root = dataset(project)
    draw = random.Random(13)
    kills = leftovers_seen = 0
    for k in range(6):
        seed = SEEDS[k % 2]  # every run replaces the other seed's dataset
        before = fingerprints(root)
        before_pinned = pinned(root)
        on_disk = files(root)
        # the first kill lands in the block phase of a warehouse that has no table yet
        share = 0.4 if k == 0 else draw.uniform(0.2, 1.0)
        code, _ = generate(project, seed, kill_after=share * took)
        assert code in (0, -signal.SIGKILL)
        kills += code != 0
        print(f"run {k}: seed {seed}, killed after {share * took:.2f}s, exit {code}")

        now = fingerprints(root)  # each table: as it was, or the complete new one
        for name in TABLE_NAMES:
            assert now[name] in (before[name], clean[seed][name]), name
        # through the manifest: one whole generation, never tables of two
        assert pinned(root) in (before_pinned, clean[seed])

        expected = files(root) - on_disk - current_files(root)
        report = chaos.doctor(project.root, *YOUNG)
        listed = {Path(x["path"]) for x in report["leftovers"] if x["kind"] == "uncommitted_file"}
        assert listed == expected
        leftovers_seen += bool(listed)
        if k % 2 == 0:  # half the time doctor cleans up; otherwise the next run sweeps
            committed = files(root) - expected
            fixed = chaos.doctor(project.root, *YOUNG, "--fix")
            assert fixed["bytes_freed"] == sum(x["size"] for x in report["leftovers"])
            assert files(root) == committed  # nothing committed (any version) removed
            assert fingerprints(root) == now

        code, took = generate(project, seed)
        assert code == 0
        assert fingerprints(root) == clean[seed]
        assert pinned(root) == clean[seed]
    assert kills >= 4
    assert leftovers_seen >= 1
    final = chaos.doctor(project.root, *YOUNG)
    assert [x for x in final["leftovers"] if x["kind"] == "uncommitted_file"] == []
    assert not any(p.name.endswith(".tmp") for p in files(root))
    assert (project.run().status, project.table("gold.households").height) == (
        "succeeded",
        clean[SEEDS[1]]["households"][0],
    )  # a pipeline downstream reads the recovered table
