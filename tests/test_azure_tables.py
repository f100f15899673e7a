"""Tables on ADLS Gen2 (Azurite): every write mode, SQL, incremental loads, two accounts in one
pipeline, quarantine and story, and the table commands, through the embedded engine."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import polars as pl
import pytest

from conftest import SECOND_ACCOUNT, SECOND_KEY, Project
from lakesmith.catalog.local import LocalCatalog
from lakesmith.catalog.project import project_catalog
from lakesmith.catalog.storage import StorageRoot
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models
from lakesmith.engines.polars_engine import PolarsEngine
from lakesmith.testing.azurite import DEV_ACCOUNT, DEV_KEY, Azurite

pytestmark = pytest.mark.azure

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _container(az: Azurite, account: str = DEV_ACCOUNT) -> str:
    name = f"t{uuid.uuid4().hex[:12]}"
    az.create_container(name, account)
    return name


@pytest.fixture(params=["abfss", "az"])
def engine(request: pytest.FixtureRequest, azurite_service: Azurite) -> PolarsEngine:
    """The embedded engine over a warehouse on Azurite, addressed by either URI form."""
    container = _container(azurite_service)
    uri = {
        "abfss": f"abfss://{container}@{DEV_ACCOUNT}.dfs.core.windows.net/wh",
        "az": f"az://{container}/wh",
    }[request.param]
    options = azurite_service.storage_options()
    return PolarsEngine(LocalCatalog(StorageRoot(lambda: (uri, options), "lake:wh")), "main")


def _spec(mode: str, **extra: object) -> models.WriteSpec:
    from pydantic import TypeAdapter

    return TypeAdapter(models.WriteSpec).validate_python({"table": "s.t", "mode": mode, **extra})


def _rows(engine: PolarsEngine, ref: TableRef, *order: str) -> list[dict[str, object]]:
    return engine.read_table(ref).sort(list(order) or "id").collect().to_dicts()


def test_every_write_mode_on_adls(engine: PolarsEngine) -> None:
    ref = TableRef("main", "s", "t")
    assert not engine.table_exists(ref) and engine.row_count(ref) is None
    first = pl.DataFrame({"id": [1, 2], "v": ["a", "b"], "day": [1, 1]})
    assert engine.write(first, ref, _spec("overwrite")).version == 0
    engine.write(pl.DataFrame({"id": [3], "v": ["c"], "day": [2]}), ref, _spec("append"))
    assert engine.row_count(ref) == 3
    merged = pl.DataFrame({"id": [2, 4], "v": ["B", "d"], "day": [1, 2]})
    engine.write(merged, ref, _spec("merge", keys=["id"]))
    assert [r["v"] for r in _rows(engine, ref)] == ["a", "B", "c", "d"]
    replaced = pl.DataFrame({"id": [9], "v": ["z"], "day": [2]})
    engine.write(replaced, ref, _spec("replace_where", predicate="day = 2"))
    assert [(r["id"], r["v"]) for r in _rows(engine, ref)] == [(1, "a"), (2, "B"), (9, "z")]
    assert engine.table_schema(ref) == [("id", "bigint"), ("v", "string"), ("day", "bigint")]
    assert engine.commit_history(ref, 10)[0]["operation"] == "WRITE"
    # SQL scans resolve catalog tables on ADLS too
    out = engine.sql("SELECT count(*) AS n FROM s.t WHERE day = 1", {}).collect()
    assert out["n"].to_list() == [2]


def test_scd2_on_adls(engine: PolarsEngine) -> None:
    ref = TableRef("main", "dim", "customer")
    spec = _spec("scd2", keys=["id"])
    engine.write(pl.DataFrame({"id": [1, 2], "city": ["Oslo", "Rome"]}), ref, spec, run_started=T0)
    later = T0.replace(day=2)
    engine.write(
        pl.DataFrame({"id": [1, 2], "city": ["Oslo", "Nice"]}), ref, spec, run_started=later
    )
    rows = _rows(engine, ref, "id", "valid_from")
    assert [(r["id"], r["city"], r["is_current"]) for r in rows] == [
        (1, "Oslo", True),
        (2, "Rome", False),
        (2, "Nice", True),
    ]
    assert rows[1]["valid_to"] == later


def test_catalog_lists_and_describes_adls_tables(engine: PolarsEngine) -> None:
    for name in ("main.a.x", "main.a.y", "main._lakesmith.w", "other.b.z"):
        engine.write(pl.DataFrame({"id": [1]}), TableRef.parse(name), _spec("overwrite"))
    catalog = engine.catalog
    assert [r.full_name for r in catalog.list_tables()] == ["main.a.x", "main.a.y", "other.b.z"]
    assert [r.full_name for r in catalog.list_tables("other")] == ["other.b.z"]
    assert TableRef.parse("main._lakesmith.w") in catalog.list_tables("main", system=True)
    info = catalog.describe(TableRef.parse("main.a.x"))
    assert info.row_count == 1 and info.version == 0 and info.columns == [("id", "bigint")]
    assert info.location.endswith("/wh/main/a/x") and "://" in info.location
    from lakesmith.errors import TableNotFound

    with pytest.raises(TableNotFound, match=r"main\.b\.x does not exist") as err:
        engine.read_table(TableRef.parse("main.b.x"))
    assert "main.a.x" in err.value.hint


# --- pipelines on ADLS -------------------------------------------------------------------------


def _adls(name: str, account: str, container: str, env: str) -> str:
    """A connection block whose endpoint and key come from the environment (never literals)."""
    return f"""\
  {name}:
    type: azure_adls
    account: {account}
    container: {container}
    endpoint: ${{{env}_ENDPOINT}}
    auth:
      type: direct_key
      account_key: ${{{env}_KEY}}
