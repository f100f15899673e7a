"""The five write modes end to end: YAML node -> run -> Delta table, row by row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from deltalake import DeltaTable

from conftest import Project

UTC_US = pl.Datetime("us", "UTC")


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def version(project: Project, name: str) -> int:
    schema, table = name.split(".")
    return DeltaTable(str(project.root / "warehouse" / "main" / schema / table)).version()


def rows(project: Project, name: str, *by: str) -> list[dict[str, Any]]:
    return project.table(name).sort(list(by) or "id").to_dicts()


def one_node(write: str, *, extra: str = "") -> str:
    """A pipeline of one node that copies data/src.csv into a table with the given write."""
    return f"""\
        name: main
        nodes:
          - name: load
            inputs:
              src: {{connection: files, path: src.csv}}
            write: {write}
        {extra}"""


# --- overwrite ---------------------------------------------------------------------------


def test_overwrite_replaces_rows_and_schema_and_reports_the_change(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: overwrite}"))
    project.csv("src.csv", pl.DataFrame({"id": [1, 2], "name": ["a", "b"], "amount": [10, 20]}))
    first = project.run()
    assert first.status == "succeeded"
    report = project.node(first, "load")
    assert report.schema_change is None  # a new table has no diff
    assert report.version == 0

    project.csv("src.csv", pl.DataFrame({"id": [3], "name": ["c"], "city": ["Oslo"]}))
    second = project.run()
    assert second.status == "succeeded"
    report = project.node(second, "load")
    assert report.version == 1
    assert report.schema_change is not None
    assert report.schema_change.added == [("city", "string")]
    assert report.schema_change.removed == [("amount", "bigint")]
    assert report.schema_change.retyped == []
    table = project.table("silver.t")
    assert table.columns == ["id", "name", "city"]
    assert table.to_dicts() == [{"id": 3, "name": "c", "city": "Oslo"}]


def test_naive_csv_datetimes_become_utc_in_delta(project: Project) -> None:
    project.pipeline(one_node("{table: bronze.events, mode: overwrite}"))
    project.csv(
        "src.csv",
        pl.DataFrame({"id": [1, 2], "at": ["2024-01-01 10:00:00", "2024-06-30 23:59:59"]}),
    )
    story = project.run()
    assert story.status == "succeeded"
    table = project.table("bronze.events")
    assert table.schema["at"] == UTC_US
    assert rows(project, "bronze.events") == [
        {"id": 1, "at": ts("2024-01-01 10:00:00")},
        {"id": 2, "at": ts("2024-06-30 23:59:59")},
    ]
    assert ("at", "timestamp") in project.node(story, "load").schema_


def test_overwrite_rerun_gives_an_identical_table(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: overwrite}"))
    project.csv("src.csv", pl.DataFrame({"id": [2, 1], "v": ["x", "y"]}))
    project.run()
    before = rows(project, "silver.t")
    assert project.run().status == "succeeded"
    assert rows(project, "silver.t") == before == [{"id": 1, "v": "y"}, {"id": 2, "v": "x"}]


# --- append ------------------------------------------------------------------------------


def test_append_adds_rows(project: Project) -> None:
    project.pipeline(one_node("{table: bronze.t, mode: append}"))
    project.csv("src.csv", pl.DataFrame({"id": [1], "v": ["a"]}))
    project.run()
    project.csv("src.csv", pl.DataFrame({"id": [2], "v": ["b"]}))
    story = project.run()
    assert project.node(story, "load").version == 1
    assert rows(project, "bronze.t") == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]


def test_append_with_new_column_fails_without_schema_evolution(project: Project) -> None:
    project.pipeline(one_node("{table: bronze.t, mode: append}"))
    project.csv("src.csv", pl.DataFrame({"id": [1], "v": ["a"]}))
    assert project.run().status == "succeeded"

    project.csv("src.csv", pl.DataFrame({"id": [2], "v": ["b"], "extra": [True]}))
    story = project.run()
    assert story.status == "failed"
    report = project.node(story, "load")
    assert report.status == "failed"
    assert report.error is not None
    assert report.error.type == "WriteError"
    assert "does not match the table schema" in report.error.message
    assert "schema_evolution: true" in report.error.hint
    assert version(project, "bronze.t") == 0
    assert rows(project, "bronze.t") == [{"id": 1, "v": "a"}]


def test_append_with_schema_evolution_adds_the_column(project: Project) -> None:
    project.pipeline(one_node("{table: bronze.t, mode: append, schema_evolution: true}"))
    project.csv("src.csv", pl.DataFrame({"id": [1], "v": ["a"]}))
    project.run()
    project.csv("src.csv", pl.DataFrame({"id": [2], "v": ["b"], "extra": [True]}))
    story = project.run()
    assert story.status == "succeeded"
    change = project.node(story, "load").schema_change
    assert change is not None and change.added == [("extra", "boolean")]
    assert rows(project, "bronze.t") == [
        {"id": 1, "v": "a", "extra": None},
        {"id": 2, "v": "b", "extra": True},
    ]


# --- replace_where -----------------------------------------------------------------------


def test_replace_where_replaces_only_the_predicate_rows(project: Project) -> None:
    project.pipeline(
        one_node("{table: silver.sales, mode: replace_where, predicate: \"region = 'EU'\"}")
    )
    project.csv(
        "src.csv",
        pl.DataFrame({"id": [1, 2, 3, 4], "region": ["EU", "EU", "US", "US"], "v": [1, 2, 3, 4]}),
    )
    assert project.run().status == "succeeded"  # first write creates the table whole
    assert [r["id"] for r in rows(project, "silver.sales")] == [1, 2, 3, 4]

    # The new EU slice: id 1 changes, id 2 disappears, id 5 is new.
    project.csv("src.csv", pl.DataFrame({"id": [1, 5], "region": ["EU", "EU"], "v": [10, 50]}))
    story = project.run()
    assert story.status == "succeeded"
    assert rows(project, "silver.sales") == [
        {"id": 1, "region": "EU", "v": 10},
        {"id": 3, "region": "US", "v": 3},
        {"id": 4, "region": "US", "v": 4},
        {"id": 5, "region": "EU", "v": 50},
    ]


def test_replace_where_refuses_rows_outside_the_predicate(project: Project) -> None:
    project.pipeline(
        one_node("{table: silver.sales, mode: replace_where, predicate: \"region = 'EU'\"}")
    )
    project.csv("src.csv", pl.DataFrame({"id": [1, 3], "region": ["EU", "US"], "v": [1, 3]}))
    project.run()
    project.csv("src.csv", pl.DataFrame({"id": [1, 9], "region": ["EU", "US"], "v": [10, 90]}))
    story = project.run()
    report = project.node(story, "load")
    assert report.status == "failed"
    assert report.error is not None and report.error.type == "WriteError"
    assert version(project, "silver.sales") == 0
    assert rows(project, "silver.sales") == [
        {"id": 1, "region": "EU", "v": 1},
        {"id": 3, "region": "US", "v": 3},
    ]


# --- merge -------------------------------------------------------------------------------

MERGE_FULL = """\
{table: silver.customers, mode: merge, keys: [id],
 update_condition: source.updated_at > target.updated_at,
 insert_condition: "source.op <> 'D'",
 delete_condition: "source.op = 'D'"}"""


def _customers(ids: list[int], names: list[str], ops: list[str], days: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ids,
            "name": names,
            "op": ops,
            "updated_at": [f"2024-01-{d:02d} 00:00:00" for d in days],
        }
    )


def test_merge_first_write_creates_the_table(project: Project) -> None:
    project.pipeline(one_node("{table: silver.customers, mode: merge, keys: [id]}"))
    project.csv("src.csv", _customers([1, 2], ["a", "b"], ["I", "I"], [1, 1]))
    story = project.run()
    assert story.status == "succeeded"
    assert project.node(story, "load").version == 0
    assert rows(project, "silver.customers") == [
        {"id": 1, "name": "a", "op": "I", "updated_at": ts("2024-01-01")},
        {"id": 2, "name": "b", "op": "I", "updated_at": ts("2024-01-01")},
    ]


def test_merge_first_write_applies_the_insert_condition(project: Project) -> None:
    project.pipeline(one_node(MERGE_FULL))
    project.csv("src.csv", _customers([1, 2], ["a", "b"], ["I", "D"], [1, 1]))
    assert project.run().status == "succeeded"
    assert [(r["id"], r["name"]) for r in rows(project, "silver.customers")] == [(1, "a")]


def test_merge_conditions_update_insert_and_delete(project: Project) -> None:
    project.pipeline(one_node(MERGE_FULL))
    project.csv("src.csv", _customers([1, 2, 3, 4], ["a", "b", "c", "d"], ["I"] * 4, [5] * 4))
    assert project.run().status == "succeeded"
    first_version = version(project, "silver.customers")

    project.csv(
        "src.csv",
        _customers(
            [1, 2, 3, 5, 6],
            ["a2", "b-stale", "c", "e", "f"],
            ["U", "U", "D", "I", "D"],
            [6, 4, 6, 6, 6],
        ),
    )
    story = project.run()
    assert story.status == "succeeded"
    assert project.node(story, "load").version == first_version + 1
    assert rows(project, "silver.customers") == [
        # newer source row: updated
        {"id": 1, "name": "a2", "op": "U", "updated_at": ts("2024-01-06")},
        # older source row: update_condition keeps the target
        {"id": 2, "name": "b", "op": "I", "updated_at": ts("2024-01-05")},
        # id 3: deleted by delete_condition; id 4: not in the source, kept
        {"id": 4, "name": "d", "op": "I", "updated_at": ts("2024-01-05")},
        # id 5 inserted; id 6 refused by insert_condition
        {"id": 5, "name": "e", "op": "I", "updated_at": ts("2024-01-06")},
    ]


def test_merge_delete_unmatched_removes_rows_missing_from_the_source(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: merge, keys: [id], delete_unmatched: true}"))
    project.csv("src.csv", pl.DataFrame({"id": [1, 2, 3], "v": ["a", "b", "c"]}))
    project.run()
    project.csv("src.csv", pl.DataFrame({"id": [2, 4], "v": ["B", "d"]}))
    assert project.run().status == "succeeded"
    assert rows(project, "silver.t") == [{"id": 2, "v": "B"}, {"id": 4, "v": "d"}]


def test_merge_with_composite_keys(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: merge, keys: [k1, k2]}"))
    project.csv("src.csv", pl.DataFrame({"k1": [1, 1], "k2": ["x", "y"], "v": [1, 2]}))
    project.run()
    project.csv("src.csv", pl.DataFrame({"k1": [1, 2], "k2": ["y", "x"], "v": [20, 3]}))
    assert project.run().status == "succeeded"
    assert rows(project, "silver.t", "k1", "k2") == [
        {"k1": 1, "k2": "x", "v": 1},
        {"k1": 1, "k2": "y", "v": 20},
        {"k1": 2, "k2": "x", "v": 3},
    ]


def test_merge_duplicate_source_keys_fail_and_leave_the_table(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: merge, keys: [id]}"))
    project.csv("src.csv", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}))
    project.run()

    project.csv("src.csv", pl.DataFrame({"id": [2, 2, 3], "v": ["x", "y", "z"]}))
    story = project.run()
    assert story.status == "failed"
    report = project.node(story, "load")
    assert report.error is not None
    assert report.error.type == "WriteError"
    assert "1 key(s) appear more than once in the merge source" in report.error.message
    assert "{'id': 2}" in report.error.message
    assert "deduplicate" in report.error.hint
    assert version(project, "silver.t") == 0
    assert rows(project, "silver.t") == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]


def test_merge_duplicate_keys_on_first_write_create_nothing(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: merge, keys: [id]}"))
    project.csv("src.csv", pl.DataFrame({"id": [1, 1], "v": ["a", "b"]}))
    story = project.run()
    assert project.node(story, "load").status == "failed"
    assert not (project.root / "warehouse" / "main" / "silver" / "t" / "_delta_log").exists()


def test_merge_unknown_key_is_a_clear_error(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: merge, keys: [customer_id]}"))
    project.csv("src.csv", pl.DataFrame({"id": [1], "v": ["a"]}))
    report = project.node(project.run(), "load")
    assert report.error is not None
    assert "keys ['customer_id'] are not columns of the data" in report.error.message
    assert "id, v" in report.error.hint


def test_merge_rerun_gives_an_identical_table(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: merge, keys: [id]}"))
    project.csv("src.csv", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}))
    project.run()
    before = rows(project, "silver.t")
    assert project.run().status == "succeeded"
    assert rows(project, "silver.t") == before


# --- scd2 --------------------------------------------------------------------------------

SCD2 = """\
{table: silver.history, mode: scd2, keys: [id], tracked_columns: [email, city],
 effective_column: updated_at}"""


def _people(cities: list[str], phones: list[str], days: list[int], ids=(1, 2, 3)) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(ids),
            "email": [f"p{i}@x.io" for i in ids],
            "city": cities,
            "phone": phones,
            "updated_at": [f"2024-02-{d:02d} 08:00:00" for d in days],
        }
    )


def test_scd2_first_load_opens_one_current_version_per_key(project: Project) -> None:
    project.pipeline(one_node(SCD2))
    project.csv("src.csv", _people(["Oslo", "Rome", "Lima"], ["t1", "t2", "t3"], [1, 1, 1]))
    assert project.run().status == "succeeded"
    table = project.table("silver.history")
    assert table.schema["valid_from"] == UTC_US
    assert table.schema["valid_to"] == UTC_US
    assert table.schema["is_current"] == pl.Boolean
    got = table.sort("id").select("id", "city", "valid_from", "valid_to", "is_current")
    assert got.rows() == [
        (1, "Oslo", ts("2024-02-01 08:00"), None, True),
        (2, "Rome", ts("2024-02-01 08:00"), None, True),
        (3, "Lima", ts("2024-02-01 08:00"), None, True),
    ]


def test_scd2_second_run_closes_changed_versions_only(project: Project) -> None:
    project.pipeline(one_node(SCD2))
    project.csv("src.csv", _people(["Oslo", "Rome", "Lima"], ["t1", "t2", "t3"], [1, 1, 1]))
    project.run()

    # id 1: tracked city changes; id 2: unchanged; id 3: only untracked phone changes; id 4 new
    second = _people(
        ["Bergen", "Rome", "Lima", "Cuzco"],
        ["t1", "t2", "t33", "t4"],
        [5, 1, 5, 5],
        ids=(1, 2, 3, 4),
    )
    project.csv("src.csv", second)
    story = project.run()
    assert story.status == "succeeded"
    assert project.node(story, "load").version == 1
    got = (
        project.table("silver.history")
        .sort("id", "valid_from")
        .select("id", "city", "phone", "valid_from", "valid_to", "is_current")
        .rows()
    )
    day1, day5 = ts("2024-02-01 08:00"), ts("2024-02-05 08:00")
    assert got == [
        (1, "Oslo", "t1", day1, day5, False),  # closed at the new version's valid_from
        (1, "Bergen", "t1", day5, None, True),
        (2, "Rome", "t2", day1, None, True),  # unchanged: untouched
        (3, "Lima", "t3", day1, None, True),  # untracked change: no new version
        (4, "Cuzco", "t4", day5, None, True),
    ]

    # The same input again adds nothing: no commit, same rows.
    again = project.run()
    assert again.status == "succeeded"
    assert project.node(again, "load").version is None
    assert version(project, "silver.history") == 1
    assert (
        project.table("silver.history")
        .sort("id", "valid_from")
        .select("id", "city", "phone", "valid_from", "valid_to", "is_current")
        .rows()
        == got
    )


def test_scd2_without_effective_column_uses_the_run_start(project: Project) -> None:
    project.pipeline(one_node("{table: silver.h, mode: scd2, keys: [id]}"))
    project.csv("src.csv", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}))
    first = project.run()
    project.csv("src.csv", pl.DataFrame({"id": [1, 2], "v": ["a", "B"]}))
    second = project.run()
    assert second.status == "succeeded"
    t1, t2 = first.started_at, second.started_at
    got = project.table("silver.h").sort("id", "valid_from").rows()
    assert got == [
        (1, "a", t1, None, True),
        (2, "b", t1, t2, False),
        (2, "B", t2, None, True),
    ]


def test_scd2_duplicate_keys_fail_and_leave_the_table(project: Project) -> None:
    project.pipeline(one_node(SCD2))
    project.csv("src.csv", _people(["Oslo", "Rome", "Lima"], ["t1", "t2", "t3"], [1, 1, 1]))
    project.run()
    project.csv("src.csv", _people(["A", "B", "C"], ["t1", "t2", "t3"], [2, 2, 2], ids=(1, 1, 2)))
    report = project.node(project.run(), "load")
    assert report.status == "failed"
    assert report.error is not None
    assert "appear more than once in the scd2 source" in report.error.message
    assert version(project, "silver.history") == 0
    assert project.table("silver.history").height == 3


def test_scd2_a_tracked_value_becoming_null_opens_a_version(project: Project) -> None:
    project.pipeline(one_node("{table: silver.h, mode: scd2, keys: [id], tracked_columns: [city]}"))
    project.csv("src.csv", pl.DataFrame({"id": [1, 2], "city": ["Oslo", None]}))
    first = project.run()
    project.csv("src.csv", pl.DataFrame({"id": [1, 2], "city": [None, None]}))
    second = project.run()
    t1, t2 = first.started_at, second.started_at
    assert project.table("silver.h").sort("id", "valid_from").rows() == [
        (1, "Oslo", t1, t2, False),
        (1, None, t2, None, True),
        (2, None, t1, None, True),  # null to null is no change
    ]


def test_scd2_rerun_gives_an_identical_table(project: Project) -> None:
    project.pipeline(one_node(SCD2))
    project.csv("src.csv", _people(["Oslo", "Rome", "Lima"], ["t1", "t2", "t3"], [1, 1, 1]))
    project.run()
    before = project.table("silver.history").sort("id", "valid_from")
    story = project.run()
    assert story.status == "succeeded"
    assert project.node(story, "load").version is None
    assert project.table("silver.history").sort("id", "valid_from").equals(before)


def test_merge_with_schema_evolution_adds_the_column(project: Project) -> None:
    project.pipeline(one_node("{table: silver.t, mode: merge, keys: [id], schema_evolution: true}"))
    project.csv("src.csv", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}))
    project.run()
    project.csv("src.csv", pl.DataFrame({"id": [2, 3], "v": ["B", "c"], "tier": ["gold", "tin"]}))
    story = project.run()
    assert story.status == "succeeded"
    change = project.node(story, "load").schema_change
    assert change is not None and change.added == [("tier", "string")]
    assert rows(project, "silver.t") == [
        {"id": 1, "v": "a", "tier": None},
        {"id": 2, "v": "B", "tier": "gold"},
        {"id": 3, "v": "c", "tier": "tin"},
    ]
