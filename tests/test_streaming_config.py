"""Streaming tables, views and triggers in the pipeline model: every mistake in one report."""

from __future__ import annotations

import pytest

from conftest import Project
from lakesmith.config.streaming import AutoCdc, FileSource, IntervalTrigger, duration_seconds
from lakesmith.pipeline.plan import build_plan
from test_config import SIMPLE, errors_of, line_of, one

GOOD = """\
name: events
trigger: {interval: 500ms}
nodes:
  - name: raw_events
    kind: streaming_table
    source:
      files: landing/events
      connection: files
      format: json
      schema_hints: {id: bigint, amount: "decimal(10, 2)", ts: timestamp}
      max_files_per_batch: 10
    expectations:
      - {check: not_null, column: id, on_violation: drop}
      - {name: positive, check: expr, expr: "amount >= 0"}
    write: {table: bronze.events}
  - name: customers
    kind: streaming_table
    source: {table: bronze.events}
    auto_cdc:
      keys: [id]
      sequence_by: ts
      apply_as_deletes: "op = 'DELETE'"
      except_column_list: [op]
      stored_as_scd_type: 2
      track_history_column_list: [amount]
    write: {table: silver.customers}
  - name: totals
    inputs: {e: bronze.events}
    transform: {sql: "SELECT count(*) AS n FROM e"}
    write: {table: gold.totals, mode: overwrite}
"""


def test_streaming_pipeline_loads_with_lakeflow_vocabulary(project: Project) -> None:
    project.pipeline(GOOD)
    cfg = project.config()
    pipeline = cfg.pipelines[0].pipeline
    assert isinstance(pipeline.trigger, IntervalTrigger) and pipeline.trigger.seconds == 0.5
    raw, customers, totals = pipeline.nodes
    assert raw.kind == "streaming_table" and raw.write.mode == "append"  # the implied mode
    assert isinstance(raw.source, FileSource)
    assert raw.source.schema_hints["amount"] == "decimal(10, 2)"
    assert [e.on_violation for e in raw.expectations] == ["drop", "warn"]
    assert customers.auto_cdc is not None and customers.auto_cdc.stored_as_scd_type == 2
    assert totals.kind == "materialized_view"  # batch nodes are materialized views
    plan = build_plan(cfg)
    assert plan.order == ["raw_events", "customers", "totals"]
    assert plan.nodes["customers"].upstream == {"raw_events"}
    assert plan.nodes["raw_events"].reads == ("stream: files:landing/events (json files)",)


def test_trigger_defaults_to_available_now_and_reads_durations(project: Project) -> None:
    project.pipeline(SIMPLE)
    assert project.config().pipelines[0].pipeline.trigger == "available_now"
    assert duration_seconds("1s") == 1 and duration_seconds("2 minutes") == 120
    assert duration_seconds("100ms") == pytest.approx(0.1)
    assert duration_seconds("2 days") == 172800  # Lakeflow's tombstone retention
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("soon")


BAD = """\
name: bad
trigger: sometimes
nodes:
  - name: no_source
    kind: streaming_table
    write: {table: bronze.a}
  - name: mv
    inputs: {r: bronze.a}
    write: {table: silver.mv, mode: overwrite}
  - name: reads_mv
    kind: streaming_table
    source: {table: silver.mv}
    write: {table: gold.b}
  - name: cdc
    kind: streaming_table
    source: {files: landing, format: csv, connection: fils, schema: {id: bigint, v: strng}}
    auto_cdc: {keys: [id], except_column_list: [id]}
    write: {table: silver.c, mode: merge, keys: [id]}
  - name: batchy
    inputs: {r: bronze.a}
    source: {files: landing, format: json}
    auto_cdc: {keys: [id], sequence_by: seq}
    expectations: [{check: unique, columns: [id]}]
    write: {table: silver.d, mode: overwrite}
  - name: slow
    kind: streaming_table
    source: {files: landing, format: xml, max_files_per_batch: 0}
    expectations:
      - {check: not_null, column: id, on_violation: explode}
      - {check: not_null, column: id, severity: warn}
    write: {table: silver.e}
"""


