"""Streaming tables exactly once: crash the real CLI at every fault point, run it again, and
compare with a run that never crashed: no row lost, none duplicated, none half-visible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import polars as pl
import pytest
from deltalake import DeltaTable

from conftest import Project
from lakesmith.pipeline.plan import build_plan
from lakesmith.streaming.execute import app_id
from lakesmith.streaming.faults import EXIT_CODE, POINTS
from lakesmith.testing.landing import land

STREAM = """\
name: ingest
nodes:
  - name: events
    kind: streaming_table
    source:
      files: landing
      connection: files
      format: json
      schema: {id: bigint, v: string}
      max_files_per_batch: 2
    write: {table: bronze.events}
"""
ROWS_PER_FILE = 3


def drop(project: Project, first: int, count: int, fmt: str = "json") -> None:
    """Files ``first .. first+count-1``, each written under a hidden name, then renamed."""
    for k in range(first, first + count):
        ids = range(k * ROWS_PER_FILE, (k + 1) * ROWS_PER_FILE)
        if fmt == "json":
            text = "".join(json.dumps({"id": i, "v": f"v{i}"}) + "\n" for i in ids)
        else:
            text = "id,v\n" + "".join(f"{i},v{i}\n" for i in ids)
        land(project.root / "data" / "landing", f"f{k:03d}.{fmt}", text)


def cli(project: Project, fault: str | None = None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LAKESMITH_FAULT"}
    if fault:
        env["LAKESMITH_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "lakesmith.cli.main", "run", "-p", str(project.root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def rows(project: Project) -> list[tuple[int, str]]:
    return sorted(project.table("bronze.events").rows())


def system(project: Project, table: str) -> pl.DataFrame:
    return project.table(f"_lakesmith.{table}").sort("batch_id")


def clean_rows(make_project: Callable[[str], Project], files: int, fmt: str) -> list[tuple]:
    """The table a run that never crashed builds from the same files."""
    clean = make_project(f"clean_{fmt}")
    clean.pipeline(STREAM.replace("format: json", f"format: {fmt}"))
    drop(clean, 0, files, fmt)
    assert clean.run().status == "succeeded"
    return rows(clean)


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_any_point_loses_and_duplicates_nothing(
    point: str, project: Project, make_project: Callable[[str], Project]
) -> None:
    project.pipeline(STREAM)
    drop(project, 0, 5)  # batches of 2, 2 and 1 files

    crashed = cli(project, fault=f"{point}@1")
    assert crashed.returncode == EXIT_CODE, crashed.stderr
    # batch 0 is complete; batch 1 is in the table only if the crash came after its write
    batch1_visible = point in ("after_write", "after_commit_log")
    expected_ids = 4 * ROWS_PER_FILE if batch1_visible else 2 * ROWS_PER_FILE
    assert [i for i, _ in rows(project)] == list(range(expected_ids))
    offsets = system(project, "stream_offsets")
    assert offsets["batch_id"].to_list() == [0, 1]
    planned = offsets.filter(pl.col("batch_id") == 1)["files"].to_list()[0]
    assert planned == ["f002.json", "f003.json"]
    committed = system(project, "stream_commits")["batch_id"].to_list()
    assert committed == ([0, 1] if point == "after_commit_log" else [0])

    drop(project, 5, 1)  # arrives while the stream is down: it must not join batch 1
    recovered = cli(project)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    offsets = system(project, "stream_offsets")
    assert offsets.filter(pl.col("batch_id") == 1)["files"].to_list()[0] == planned
    commits = system(project, "stream_commits")
    outcomes = dict(zip(commits["batch_id"], commits["outcome"], strict=True))
    expected_outcome = {
        "after_offsets": "recovered",
        "mid_file": "recovered",
        "after_write": "already_in_table",
        "after_commit_log": "committed",
    }[point]
    assert outcomes[1] == expected_outcome
    assert sorted(commits["batch_id"].to_list()) == list(range(len(offsets)))

    drop(project, 6, 3)  # more files after the recovery are picked up once
    assert cli(project).returncode == 0
    got = rows(project)
    assert len(got) == len(set(got)) == 9 * ROWS_PER_FILE  # nothing lost, nothing twice
    assert got == clean_rows(make_project, 9, "json")
    # every table commit of the stream carries its batch as a Delta app transaction
    uri = str(project.root / "warehouse" / "main" / "bronze" / "events")
    assert DeltaTable(uri).transaction_version("lakesmith:ingest.events") == len(offsets) + 1


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("point", ["after_write"])  # after_offsets: test_streaming_example_crashes
def test_spark_structured_streaming_recovers_exactly_once(
    point: str, project: Project, make_project: Callable[[str], Project]
) -> None:
    """Kill the driver inside foreachBatch: Spark replays the batch from its checkpoint, and
    the app transaction check (after_write) or the pending offsets row (after_offsets) makes
    the replay write it exactly once."""
    pytest.importorskip("pyspark")
    project.pipeline(STREAM)
    drop(project, 0, 5)  # Spark batches of 2, 2 and 1 files
    crashed = cli(project, f"{point}@1", "--engine", "spark")
    assert crashed.returncode == EXIT_CODE, crashed.stdout[-2000:] + crashed.stderr[-2000:]
    drop(project, 5, 1)
    recovered = cli(project, None, "--engine", "spark")
    assert recovered.returncode == 0, recovered.stdout[-2000:] + recovered.stderr[-2000:]
    got = rows(project)
    assert len(got) == len(set(got)) == 6 * ROWS_PER_FILE
    assert got == clean_rows(make_project, 6, "json")
    commits = system(project, "stream_commits")
    outcomes = dict(zip(commits["batch_id"], commits["outcome"], strict=True))
    assert outcomes[1] == ("already_in_table" if point == "after_write" else "recovered")
    assert set(commits["stream_id"]) == {"ingest.events@spark"}


def test_csv_files_recover_the_same_way(
    project: Project, make_project: Callable[[str], Project]
) -> None:
    project.pipeline(STREAM.replace("format: json", "format: csv"))
    drop(project, 0, 4, "csv")
    assert cli(project, fault="after_write@0").returncode == EXIT_CODE
    assert cli(project).returncode == 0
    assert rows(project) == clean_rows(make_project, 4, "csv")


def test_max_files_per_batch_splits_and_the_story_counts(project: Project) -> None:
    project.pipeline(STREAM)
    drop(project, 0, 5)
    story = project.run()
    report = project.node(story, "events")
    assert report.status == "succeeded"
    assert report.streaming is not None
    batches = report.streaming.batches
    assert [b.files for b in batches] == [
        ["f000.json", "f001.json"],
        ["f002.json", "f003.json"],
        ["f004.json"],
    ]
    assert [b.rows_written for b in batches] == [6, 6, 3]
    assert report.rows_in == report.rows_out == 15
    assert report.streaming.files == 5
    again = project.node(project.run(), "events")
    assert again.status == "no_new_data" and again.rows_out == 0
    (project.root / "data" / "landing" / "empty.json").touch()  # taken, holds nothing
    empty = project.node(project.run(), "events")
    assert empty.status == "succeeded" and empty.streaming is not None
    assert [(b.files, b.rows_written) for b in empty.streaming.batches] == [(["empty.json"], 0)]
    assert app_id(build_plan(project.config()).nodes["events"]) == "lakesmith:ingest.events"


EXPECT = """\
name: ingest
nodes:
  - name: events
    kind: streaming_table
    source: {files: landing, connection: files, format: json, schema_hints: {id: bigint}}
    expectations:
      - {name: has_id, check: not_null, column: id, on_violation: drop}
      - {name: known_v, check: in_set, column: v, values: [a, b], on_violation: warn}
      - {name: small_id, check: in_range, column: id, max: 100, on_violation: fail}
    write: {table: bronze.events}
