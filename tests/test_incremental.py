"""Incremental inputs: watermarks kept in the warehouse, moved only by a committed write."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime
from typing import Any

import polars as pl
from deltalake import DeltaTable, write_deltalake

from conftest import Project
from lakesmith.pipeline import state


def table_uri(project: Project, name: str) -> str:
    schema, table = name.split(".")
    return str(project.root / "warehouse" / "main" / schema / table)


def version(project: Project, name: str) -> int:
    return DeltaTable(table_uri(project, name)).version()


def events(n: int, start: int = 1) -> pl.DataFrame:
    """Rows id start..start+n-1, one hour apart; updated_at grows with id."""
    ids = list(range(start, start + n))
    return pl.DataFrame(
        {
            "id": ids,
            "v": [f"v{i}" for i in ids],
            "updated_at": [f"2024-03-01 {i:02d}:00:00" for i in ids],
        }
    )


def ids(project: Project, name: str) -> list[int]:
    return project.table(name).sort("id")["id"].to_list()


def mirror(project: Project) -> dict[tuple[str, str], Any]:
    """The system table <catalog>._lakesmith.watermarks as {(node, input): value}."""
    table = project.table("_lakesmith.watermarks")
    return {(r["node"], r["input"]): state.decode(r["value"]) for r in table.to_dicts()}


def committed(project: Project, name: str) -> dict[str, Any]:
    """The watermarks carried by the newest commit of the target table that has any."""
    for commit in DeltaTable(table_uri(project, name)).history():
        if state.COMMIT_KEY in commit:
            marks = json.loads(commit[state.COMMIT_KEY])
            return {alias: state.decode(value) for alias, value in marks.items()}
    return {}


def module(project: Project, body: str) -> str:
    """A transform module under a name no other test uses (modules stay imported)."""
    name = f"tx_{uuid.uuid4().hex[:12]}"
    project.write(f"{name}.py", body)
    return name


APPEND = """\
    name: main
    nodes:
      - name: load
        inputs:
          src: {connection: files, path: events.csv, incremental: {column: updated_at}}
        write: {table: bronze.events, mode: append}
    """


def test_incremental_reads_only_rows_above_the_watermark(project: Project) -> None:
    project.pipeline(APPEND)
    project.csv("events.csv", events(3))
    first = project.run()
    assert first.status == "succeeded"
    report = project.node(first, "load")
    assert report.inputs[0].rows == 3
    assert report.inputs[0].watermark_from is None
    assert report.inputs[0].watermark_to == "2024-03-01 03:00:00"
    assert project.table("bronze.events").sort("id").rows() == [
        (i, f"v{i}", datetime.fromisoformat(f"2024-03-01T{i:02d}:00:00+00:00")) for i in (1, 2, 3)
    ]

    # Same file: nothing new, nothing written.
    second = project.run()
    assert second.status == "succeeded"
    report = project.node(second, "load")
    assert report.status == "no_new_data"
    assert report.inputs[0].rows == 0
    assert report.version is None
    assert version(project, "bronze.events") == 0
    assert ids(project, "bronze.events") == [1, 2, 3]

    # Rows appended to the source: only they are read.
    project.csv("events.csv", events(5))
    third = project.run()
    report = project.node(third, "load")
    assert report.status == "succeeded"
    assert report.inputs[0].rows == 2
    assert report.rows_out == 2
    assert report.inputs[0].watermark_from == "2024-03-01 03:00:00"
    assert report.inputs[0].watermark_to == "2024-03-01 05:00:00"
    assert ids(project, "bronze.events") == [1, 2, 3, 4, 5]
    assert version(project, "bronze.events") == 1


def test_watermark_lives_in_the_commit_and_the_system_table(project: Project) -> None:
    project.pipeline(APPEND)
    project.csv("events.csv", events(2))
    story = project.run()
    expected = datetime(2024, 3, 1, 2)
    assert committed(project, "bronze.events") == {"src": expected}
    assert mirror(project) == {("load", "src"): expected}
    system = project.table("_lakesmith.watermarks")
    assert system["run_id"].to_list() == [story.run_id]
    commit = DeltaTable(table_uri(project, "bronze.events")).history(1)[0]
    assert commit[state.RUN_KEY] == story.run_id
    assert commit[state.NODE_KEY] == "load"
    # The system table is a warehouse table, but not a user one.
    assert (project.root / "warehouse" / "main" / "_lakesmith" / "watermarks").is_dir()

    project.csv("events.csv", events(4))
    project.run()
    assert committed(project, "bronze.events") == {"src": datetime(2024, 3, 1, 4)}
    assert mirror(project) == {("load", "src"): datetime(2024, 3, 1, 4)}


def test_the_target_commit_wins_over_a_stale_mirror(project: Project) -> None:
    project.pipeline(APPEND)
    project.csv("events.csv", events(3))
    project.run()
    # Simulate a crash between the data commit and the mirror: the mirror says id 1.
    stale = project.table("_lakesmith.watermarks").with_columns(
        pl.lit(state.encode(datetime(2024, 3, 1, 1))).alias("value")
    )
    write_deltalake(table_uri(project, "_lakesmith.watermarks"), stale.to_arrow(), mode="overwrite")
    project.csv("events.csv", events(4))
    report = project.node(project.run(), "load")
    assert report.inputs[0].rows == 1
    assert ids(project, "bronze.events") == [1, 2, 3, 4]


def test_watermark_does_not_move_when_the_transform_fails(project: Project) -> None:
    flag = project.root / "fail.flag"
    name = module(
        project,
        """\
        from pathlib import Path

        def guard(src, params):
            if Path(params["flag"]).exists():
                raise RuntimeError("transform refused this batch")
            return src
        """,
    )
    project.pipeline(
        f"""\
        name: main
        nodes:
          - name: load
            inputs:
              src: {{connection: files, path: events.csv, incremental: {{column: updated_at}}}}
            transform: {{python: "{name}:guard", params: {{flag: "{flag}"}}}}
            write: {{table: bronze.events, mode: append}}
        """
    )
    project.csv("events.csv", events(2))
    assert project.run().status == "succeeded"
    mark = datetime(2024, 3, 1, 2)

    project.csv("events.csv", events(4))
    flag.touch()
    failed = project.run()
    report = project.node(failed, "load")
    assert report.status == "failed"
    assert report.error is not None and "transform refused this batch" in report.error.message
    assert committed(project, "bronze.events") == {"src": mark}
    assert mirror(project) == {("load", "src"): mark}
    assert version(project, "bronze.events") == 0

    flag.unlink()
    fixed = project.run()
    report = project.node(fixed, "load")
    assert report.status == "succeeded"
    assert report.inputs[0].rows == 2
    assert ids(project, "bronze.events") == [1, 2, 3, 4]  # nothing lost, nothing twice
    assert committed(project, "bronze.events") == {"src": datetime(2024, 3, 1, 4)}
    assert mirror(project) == {("load", "src"): datetime(2024, 3, 1, 4)}


def test_watermark_does_not_move_when_the_write_fails(project: Project) -> None:
    project.pipeline(
        """\
        name: main
        nodes:
          - name: load
            inputs:
              src: {connection: files, path: events.csv, incremental: {column: updated_at}}
            write: {table: silver.events, mode: merge, keys: [id]}
        """
    )
    project.csv("events.csv", events(2))
    project.run()

    # The second batch repeats key 3: the merge refuses it before committing.
    bad = pl.concat(
        [events(3), events(1, start=3).with_columns(updated_at=pl.lit("2024-03-01 09:00:00"))]
    )
    project.csv("events.csv", bad)
    report = project.node(project.run(), "load")
    assert report.status == "failed"
    assert report.error is not None and report.error.type == "WriteError"
    assert committed(project, "silver.events") == {"src": datetime(2024, 3, 1, 2)}
    assert mirror(project) == {("load", "src"): datetime(2024, 3, 1, 2)}

    project.csv("events.csv", events(3))
    report = project.node(project.run(), "load")
    assert report.status == "succeeded"
    assert report.inputs[0].rows == 1
    assert project.table("silver.events").sort("id").select("id", "v").rows() == [
        (1, "v1"),
        (2, "v2"),
        (3, "v3"),
    ]


def test_first_merge_with_insert_condition_keeps_rows_when_the_merge_fails(
    project: Project,
) -> None:
    """A first merge with an insert condition is one commit: when the condition fails no table
    and no watermark appear, and the fixed run reads the whole batch again."""
    pipeline = """\
        name: main
        nodes:
          - name: load
            inputs:
              src: {{connection: files, path: events.csv, incremental: {{column: id}}}}
            write: {{table: silver.events, mode: merge, keys: [id], insert_condition: "{cond}"}}
        """
    project.pipeline(pipeline.format(cond="source.no_such_column = 1"))
    project.csv("events.csv", events(2))
    assert project.node(project.run(), "load").status == "failed"
    assert not (project.root / "warehouse" / "main" / "silver" / "events").exists()

    project.pipeline(pipeline.format(cond="source.id > 0"))
    report = project.node(project.run(), "load")
    assert report.status == "succeeded"
    assert report.inputs[0].rows == 2
    assert ids(project, "silver.events") == [1, 2]
    assert committed(project, "silver.events") == {"src": 2}


def test_incremental_table_input_follows_an_upstream_table(project: Project) -> None:
    project.pipeline(
        """\
        name: main
        nodes:
          - name: bronze
            inputs:
              src: {connection: files, path: events.csv}
            write: {table: bronze.events, mode: overwrite}
          - name: silver
            inputs:
              events: {table: bronze.events, incremental: {column: id}}
            transform:
              sql: SELECT id, upper(v) AS v FROM events
            write: {table: silver.events, mode: append}
        """
    )
    project.csv("events.csv", events(2))
    first = project.run()
    assert [n.name for n in first.nodes] == ["bronze", "silver"]
    assert project.table("silver.events").sort("id").rows() == [(1, "V1"), (2, "V2")]

    project.csv("events.csv", events(3))
    second = project.run()
    report = project.node(second, "silver")
    assert report.inputs[0].rows == 1
    assert (report.inputs[0].watermark_from, report.inputs[0].watermark_to) == ("2", "3")
    assert project.table("silver.events").sort("id").rows() == [(1, "V1"), (2, "V2"), (3, "V3")]

    third = project.run()
    assert project.node(third, "bronze").status == "succeeded"
    assert project.node(third, "silver").status == "no_new_data"
    assert third.status == "succeeded"
    assert version(project, "silver.events") == 1


def test_incremental_merge_rerun_is_a_no_op(project: Project) -> None:
    project.pipeline(
        """\
        name: main
        nodes:
          - name: load
            inputs:
              src: {connection: files, path: events.csv, incremental: {column: updated_at}}
            write: {table: silver.events, mode: merge, keys: [id]}
        """
    )
    project.csv("events.csv", events(3))
    project.run()
    before = project.table("silver.events").sort("id")
    story = project.run()
    assert project.node(story, "load").status == "no_new_data"
    assert version(project, "silver.events") == 0
    assert project.table("silver.events").sort("id").equals(before)


def test_a_dropped_target_is_rebuilt_from_all_rows(project: Project) -> None:
    """Without the target table no rows are held: a leftover mirror row must not skip them."""
    project.pipeline(APPEND)
    project.csv("events.csv", events(3))
    project.run()
    shutil.rmtree(table_uri(project, "bronze.events"))
    assert mirror(project) == {("load", "src"): datetime(2024, 3, 1, 3)}

    report = project.node(project.run(), "load")
    assert report.status == "succeeded"
    assert report.inputs[0].watermark_from is None
    assert report.inputs[0].rows == 3
    assert ids(project, "bronze.events") == [1, 2, 3]


def test_incremental_on_a_utc_timestamp_from_a_delta_table(project: Project) -> None:
    project.pipeline(
        """\
        name: main
        nodes:
          - name: bronze
            inputs:
              src: {connection: files, path: events.csv}
            write: {table: bronze.events, mode: overwrite}
          - name: silver
            inputs:
              events: {table: bronze.events, incremental: {column: updated_at}}
            write: {table: silver.events, mode: append}
        """
    )
    project.csv("events.csv", events(2))
    project.run()
    project.csv("events.csv", events(3))
    report = project.node(project.run(), "silver")
    assert report.inputs[0].rows == 1
    assert report.inputs[0].watermark_from == "2024-03-01 02:00:00+00:00"
    assert report.inputs[0].watermark_to == "2024-03-01 03:00:00+00:00"
    assert ids(project, "silver.events") == [1, 2, 3]
    assert committed(project, "silver.events") == {
        "events": datetime.fromisoformat("2024-03-01T03:00:00+00:00")
    }


def test_a_run_that_read_a_watermark_another_run_moved_reruns_and_loads_nothing_twice(
    project: Project,
) -> None:
    """Two runs of one incremental node, interleaved: the first reads the watermark, the
    second runs whole meanwhile (from inside the first's transform), then the first commits."""
    name = module(
        project,
        """\
        from pathlib import Path

        from lakesmith.config import load_project
        from lakesmith.pipeline.plan import build_plan
        from lakesmith.pipeline.runner import Runner

        def race(src, params):
            flag = Path(params["flag"])
            if not flag.exists():  # only the first run's first try starts the other run
                flag.touch()
                cfg = load_project(params["root"], "local")
                assert Runner(cfg).run(build_plan(cfg)).status == "succeeded"
            return src
        """,
    )
    project.pipeline(
        f"""\
        name: main
        nodes:
          - name: load
            inputs:
              src: {{connection: files, path: events.csv, incremental: {{column: updated_at}}}}
            transform:
              python: "{name}:race"
              params: {{flag: "{project.root / "flag"}", root: "{project.root}"}}
            write: {{table: bronze.events, mode: append}}
        """
    )
    project.csv("events.csv", events(3))
    first = project.run()
    report = project.node(first, "load")
    assert report.status == "no_new_data"  # its rerun found the rows already loaded
    assert report.metrics["conflict_reruns"] == 1
    assert ids(project, "bronze.events") == [1, 2, 3]  # loaded once, by the inner run
    assert committed(project, "bronze.events") == {"src": datetime(2024, 3, 1, 3)}


ARRIVE = """\
    from pathlib import Path

    import polars as pl
    from deltalake import write_deltalake

    def arrive(src, params):
        '''The first time: more rows land in the source after the batch was counted.'''
        flag = Path(params["flag"])
        if not flag.exists():
            flag.touch()
            late = pl.DataFrame({"id": params["ids"]}).with_columns(
                pl.format("v{}", "id").alias("v")
            )
            if params["path"].endswith(".csv"):
                old = pl.read_csv(params["path"])
                late = late.with_columns(updated_at=pl.lit("2024-03-01 09:00:00"))
                pl.concat([old, late]).write_csv(params["path"])
            else:
                write_deltalake(params["path"], late.to_arrow(), mode="append")
        return src
    """


def test_rows_landing_after_the_batch_was_counted_wait_for_the_next_run(
    project: Project,
) -> None:
    """The batch is counted, then read again by the write: files get rows above its newest
    value, a Delta table gets a commit (also below it). The write holds what was counted; the
    next run loads the rows above the watermark, once."""
    name = module(project, ARRIVE)
    flags = project.root / "flag-csv", project.root / "flag-delta"
    bronze = table_uri(project, "bronze.events")
    write_deltalake(bronze, events(3).select("id", "v").to_arrow())
    project.csv("events.csv", events(3))
    csv_path = project.root / "data" / "events.csv"
    project.pipeline(
        f"""\
        name: main
        nodes:
          - name: from_files
            inputs:
              src: {{connection: files, path: events.csv, incremental: {{column: id}}}}
            transform:
              python: "{name}:arrive"
              params: {{flag: "{flags[0]}", path: "{csv_path}", ids: [4, 5]}}
            write: {{table: silver.from_files, mode: append}}
          - name: from_delta
            inputs:
              src: {{table: bronze.events, incremental: {{column: id}}}}
            transform:
              python: "{name}:arrive"
              params: {{flag: "{flags[1]}", path: "{bronze}", ids: [0, 4, 5]}}
            write: {{table: silver.from_delta, mode: merge, keys: [id]}}
        """
    )
    first = project.run()
    for node in ("from_files", "from_delta"):
        report = project.node(first, node)
        assert report.status == "succeeded", report.error
        assert report.inputs[0].rows == report.rows_out == 3
        assert report.inputs[0].watermark_to == "3"
        assert ids(project, f"silver.{node}") == [1, 2, 3]

    second = project.run()
    for node in ("from_files", "from_delta"):
        report = project.node(second, node)
        assert report.inputs[0].rows == report.rows_out == 2
        assert ids(project, f"silver.{node}") == [1, 2, 3, 4, 5]
    assert project.node(project.run(), "from_delta").status == "no_new_data"


def test_rows_without_a_watermark_value_load_with_the_first_batch_only(project: Project) -> None:
    project.pipeline(APPEND)
    unknown = events(1, start=9).with_columns(updated_at=pl.lit(None, dtype=pl.String))
    project.csv("events.csv", pl.concat([events(2), unknown]))
    report = project.node(project.run(), "load")
    assert report.inputs[0].rows == report.rows_out == 3  # counted as written
    assert ids(project, "bronze.events") == [1, 2, 9]

    project.csv("events.csv", pl.concat([events(3), unknown]))
    report = project.node(project.run(), "load")
    assert report.inputs[0].rows == report.rows_out == 1
    assert ids(project, "bronze.events") == [1, 2, 3, 9]
