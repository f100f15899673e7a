"""The Databricks side of the Spark engine without a workspace: the statements it issues, and
the session factory's choices and errors. Nothing here starts a JVM."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from conftest import Project
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models
from lakesmith.config.models import SparkSettings
from lakesmith.engines import default_engine
from lakesmith.engines.spark_native import (
    duplicate_keys_sql,
    merge_sql,
    save_plan,
    scd2_merge_sql,
    scd2_stage_sql,
    table_name,
)
from lakesmith.errors import ConfigError, LakesmithError, MissingDependency
from lakesmith.runtime import spark as runtime_spark

RUN = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
META = {"lakesmith.run_id": "r1", "lakesmith.node": "n"}


def spec(**fields: object) -> models.WriteSpec:
    from pydantic import TypeAdapter

    return TypeAdapter(models.WriteSpec).validate_python({"table": "s.t", **fields})


def merge_spec(**fields: Any) -> models.MergeWrite:
    return models.MergeWrite(table="s.t", mode="merge", **fields)


def parses(sql: str) -> None:
    """Valid Databricks SQL (what the cluster will parse)."""
    assert sqlglot.parse_one(sql, read="databricks") is not None


# --- saveAsTable -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "exists", "expected"),
    [
        ({"mode": "overwrite"}, True, ("overwrite", {"overwriteSchema": "true"})),
        ({"mode": "append"}, True, ("append", {})),
        ({"mode": "append", "schema_evolution": True}, True, ("append", {"mergeSchema": "true"})),
        (
            {"mode": "replace_where", "predicate": "day = '2024-05-01'"},
            True,
            ("overwrite", {"replaceWhere": "day = '2024-05-01'"}),
        ),
        ({"mode": "replace_where", "predicate": "d = 1"}, False, ("errorifexists", {})),
        ({"mode": "merge", "keys": ["id"]}, False, ("errorifexists", {})),
        ({"mode": "scd2", "keys": ["id"]}, False, ("errorifexists", {})),
    ],
)
def test_save_plan_per_mode(fields: dict, exists: bool, expected: tuple) -> None:
    assert save_plan(spec(**fields), exists=exists, metadata={}) == expected


def test_save_plan_records_commit_metadata_as_user_metadata() -> None:
    _, options = save_plan(spec(mode="append"), exists=True, metadata=META)
    assert options == {"userMetadata": '{"lakesmith.node": "n", "lakesmith.run_id": "r1"}'}


def test_merge_on_an_existing_table_is_not_a_save() -> None:
    with pytest.raises(ValueError, match="MERGE"):
        save_plan(spec(mode="merge", keys=["id"]), exists=True, metadata={})


def test_unity_catalog_names_are_three_part_and_quoted() -> None:
    assert table_name(TableRef("dev_c360", "silver", "orders")) == "`dev_c360`.`silver`.`orders`"


# --- MERGE -------------------------------------------------------------------------------


def test_merge_clauses_follow_the_embedded_engines_order() -> None:
    sql = merge_sql(
        "`c`.`s`.`t`",
        "src_view",
        models.MergeWrite(
            table="s.t",
            mode="merge",
            keys=["id", "day"],
            delete_condition="source.deleted",
            update_condition="source.v > target.v",
            insert_condition="source.v IS NOT NULL",
            delete_unmatched=True,
        ),
    )
    assert sql == (
        "MERGE INTO `c`.`s`.`t` AS target USING src_view AS source "
        "ON target.`id` = source.`id` AND target.`day` = source.`day` "
        "WHEN MATCHED AND (source.deleted) THEN DELETE "
        "WHEN MATCHED AND (source.v > target.v) THEN UPDATE SET * "
        "WHEN NOT MATCHED AND (source.v IS NOT NULL) THEN INSERT * "
        "WHEN NOT MATCHED BY SOURCE THEN DELETE"
    )
    parses(sql)


def test_merge_with_schema_evolution() -> None:
    sql = merge_sql("t", "v", merge_spec(keys=["id"], schema_evolution=True))
    assert sql.startswith("MERGE WITH SCHEMA EVOLUTION INTO t AS target USING v AS source")
    assert sql.endswith("WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")


def test_duplicate_keys_query() -> None:
    sql = duplicate_keys_sql("v", ["id", "day"])
    assert sql == "SELECT `id`, `day` FROM v GROUP BY `id`, `day` HAVING COUNT(*) > 1"
    parses(sql)


# --- SCD2 --------------------------------------------------------------------------------


def test_scd2_stage_and_merge_statements() -> None:
    scd2 = models.Scd2Write(table="s.h", mode="scd2", keys=["id"], tracked_columns=["city"])
    stage = scd2_stage_sql("`c`.`s`.`h`", "src", scd2, ["id", "city", "name"], ["city"], RUN)
    parses(stage)
    assert "TIMESTAMP '2024-05-01T06:30:00+00:00' AS `valid_from`" in stage
    assert "ON v.`id` <=> cur.`id`" in stage  # NULL-safe, as the embedded engine joins
    assert "(NOT (v.`city` <=> cur.`city`)) AS __differs" in stage
    assert "`id` AS `__lakesmith_mk_id`" in stage and "NULL AS `__lakesmith_mk_id`" in stage
    merge = scd2_merge_sql("`c`.`s`.`h`", stage, scd2, ["id", "city", "name"])
    parses(merge)
    assert "ON target.`id` = source.`__lakesmith_mk_id` AND target.`is_current` = true" in merge
    assert "UPDATE SET `valid_to` = source.`valid_from`, `is_current` = false" in merge
    assert merge.endswith(
        "INSERT (`id`, `city`, `name`, `valid_from`, `valid_to`, `is_current`) VALUES "
        "(source.`id`, source.`city`, source.`name`, source.`valid_from`, source.`valid_to`, "
        "source.`is_current`)"
    )


def test_scd2_effective_column_and_untracked_history() -> None:
    scd2 = models.Scd2Write(
        table="s.h", mode="scd2", keys=["id"], effective_column="changed_at", tracked_columns=[]
    )
    stage = scd2_stage_sql("h", "src", scd2, ["id", "changed_at"], [], RUN)
    assert "CAST(src.`changed_at` AS TIMESTAMP) AS `valid_from`" in stage
    assert "(FALSE) AS __differs" in stage  # nothing tracked: only new keys insert
    parses(stage)


# --- the session factory -----------------------------------------------------------------


def test_local_conf_keeps_spark_state_in_the_project_and_answers_in_utc() -> None:
    conf = runtime_spark.local_conf(Path("/p"), SparkSettings(conf={"spark.x": True}))
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.sql.parquet.outputTimestampType"] == "TIMESTAMP_MICROS"
    state = "/p/.lakesmith/spark"
    assert conf["spark.jars.ivy"] == f"{state}/ivy"
    assert conf["spark.sql.warehouse.dir"] == f"{state}/warehouse"
    assert conf["spark.local.dir"] == f"{state}/tmp"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.pyspark.python"] == sys.executable
    assert conf["spark.x"] == "true"  # the user's settings come last and win


def test_session_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert runtime_spark.session_kind(SparkSettings()) == "local"
    assert runtime_spark.session_kind(SparkSettings(session="connect")) == "connect"
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    assert runtime_spark.session_kind(SparkSettings(session="local")) == "databricks"


def test_connect_without_databricks_connect_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.setitem(sys.modules, "databricks.connect", None)
    with pytest.raises(LakesmithError, match="databricks-connect is not installed") as caught:
        runtime_spark.get_spark(Path(), SparkSettings(session="connect"))
    assert "pip uninstall pyspark" in caught.value.hint


def test_spark_engine_without_pyspark_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, project: Project
) -> None:
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    project.pipeline(
        "name: p\nnodes: [{name: n, inputs: {a: s.a}, write: {table: s.b, mode: append}}]"
    )
    with pytest.raises(MissingDependency) as caught:
        default_engine(project.config(), name="spark")
    assert "lakesmith[spark]" in str(caught.value) and "uv sync --extra spark" in caught.value.hint


def test_engine_and_spark_settings_are_validated(project: Project) -> None:
    project.write(
        "lakesmith.yaml",
        "schema_version: 1\nname: t\ncatalog: main\nengine: spark\n"
        "spark: {session: remote, confs: {}}\n",
    )
    project.pipeline(
        "name: p\nnodes: [{name: n, inputs: {a: s.a}, write: {table: s.b, mode: append}}]"
    )
    with pytest.raises(ConfigError) as caught:
        project.config()
    text = str(caught.value)
    assert "spark.session" in text and "spark.confs" in text
