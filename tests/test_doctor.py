"""`lakesmith doctor`: leftovers of failed writes are listed, removed by --fix, and committed
data is untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError

from conftest import Project

PIPELINE = """\
name: main
nodes:
  - name: load
    inputs: {src: {connection: files, path: events.csv}}
    write: {table: bronze.events, mode: append}
"""


def doctor(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakesmith.cli.main", "doctor", "-p", str(project.root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under the folder (log included) by its SHA-256."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def failed_write(uri: str, rows: pl.DataFrame | None = None) -> None:
    """A real delta-rs write whose commit fails after its data file is written: a stale
    snapshot and an app transaction another writer used meanwhile."""
    stale = DeltaTable(uri)
    txn = lambda v: CommitProperties(app_transactions=[Transaction(app_id="x", version=v)])  # noqa: E731
    frame = (rows if rows is not None else pl.DataFrame({"id": [99], "v": ["lost"]})).to_arrow()
    write_deltalake(uri, frame, mode="append", commit_properties=txn(1))
    with pytest.raises(CommitFailedError):
        write_deltalake(stale, frame, mode="append", commit_properties=txn(2))


def test_doctor_lists_then_removes_leftovers_and_keeps_the_table(project: Project) -> None:
    project.pipeline(PIPELINE)
    project.csv("events.csv", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}))
    assert project.run().status == "succeeded"
    table = project.root / "warehouse" / "main" / "bronze" / "events"
    failed_write(str(table))
    locks = project.root / "warehouse" / ".lakesmith-locks"
    locks.mkdir()
    (locks / "gone.stream.lock").touch()  # a stream no longer in the project
    offsets = project.root / "warehouse" / "main" / "_lakesmith" / "stream_offsets"
    write_deltalake(str(offsets), pl.DataFrame({"stream_id": ["old.feed"], "batch_id": [0]}))
    committed = snapshot(table)
    orphans = [
        p
        for p in table.glob("*.parquet")
        if p.name not in {Path(u).name for u in DeltaTable(str(table)).file_uris()}
    ]
    assert len(orphans) == 1
    rows = sorted(project.table("bronze.events").rows())

    young = json.loads(doctor(project, "--json").stdout)
    kinds = {(x["kind"], x["where"], x["removable"]) for x in young["leftovers"]}
    assert kinds == {("stream_checkpoint", "old.feed", False)}  # listed whatever its age
    # the orphan file and the lock are younger than the safety age: a writer may commit them

    old = time.time() - 7200
    for path in [*orphans, locks / "gone.stream.lock"]:
        os.utime(path, (old, old))
    listed = doctor(project, "--json")
    assert listed.returncode == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert {(x["kind"], Path(x["path"]).name) for x in report["leftovers"]} == {
        ("uncommitted_file", orphans[0].name),
        ("stale_lock", "gone.stream.lock"),
        ("stream_checkpoint", "stream_offsets"),
    }
    assert orphans[0].exists()  # dry run by default

    fixed = doctor(project, "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert "removed 2 leftover(s)" in fixed.stdout
    assert not orphans[0].exists() and not (locks / "gone.stream.lock").exists()
    after = snapshot(table)
    assert after == {k: v for k, v in committed.items() if k != orphans[0].name}
    assert sorted(project.table("bronze.events").rows()) == rows
    again = json.loads(doctor(project, "--json", "--min-age", "0").stdout)["leftovers"]
    assert [x["kind"] for x in again] == ["stream_checkpoint"]  # reported, never deleted
    assert pl.read_delta(str(offsets))["stream_id"].to_list() == ["old.feed"]


def test_doctor_knows_auto_cdc_tombstones(project: Project) -> None:
    """A stream's tombstone table is its state, not a leftover; a removed stream's is listed
    (never deleted) like its checkpoint, and a failed tombstone write's file is found."""
    from test_streaming_exactly_once import CDC, changes

    project.pipeline(CDC)
    changes(project, "c1.json", (1, "ann", 1, "INSERT"))
    changes(project, "c2.json", (2, None, 1, "DELETE"))
    assert project.run().status == "succeeded"
    folder = project.root / "warehouse" / "main" / "_lakesmith" / "_cdc_tombstones"
    store = folder / "ingest.customers"
    assert (store / "_delta_log").is_dir()
    clean = json.loads(doctor(project, "--json", "--min-age", "0").stdout)
    assert clean["leftovers"] == []

    failed_write(str(store), pl.read_delta(str(store)))
    gone = folder / "old.feed"
    write_deltalake(str(gone), pl.DataFrame({"id": [1]}))
    report = json.loads(doctor(project, "--json", "--min-age", "0").stdout)
    assert {(x["kind"], x["where"]) for x in report["leftovers"]} == {
        ("uncommitted_file", "main/_lakesmith/_cdc_tombstones/ingest.customers"),
        ("stream_checkpoint", "old.feed"),
    }
    assert doctor(project, "--fix", "--min-age", "0").returncode == 0
    assert (gone / "_delta_log").is_dir()  # reported, never deleted
    after = json.loads(doctor(project, "--json", "--min-age", "0").stdout)["leftovers"]
    assert [x["kind"] for x in after] == ["stream_checkpoint"]