"""


@pytest.fixture
def lake(project: Project, azurite_service: Azurite, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project whose warehouse is on account 1 and whose ``raw`` catalog is on account 2."""
    for env, account in (("LAKE", DEV_ACCOUNT), ("SOURCE", SECOND_ACCOUNT)):
        monkeypatch.setenv(f"{env}_ENDPOINT", azurite_service.account_url(account))
        monkeypatch.setenv(f"{env}_KEY", azurite_service.accounts[account])
    lake_box, source_box = _container(azurite_service), _container(azurite_service, SECOND_ACCOUNT)
    project.write(
        "lakesmith.yaml",
        "schema_version: 1\nname: azproj\ncatalog: main\n"
        "warehouse: {connection: lake, path: warehouse}\n"
        "catalogs:\n  raw: {connection: source, path: raw_catalog}\n"
        "connections:\n  files: {type: local, path: data}\n"
        + _adls("lake", DEV_ACCOUNT, lake_box, "LAKE")
        + _adls("source", SECOND_ACCOUNT, source_box, "SOURCE"),
    )
    return project


def _events(first: int, n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(range(first, first + n)),
            "amount": [10 * i for i in range(first, first + n)],
            "ts": [T0.replace(hour=i % 24) for i in range(first, first + n)],
        }
    )


def two_accounts(lake: Project) -> None:
    """Land a file in account 2's raw catalog, then merge and aggregate into account 1."""
    lake.parquet("events.parquet", _events(1, 4))
    lake.pipeline(
        """\
        name: main
        nodes:
          - name: land
            inputs: {src: {connection: files, path: events.parquet}}
            write: {table: raw.sales.events, mode: overwrite}
          - name: silver
            inputs: {e: raw.sales.events}
            transform: {sql: "SELECT id, amount * 2 AS amount, ts FROM e"}
            write: {table: silver.events, mode: merge, keys: [id]}
          - name: gold
            transform: {sql: "SELECT count(*) AS n, sum(amount) AS total FROM silver.events"}
            write: {table: gold.totals, mode: overwrite}
        """
    )


def gold_totals(lake: Project) -> list[dict[str, object]]:
    where = project_catalog(lake.config()).location(TableRef.parse("main.gold.totals"))
    return pl.read_delta(where.uri, storage_options=where.storage_options).to_dicts()


