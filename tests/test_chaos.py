"""Chaos: concurrent `lakesmith run` processes on one warehouse, and runs killed mid-flight.

Bounded for CI (20 processes, 8 kills); benchmarks/concurrency.py runs 100+.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from conftest import Project
from lakesmith.streaming.faults import BATCH_POINTS, EXIT_CODE
from lakesmith.testing import chaos

pytestmark = pytest.mark.chaos


@pytest.mark.slow
def test_twenty_concurrent_runs_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    swarm = chaos.build(tmp_path / "swarm", 20)
    codes = chaos.launch(swarm, in_flight=20)
    assert codes == [0] * 20
    found = chaos.verify(swarm)
    timing = {"conflicts_retried": 0, "conflict_reruns": 0}
    assert found | timing == {
        "rows_lost": 0,
        "rows_duplicated": 0,
        "stories": 20,  # every run saved its own story
        "stories_failed": 0,
        "conflicts_retried": 0,  # counted, not asserted: how many depends on timing
        "conflict_reruns": 0,
        "story_versions_wrong": 0,  # each story names the commit its run made
        "story_versions_unknown": 0,
        "watermark_matches_table": True,
    }
    merged = pl.read_delta(str(swarm.root / "warehouse" / "main" / "bronze" / "merged"))
    assert merged["id"].is_unique().all()


PIPELINE = """\
name: main
nodes:
  - name: load
    inputs:
      src: {connection: files, path: "inc/*.parquet", incremental: {column: id}}
    write: {table: bronze.events, mode: append}
  - name: upsert
    inputs:
      src: {table: bronze.events}
    write: {table: silver.events, mode: merge, keys: [id]}
"""
ROWS = 500


def arrive(project: Project, k: int) -> None:
    ids = list(range(k * ROWS, (k + 1) * ROWS))
    frame = pl.DataFrame({"id": ids, "v": [f"v{i}" for i in ids]})
    folder = project.root / "data" / "inc"
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / f"f{k:03d}.parquet.tmp")
    (folder / f"f{k:03d}.parquet.tmp").rename(folder / f"f{k:03d}.parquet")


def run_cli(project: Project, fault: str | None = None, kill_after: float | None = None) -> int:
    proc = subprocess.Popen(
        chaos.command(project.root, "main"),
        env=chaos.environment(fault),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if kill_after is not None:
        chaos.kill_at(proc, time.monotonic() + kill_after)
    return proc.wait(timeout=600)


def rows(project: Project, table: str) -> list[tuple[int, str]]:
    path = project.root / "warehouse" / "main" / table.replace(".", "/")
    return sorted(pl.read_delta(str(path)).rows()) if path.exists() else []


@pytest.mark.slow
def test_runs_killed_at_any_point_recover_to_the_clean_result(
    project: Project, make_project: Callable[[str], Project]
) -> None:
    project.pipeline(PIPELINE)
    clean = make_project("clean")
    clean.pipeline(PIPELINE)
    draw = random.Random(13)
    points = [f"{p}@{n}" for n in ("load", "upsert") for p in BATCH_POINTS]
    kills, took = 0, 3.0  # took: seconds of the last whole run, so random kills land inside one
    for k in range(8):
        arrive(project, k)
        arrive(clean, k)
        assert clean.run().status == "succeeded"
        expected = {t: rows(clean, t) for t in ("bronze.events", "silver.events")}
        before = {t: rows(project, t) for t in expected}
        if k % 2 == 0:  # a named point: between computing and committing, or just after commit
            code = run_cli(project, fault=points[k // 2])
            assert code == EXIT_CODE
        else:  # anywhere: startup, reading, writing data files, merging, saving the story
            code = run_cli(project, kill_after=draw.uniform(0.3, 0.95) * took)
            assert code in (0, -signal.SIGKILL)
        kills += code != 0
        print(f"run {k}: exit {code}")  # which kills landed, when -s shows it
        for table in expected:  # what a reader sees now: the old or the new table, no mix
            assert rows(project, table) in (before[table], expected[table])

        started = time.monotonic()
        assert run_cli(project) == 0
        took = time.monotonic() - started
        assert {t: rows(project, t) for t in expected} == expected
        marks = chaos.committed_watermark(project.root, "load", "src", "bronze.events")
        assert marks == (k + 1) * ROWS - 1  # the watermark is the newest row in the table
    assert kills >= 6
    # files of killed writes never show, and doctor removes none of the committed ones
    chaos.doctor(project.root, "--fix", "--min-age", "0")
    assert {t: rows(project, t) for t in expected} == expected
