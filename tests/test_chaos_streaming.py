"""Chaos: `lakesmith run` on a streaming pipeline killed with SIGKILL at random moments.

Not the named fault points (tests/test_streaming_exactly_once.py has those): the process dies
wherever the clock says — planning, reading, mid-write of data files, between a table commit
and the commits log, in the auto_cdc merge, while saving the story. After each kill a reader
sees whole files only and no row twice; the next run must match a run that never crashed
(0 rows lost, 0 duplicated), the dead process's stream lock must not block it, and
`lakesmith doctor --fix` removes only files no commit took. Bounded for CI: 6 kills, half
of them just after a batch was planned. ``CHAOS_SEED`` draws other moments.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from conftest import Project
from lakesmith.testing import chaos
from lakesmith.testing.landing import land

pytestmark = pytest.mark.chaos

PIPELINE = """\
name: ingest
nodes:
  - name: events
    kind: streaming_table
    source:
      files: landing
      connection: files
      format: json
      schema: {id: bigint, customer: bigint, seq: bigint, v: string}
      max_files_per_batch: 1
    write: {table: bronze.events}
  - name: customers
    kind: streaming_table
    source: {table: bronze.events}
    auto_cdc: {keys: [customer], sequence_by: seq, except_column_list: [id]}
    write: {table: silver.customers}
"""
ROWS_PER_FILE = 40
CUSTOMERS = 25
FILES_PER_ROUND = 4
ROUNDS = 6
YOUNG = ("--min-age", "0")  # the leftovers of a kill a moment ago count too


def drop(project: Project, k: int) -> set[int]:
    """File ``k``: changes of customers, each with a sequence number; returns its ids."""
    ids = range(k * ROWS_PER_FILE, (k + 1) * ROWS_PER_FILE)
    text = "".join(
        json.dumps({"id": i, "customer": (i * 7) % CUSTOMERS, "seq": i, "v": f"v{i}"}) + "\n"
        for i in ids
    )
    land(project.root / "data" / "landing", f"f{k:03d}.json", text)
    return set(ids)


def run_cli(
    project: Project, kill_after: float | None = None, *, in_batch: float | None = None
) -> tuple[int, float]:
    """Run the pipeline; SIGKILL it ``kill_after`` seconds in, or ``in_batch`` seconds after
    the first batch it plans (a new commit of the offsets log). Exit code and seconds."""
    offsets = project.root / "warehouse" / "main" / "_lakesmith" / "stream_offsets"
    planned = len(list(offsets.glob("_delta_log/*.json")))
    started = time.monotonic()
    proc = subprocess.Popen(
        chaos.command(project.root, "ingest"),
        env=chaos.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if kill_after is not None:
        chaos.kill_at(proc, started + kill_after)
    elif in_batch is not None:
        while proc.poll() is None and len(list(offsets.glob("_delta_log/*.json"))) == planned:
            time.sleep(0.002)
        chaos.kill_at(proc, time.monotonic() + in_batch)
    return proc.wait(timeout=300), time.monotonic() - started


def table(project: Project, name: str) -> pl.DataFrame | None:
    path = project.root / "warehouse" / "main" / name.replace(".", "/")
    return pl.read_delta(str(path)) if (path / "_delta_log").is_dir() else None


def rows(project: Project, name: str) -> list[tuple[Any, ...]]:
    frame = table(project, name)
    return [] if frame is None else sorted(frame.select(sorted(frame.columns)).rows())


@pytest.mark.slow
def test_streaming_runs_killed_at_random_moments_lose_and_duplicate_nothing(
    project: Project, make_project: Callable[[str], Project]
) -> None:
    project.pipeline(PIPELINE)
    clean = make_project("clean")
    clean.pipeline(PIPELINE)
    files: list[set[int]] = []
    draw = random.Random(int(os.environ.get("CHAOS_SEED", "13")))
    kills, took = 0, 0.0
    for k in range(ROUNDS):
        for _ in range(FILES_PER_ROUND):
            drop(clean, len(files))
            files.append(drop(project, len(files)))
        code, took_clean = run_cli(clean)
        assert code == 0
        took = took or took_clean
        expected = {t: rows(clean, t) for t in ("bronze.events", "silver.customers")}

        if k % 2:  # anywhere in the run: startup, planning, either node, the story
            code, _ = run_cli(project, kill_after=draw.uniform(0.3, 1.0) * took)
        else:  # just after a batch was planned: reading, transforming, writing, logging it
            code, _ = run_cli(project, in_batch=draw.uniform(0.0, 0.08))
        assert code in (0, -signal.SIGKILL)
        kills += code != 0
        print(f"run {k}: exit {code} of {took:.2f}s")

        # what a reader sees right after the kill: whole files, no row twice
        bronze = table(project, "bronze.events")
        ids = [] if bronze is None else bronze["id"].to_list()
        assert len(ids) == len(set(ids))
        assert set(ids) == set().union(*(f for f in files if f & set(ids)))
        silver = table(project, "silver.customers")
        if silver is not None:  # one row per customer, each one of its real changes
            assert silver["customer"].is_unique().all()
            for customer, seq, v in silver.select("customer", "seq", "v").rows():
                assert (seq * 7 % CUSTOMERS, v) == (customer, f"v{seq}")

        report = chaos.doctor(project.root, *YOUNG)
        kinds = {x["kind"] for x in report["leftovers"]}
        assert kinds <= {"uncommitted_file"}, report  # its own stream's lock is not stale
        if k % 2 == 0:
            before = {t: rows(project, t) for t in expected}
            chaos.doctor(project.root, *YOUNG, "--fix")
            assert {t: rows(project, t) for t in expected} == before
            assert chaos.doctor(project.root, *YOUNG)["leftovers"] == []

        code, took = run_cli(project)
        assert code == 0  # the dead process's lock does not hold the stream
        assert {t: rows(project, t) for t in expected} == expected
    assert kills >= ROUNDS - 2
    got = rows(project, "bronze.events")
    assert len(got) == len({r[1] for r in got}) == len(files) * ROWS_PER_FILE
    assert len(rows(project, "silver.customers")) == CUSTOMERS
    # some kills hit a batch between its offsets row and its commits row
    outcomes = project.table("_lakesmith.stream_commits")["outcome"]
    assert set(outcomes) - {"committed"}, outcomes.value_counts()