def test_pipeline_reads_one_account_and_writes_another(lake: Project) -> None:
    two_accounts(lake)
    catalog = project_catalog(lake.config())
    source = catalog.location(TableRef.parse("raw.sales.events"))
    assert SECOND_ACCOUNT in source.uri and source.storage_options is not None
    assert source.storage_options["account_name"] == SECOND_ACCOUNT
    assert DEV_ACCOUNT in catalog.uri(TableRef.parse("main.silver.events"))
    story = lake.run()
    assert story.status == "succeeded", [n.error for n in story.nodes]
    assert catalog.row_count(TableRef.parse("raw.sales.events")) == 4
    assert gold_totals(lake) == [{"n": 4, "total": 200}]
    # account 2 holds only the raw catalog, account 1 only the warehouse
    assert [r.full_name for r in catalog.list_tables("raw")] == ["raw.sales.events"]
    assert {r.catalog for r in catalog.list_tables()} == {"main", "raw"}
    assert not (lake.root / "warehouse").exists()


def test_incremental_load_on_adls(lake: Project) -> None:
    lake.parquet("in/part1.parquet", _events(1, 3))
    lake.pipeline(
        """\
        name: main
        nodes:
          - name: load
            inputs:
              src: {connection: files, path: "in/*.parquet", incremental: {column: id}}
            write: {table: bronze.events, mode: append}
        """
    )
    assert lake.node(lake.run(), "load").rows_out == 3
    lake.parquet("in/part2.parquet", _events(4, 2))
    second = lake.node(lake.run(), "load")
    assert (second.rows_out, second.inputs[0].watermark_from) == (2, "3")
    assert lake.node(lake.run(), "load").status == "no_new_data"
    catalog = project_catalog(lake.config())
    assert catalog.row_count(TableRef.parse("main.bronze.events")) == 5
    mirror = catalog.location(TableRef.parse("main._lakesmith.watermarks"))
    marks = pl.read_delta(mirror.uri, storage_options=mirror.storage_options)
    assert marks.select("node", "input").to_dicts() == [{"node": "load", "input": "src"}]