def test_every_streaming_mistake_in_one_report(project: Project) -> None:
    file = project.pipeline(BAD)
    issues = errors_of(project.root)

    def check(key: str, text: str, needle: str) -> None:
        issue = one(issues, key, text)
        assert issue.file == file and issue.line == line_of(file, needle), str(issue)

    check("trigger", "'sometimes'", "trigger: sometimes")
    check("nodes[0].kind", "streaming table 'no_source' has no source", "kind: streaming_table")
    check("nodes[2].source.table", "reads main.silver.mv, a materialized view", "silver.mv}")
    check(
        "nodes[3].source.schema", "'strng' is not a supported type. Did you mean 'string'", "strng"
    )
    check("nodes[3].auto_cdc.sequence_by", "required key 'sequence_by' is missing", "auto_cdc")
    check(
        "nodes[4].source",
        "only streaming tables have a source",
        "source: {files: landing, format: json",
    )
    check("nodes[4].auto_cdc", "auto_cdc applies a change stream", "sequence_by: seq")
    check("nodes[4].expectations[0].check", "'unique' is not a check", "check: unique")
    check("nodes[5].source.format", "'xml'", "format: xml")
    check("nodes[5].source.max_files_per_batch", "must be at least 1, not 0", "format: xml")
    check("nodes[5].expectations[0].on_violation", "'explode'", "explode")
    check("nodes[5].expectations[1]", "severity and tolerance do not apply", "severity: warn")
    # the cdc node's schema is invalid, yet its write mode is still checked; a salvaged node
    # whose source did not validate is not also told it has none
    check("nodes[3].write.mode", "a streaming table appends", "mode: merge")
    assert not [
        i for i in issues if "'cdc' has no source" in i.message or "no transform" in i.message
    ]
    assert len(issues) == 13, "\n".join(map(str, issues))
    assert "{interval: 1s}" in one(issues, "trigger", "sometimes").hint


def test_streaming_rules_between_valid_fields(project: Project) -> None:
    file = project.pipeline(
        """\
        name: p
        nodes:
          - name: cdc
            kind: streaming_table
            source: {files: landing, format: csv, connection: fils, schema: {id: bigint, seq: int}}
            auto_cdc:
              keys: [id]
              sequence_by: id
              except_column_list: [id]
              track_history_column_list: [v]
            write: {table: silver.c, mode: merge, keys: [id]}
          - name: dual
            kind: streaming_table
            source: {files: landing, format: json, schema: {id: bigint}, schema_hints: {id: int}}
            inputs: {r: {table: bronze.x, incremental: {column: ts}}}
            transform: {sql: "SELECT * FROM source"}
            quality: {rules: [{check: not_null, column: id}]}
            write: {table: silver.d}
          - name: v
            kind: view
            inputs: {r: bronze.x}
            write: {table: silver.v, mode: append}
          - name: self
            kind: streaming_table
            source: {table: silver.self}
            write: {table: silver.self}
        """
    )
    issues = errors_of(project.root)
    expected = {
        ("nodes[0].source.connection", "unknown connection 'fils'. Did you mean 'files'?"),
        ("nodes[0].write.mode", "a streaming table appends; mode 'merge' does not apply"),
        ("nodes[0].auto_cdc.sequence_by", "sequence_by 'id' is also a key"),
        ("nodes[0].auto_cdc.except_column_list", "key column(s) ['id'] cannot be left out"),
        ("nodes[0].auto_cdc.track_history_column_list", "needs stored_as_scd_type: 2"),
        ("nodes[0].auto_cdc", "column(s) ['v'] that the source schema does not have"),
        ("nodes[1].source.schema_hints", "give schema or schema_hints, not both"),
        ("nodes[1].inputs.r.incremental", "read whole with every batch"),
        ("nodes[1].quality", "checks its rows with expectations"),
        ("nodes[2].write.mode", "a view is recomputed on every run"),
        ("nodes[3].source.table", "reads the table it writes"),
    }
    for key, text in expected:
        one(issues, key, text)
    assert len(issues) == len(expected), "\n".join(map(str, issues))
    assert one(issues, "nodes[0].write.mode", "merge").line == line_of(file, "mode: merge")


def test_tombstone_retention_is_a_positive_duration_for_deletes(project: Project) -> None:
    cdc = "{keys: [id], sequence_by: seq, apply_as_deletes: \"op = 'D'\""
    project.pipeline(
        f"""\
        name: p
        nodes:
          - name: a
            kind: streaming_table
            source: {{files: a, format: json, connection: files}}
            auto_cdc: {cdc}, tombstone_retention: 3 days}}
            write: {{table: silver.a}}
          - name: b
            kind: streaming_table
            source: {{files: b, format: json, connection: files}}
            auto_cdc: {cdc}, tombstone_retention: soon}}
            write: {{table: silver.b}}
          - name: c
            kind: streaming_table
            source: {{files: c, format: json, connection: files}}
            auto_cdc: {{keys: [id], sequence_by: seq, tombstone_retention: 0s}}
            write: {{table: silver.c}}
          - name: d
            kind: streaming_table
            source: {{files: d, format: json, connection: files}}
            auto_cdc: {{keys: [id], sequence_by: seq, tombstone_retention: 1h}}
            write: {{table: silver.d}}
        """
    )
    issues = errors_of(project.root)
    one(issues, "nodes[1].auto_cdc.tombstone_retention", "'soon' is not a duration")
    one(issues, "nodes[2].auto_cdc.tombstone_retention", "must be longer than zero")
    one(issues, "nodes[3].auto_cdc.tombstone_retention", "this auto_cdc deletes none")
    assert len(issues) == 3, "\n".join(map(str, issues))
    three_days = AutoCdc(keys=["id"], sequence_by="seq", tombstone_retention="3 days")
    assert three_days.tombstone_retention_seconds == 3 * 86400
    assert AutoCdc(keys=["id"], sequence_by="seq").tombstone_retention == "2 days"