"""


def test_expectations_warn_drop_and_fail(project: Project) -> None:
    project.pipeline(EXPECT)
    landing = project.root / "data" / "landing"
    landing.mkdir(parents=True)
    lines = [{"id": 1, "v": "a"}, {"id": None, "v": "b"}, {"id": 2, "v": "z"}, {"id": 3}]
    (landing / "a.json").write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = project.node(project.run(), "events")
    assert report.status == "succeeded"
    assert report.streaming is not None
    counts = {e.name: (e.on_violation, e.failed) for e in report.streaming.expectations}
    assert counts == {"has_id": ("drop", 1), "known_v": ("warn", 1), "small_id": ("fail", 0)}
    assert report.streaming.batches[0].dropped == 1
    assert sorted(project.table("bronze.events")["id"].to_list()) == [1, 2, 3]

    (landing / "b.json").write_text(json.dumps({"id": 500, "v": "a"}) + "\n")
    failed = project.node(project.run(), "events")
    assert failed.status == "failed" and failed.error is not None
    assert "small_id (1 rows)" in failed.error.message
    assert "retried" in failed.error.hint
    assert sorted(project.table("bronze.events")["id"].to_list()) == [1, 2, 3]
    # the failed batch stays pending with its file: the next run tries the same file again
    again = project.node(project.run(), "events")
    assert again.status == "failed"
    offsets = project.table("_lakesmith.stream_offsets")
    assert offsets.filter(pl.col("batch_id") == 1)["files"].to_list() == [["b.json"]]


CDC = """\
name: ingest
nodes:
  - name: customers
    kind: streaming_table
    source:
      files: changes
      connection: files
      format: json
      schema: {id: bigint, name: string, seq: bigint, op: string}
    auto_cdc:
      keys: [id]
      sequence_by: seq
      apply_as_deletes: "op = 'DELETE'"
      except_column_list: [op]
      stored_as_scd_type: 1
    write: {table: silver.customers}