def test_quarantine_story_and_table_commands_on_adls(lake: Project) -> None:
    lake.parquet("orders.parquet", pl.DataFrame({"order_id": [1, 2, 3], "amount": [5, -1, 7]}))
    lake.pipeline(
        """\
        name: main
        nodes:
          - name: silver
            inputs: {raw: {connection: files, path: orders.parquet}}
            write: {table: silver.orders, mode: overwrite}
            quality:
              on_error: quarantine
              rules: [{check: in_range, column: amount, min: 0, name: positive}]
        """
    )
    story = lake.run()
    node = lake.node(story, "silver")
    assert (node.status, node.rows_out, node.quarantined) == ("succeeded", 2, 1)
    catalog = project_catalog(lake.config())
    quarantined = catalog.location(TableRef.parse("main.silver.orders_quarantine"))
    bad = pl.read_delta(quarantined.uri, storage_options=quarantined.storage_options)
    assert bad["order_id"].to_list() == [2] and bad["_run_id"].to_list() == [story.run_id]
    assert catalog.row_count(TableRef.parse("main._lakesmith.quality_results")) == 1

    cli = [sys.executable, "-m", "lakesmith.cli.main"]
    run = lambda *args: subprocess.run(  # noqa: E731
        [*cli, *args, "-p", str(lake.root)], capture_output=True, text=True, timeout=120
    )
    listed = run("tables", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == ["main.silver.orders", "main.silver.orders_quarantine"]
    described = run("table", "describe", "silver.orders", "--json")
    assert described.returncode == 0, described.stderr
    info = json.loads(described.stdout)
    assert info["rows"] == 2 and info["location"].startswith("abfss://")
    shown = run("story")
    assert shown.returncode == 0, shown.stderr
    assert "quarantined → main.silver.orders_quarantine" in shown.stdout + shown.stderr
    assert lake.config().warehouse == lake.root / "warehouse"  # local-only tools' folder
    for output in (listed, described, shown):
        assert DEV_KEY not in output.stdout + output.stderr


BAD_RECORDS = """\
name: main
nodes:
  - name: orders
    inputs:
      raw: {{connection: source, path: {path}, format: csv, on_bad_records: quarantine}}
    write: {{table: bronze.orders, mode: append}}
"""


def test_bad_records_of_a_file_on_adls_are_quarantined(
    lake: Project, azurite_service: Azurite
) -> None:
    """The file is downloaded once, split, and its bad records land beside the table on the
    other account; a missing file says which one."""
    from azure.storage.blob import BlobServiceClient

    from test_bad_records import BAD_CSV

    lake.pipeline(BAD_RECORDS.format(path="landing/orders.csv"))
    source = lake.config().project.connections["source"]
    assert isinstance(source, models.AzureAdlsConnection)
    service = BlobServiceClient.from_connection_string(
        azurite_service.connection_string(SECOND_ACCOUNT)
    )
    service.get_blob_client(source.container, "landing/orders.csv").upload_blob(BAD_CSV)
    story = lake.run()
    assert story.status == "succeeded", [n.error for n in story.nodes]
    node = lake.node(story, "orders")
    assert node.inputs[0].bad_records == 3 and node.inputs[0].rows == 13
    catalog = project_catalog(lake.config())
    assert catalog.row_count(TableRef.parse("main.bronze.orders")) == 13
    where = catalog.location(TableRef.parse("main.bronze.orders_bad_records"))
    assert DEV_ACCOUNT in where.uri
    bad = pl.read_delta(where.uri, storage_options=where.storage_options).sort("line")
    assert bad["line"].to_list() == [14, 15, 16]
    assert bad["file"][0] == (
        f"abfss://{source.container}@{SECOND_ACCOUNT}.dfs.core.windows.net/landing/orders.csv"
    )

    lake.pipeline(BAD_RECORDS.format(path="landing/missing.csv"))
    story = lake.run()
    error = lake.node(story, "orders").error
    assert story.status == "failed" and error is not None
    assert "file 'landing/missing.csv' does not exist in container" in error.message
    assert SECOND_KEY not in error.message + (error.hint or "")


@pytest.mark.slow
@pytest.mark.spark
def test_local_spark_engine_reads_and_writes_adls_tables(lake: Project) -> None:
    """Local Spark has no ADLS filesystem: it reads ADLS tables through delta-rs and writes
    them through the embedded engine, each with the storage options of its own account."""
    from lakesmith.engines import default_engine
    from lakesmith.pipeline.plan import build_plan
    from lakesmith.pipeline.runner import Runner

    two_accounts(lake)
    cfg = lake.config()
    story = Runner(cfg, engine=default_engine(cfg, name="spark")).run(build_plan(cfg))
    assert story.engine == "spark" and story.status == "succeeded", [n.error for n in story.nodes]
    assert gold_totals(lake) == [{"n": 4, "total": 200}]


def test_missing_container_and_wrong_key_say_what_to_fix(azurite_service: Azurite) -> None:
    from lakesmith.errors import StorageError

    options = azurite_service.storage_options()
    nowhere = LocalCatalog(StorageRoot(lambda: ("az://nosuchcontainer/wh", options)))
    with pytest.raises(StorageError, match="ContainerNotFound") as missing:
        nowhere.list_tables()
    assert "create the container" in missing.value.hint
    wrong_key = {**options, "account_key": SECOND_KEY}
    container = _container(azurite_service)
    locked = LocalCatalog(StorageRoot(lambda: (f"az://{container}/wh", wrong_key)))
    with pytest.raises(StorageError, match=f"az://{container}/wh/main/s/t") as refused:
        locked.exists(TableRef("main", "s", "t"))
    assert "key" in refused.value.hint and SECOND_KEY not in str(refused.value)
    assert "\x1b[" not in str(refused.value)
