"""auto_cdc SCD 1 keeps a tombstone per deleted key: a change older than the delete arriving in
a later batch stays ignored (as Lakeflow's AUTO CDC does), a newer one brings the key back,
tombstones expire after ``tombstone_retention``, and a crash between the table's MERGE and the
tombstones' commit changes nothing. Real delta-rs tables, real runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from conftest import Project
from lakesmith.pipeline.plan import build_plan
from lakesmith.pipeline.runner import Runner
from lakesmith.streaming.faults import EXIT_CODE
from lakesmith.streaming.loop import run_loop
from lakesmith.streaming.tombstones import SEQUENCE
from test_streaming_exactly_once import CDC, changes, cli

NOT_STORED = CDC.replace("except_column_list: [op]", "except_column_list: [op, seq]")
"""The table keeps no sequence: only the tombstones know when a key was deleted."""


def customers(project: Project) -> list[tuple]:
    return sorted(project.table("silver.customers").rows())


def store(project: Project) -> Path:
    return project.root / "warehouse/main/_lakesmith/_cdc_tombstones/ingest.customers"


def tombstones(project: Project) -> list[tuple]:
    """The stream's tombstones as (key, delete's sequence); none before the first delete."""
    if not (store(project) / "_delta_log").is_dir():
        return []
    return sorted(pl.read_delta(str(store(project))).select("id", SEQUENCE).rows())


def deleted_then_late(project: Project) -> None:
    """Batches: two inserts; a delete of key 1 at seq 5; key 1's changes at seq 3 and 5."""
    changes(project, "c1.json", (1, "ann", 1, "INSERT"), (2, "bob", 1, "INSERT"))
    assert project.run().status == "succeeded"
    changes(project, "c2.json", (1, None, 5, "DELETE"))
    assert project.run().status == "succeeded"
    assert tombstones(project) == [(1, 5)]
    changes(project, "c3.json", (1, "late", 3, "UPDATE"), (2, "bobby", 2, "UPDATE"))
    changes(project, "c4.json", (1, "tie", 5, "UPDATE"))  # a tie with the delete: it wins
    assert project.run().status == "succeeded"


def test_a_change_older_than_a_delete_in_a_later_batch_is_ignored(project: Project) -> None:
    project.pipeline(CDC)
    deleted_then_late(project)
    assert customers(project) == [(2, "bobby", 2)]
    assert tombstones(project) == [(1, 5)]


def test_without_a_stored_sequence_the_tombstone_still_orders_the_delete(
    project: Project,
) -> None:
    project.pipeline(NOT_STORED)
    deleted_then_late(project)
    assert project.table("silver.customers").columns == ["id", "name"]
    assert customers(project) == [(2, "bobby")]
    changes(project, "c5.json", (1, "back", 9, "INSERT"))
    project.run()
    assert customers(project) == [(1, "back"), (2, "bobby")]
    assert tombstones(project) == []


def test_a_newer_insert_brings_a_deleted_key_back_and_clears_its_tombstone(
    project: Project,
) -> None:
    project.pipeline(CDC)
    changes(project, "c1.json", (1, "ann", 1, "INSERT"), (3, "cy", 1, "INSERT"))
    project.run()
    changes(project, "c2.json", (1, None, 5, "DELETE"), (3, None, 2, "DELETE"))
    project.run()
    assert customers(project) == []
    assert tombstones(project) == [(1, 5), (3, 2)]

    changes(project, "c3.json", (1, "again", 7, "INSERT"))
    project.run()
    assert customers(project) == [(1, "again", 7)]
    assert tombstones(project) == [(3, 2)]  # key 3 stays deleted
    changes(project, "c4.json", (1, "older", 6, "UPDATE"), (3, "older", 1, "UPDATE"))
    project.run()  # older than the table's row (1) and than the delete (3): both ignored
    assert customers(project) == [(1, "again", 7)]


def test_tombstones_expire_after_the_retention(project: Project) -> None:
    project.pipeline(
        CDC.replace("stored_as_scd_type: 1", "stored_as_scd_type: 1\n      tombstone_retention: 1s")
    )
    changes(project, "c1.json", (1, "ann", 1, "INSERT"), (2, "bob", 1, "INSERT"))
    project.run()
    changes(project, "c2.json", (1, None, 5, "DELETE"))
    project.run()
    assert tombstones(project) == [(1, 5)]
    time.sleep(1.2)
    changes(project, "c3.json", (2, "bobby", 2, "UPDATE"))
    project.run()
    assert tombstones(project) == []  # collected by the next batch
    # past the retention a late change inserts the key again, as on Lakeflow
    changes(project, "c4.json", (1, "late", 3, "UPDATE"))
    project.run()
    assert customers(project) == [(1, "late", 3), (2, "bobby", 2)]


def test_a_crash_between_the_merge_and_the_tombstones_changes_nothing(
    project: Project, make_project: Callable[[str], Project]
) -> None:
    clean = make_project("clean")
    batches = [
        [(1, "ann", 1, "INSERT"), (2, "bob", 1, "INSERT")],
        [(1, None, 5, "DELETE"), (2, "bobby", 2, "UPDATE")],
        [(1, "late", 3, "UPDATE"), (3, "cy", 1, "INSERT")],
    ]
    for p in (project, clean):
        p.pipeline(CDC)
    for k, batch in enumerate(batches):
        for p in (project, clean):
            changes(p, f"c{k}.json", *batch)
        assert cli(clean).returncode == 0
        if k == 1:  # the table holds the delete, the tombstones do not
            assert cli(project, "before_tombstones@1").returncode == EXIT_CODE
            assert customers(project) == [(2, "bobby", 2)] and tombstones(project) == []
        assert cli(project).returncode == 0
        assert customers(project) == customers(clean)
        assert tombstones(project) == tombstones(clean)
    assert customers(project) == [(2, "bobby", 2), (3, "cy", 1)]
    commits = project.table("_lakesmith.stream_commits").sort("batch_id")
    assert commits["outcome"].to_list() == ["committed", "already_in_table", "committed"]


def test_the_stream_loop_compacts_the_tombstones(project: Project) -> None:
    project.pipeline(CDC)
    for k in range(3):  # one tombstone commit, and one small file, per batch
        changes(project, f"c{k}.json", (k, None, 1, "DELETE"))
        project.run()
    assert len(DeltaTable(str(store(project))).file_uris()) == 3
    changes(project, "c3.json", (3, None, 1, "DELETE"))
    cfg = project.config()  # one cycle that takes a batch, then compacts
    run_loop(Runner(cfg), build_plan(cfg), interval=None, stop=threading.Event(), compact_every=1)
    table = DeltaTable(str(store(project)))
    assert "OPTIMIZE" in [h["operation"] for h in table.history()]
    assert len(table.file_uris()) < 4
    assert tombstones(project) == [(0, 1), (1, 1), (2, 1), (3, 1)]