"""


def changes(project: Project, name: str, *items: tuple[int, str | None, int, str]) -> None:
    folder = project.root / "data" / "changes"
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(
        json.dumps({"id": i, "name": n, "seq": s, "op": op}) + "\n" for i, n, s, op in items
    )
    (folder / name).write_text(text)


def test_auto_cdc_scd1_applies_updates_deletes_and_ignores_late_changes(
    project: Project,
) -> None:
    project.pipeline(CDC)
    changes(
        project,
        "c1.json",
        (1, "ann", 1, "INSERT"),
        (2, "bob", 1, "INSERT"),
        (3, "cy", 1, "INSERT"),
        (1, "anne", 2, "UPDATE"),  # two changes of one key in a batch: the newest wins
    )
    first = project.node(project.run(), "customers")
    assert first.status == "succeeded" and first.mode == "auto_cdc (scd 1)"
    table = project.table("silver.customers")
    assert table.columns == ["id", "name", "seq"]  # op is in except_column_list
    assert sorted(table.rows()) == [(1, "anne", 2), (2, "bob", 1), (3, "cy", 1)]

    changes(
        project,
        "c2.json",
        (2, None, 3, "DELETE"),
        (3, "old", 0, "UPDATE"),  # older than the table's version of key 3: ignored
        (4, "dee", 1, "INSERT"),
        (5, None, 1, "DELETE"),  # deleting a key the table never had: nothing to do
    )
    project.run()
    assert sorted(project.table("silver.customers").rows()) == [
        (1, "anne", 2),
        (3, "cy", 1),
        (4, "dee", 1),
    ]


def test_auto_cdc_recovers_exactly_once_after_a_crash(project: Project) -> None:
    project.pipeline(CDC)
    changes(project, "c1.json", (1, "ann", 1, "INSERT"), (2, "bob", 1, "INSERT"))
    assert cli(project).returncode == 0
    changes(project, "c2.json", (1, "ann", 1, "DELETE"), (3, "cy", 2, "INSERT"))
    assert cli(project, fault="after_write").returncode == EXIT_CODE
    assert cli(project).returncode == 0
    assert sorted(project.table("silver.customers").rows()) == [(2, "bob", 1), (3, "cy", 2)]
    commits = project.table("_lakesmith.stream_commits").sort("batch_id")
    assert commits["outcome"].to_list() == ["committed", "already_in_table"]


def test_auto_cdc_scd2_keeps_history(project: Project) -> None:
    project.pipeline(
        CDC.replace("stored_as_scd_type: 1", "stored_as_scd_type: 2").replace(
            "      apply_as_deletes: \"op = 'DELETE'\"\n", ""
        )
    )
    changes(project, "c1.json", (1, "ann", 1, "INSERT"), (2, "bob", 1, "INSERT"))
    project.run()
    changes(project, "c2.json", (1, "anne", 2, "UPDATE"))
    assert project.node(project.run(), "customers").status == "succeeded"
    history = project.table("silver.customers").sort("id", "valid_from")
    assert history.select("id", "name", "is_current").rows() == [
        (1, "ann", False),
        (1, "anne", True),
        (2, "bob", True),
    ]


def test_a_second_process_on_the_same_stream_is_refused(project: Project) -> None:
    project.pipeline(STREAM)
    drop(project, 0, 1)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(project.root / "warehouse")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = project.node(project.run(), "events")
        assert busy.status == "failed" and busy.error is not None
        assert "being processed by another lakesmith process" in busy.error.message
    finally:
        holder.kill()
        holder.wait()
    assert project.node(project.run(), "events").status == "succeeded"  # the lock died with it


HOLD_LOCK = """\
import sys, time
from pathlib import Path
from lakesmith.catalog.local import LocalCatalog
from lakesmith.streaming.lock import exclusive, lock_folder
with exclusive(lock_folder(LocalCatalog(Path(sys.argv[1]))), "ingest.events"):
    print("held", flush=True)
    time.sleep(60)
"""
