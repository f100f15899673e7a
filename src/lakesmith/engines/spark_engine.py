"""The Spark engine: Spark DataFrames over Delta tables, on Databricks or on this machine.

Where the Delta tables live decides how they are read and written, behind one small
interface (:class:`DeltaStore`):

- ``spark_native.NativeDelta`` on Databricks (a cluster or Databricks Connect): Delta and
  Unity Catalog are native, tables are three-part names.
- ``spark_local.LocalDelta`` on a laptop: open-source Spark has no Delta jars here, so Spark
  reads the Parquet files of a table's current version and delta-rs keeps the log. Tables
  are the same folders the embedded engine uses, written with the same semantics.

Everything else (file inputs, SQL, quality rules) is plain Spark and the same in both. The
engine never touches ``.rdd`` or ``sparkContext``, so Spark Connect and serverless work.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from lakesmith.catalog.table_ref import TableRef
from lakesmith.config.models import FileFormat, WriteSpec

from .base import Schema, WriteResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakesmith.config.loader import ProjectConfig
    from lakesmith.runtime.secrets import SecretResolver

    from .delta_writes import Guard


class DeltaStore(Protocol):
    """Where a Spark engine's Delta tables live: the local warehouse or Unity Catalog."""

    guards_commits: bool
    """Whether ``write`` takes a ``Guard`` (see ``Engine.guards_commits``)."""

    def read(self, ref: TableRef) -> DataFrame: ...

    def read_path(self, path: str, storage_options: Mapping[str, str] | None) -> DataFrame: ...

    def exists(self, ref: TableRef) -> bool: ...

    def schema(self, ref: TableRef) -> Schema | None: ...

    def row_count(self, ref: TableRef) -> int | None: ...

    def commit_history(self, ref: TableRef, limit: int) -> list[dict[str, Any]]: ...

    def write(
        self,
        frame: Any,
        ref: TableRef,
        spec: WriteSpec,
        *,
        metadata: Mapping[str, str],
        run_started: datetime,
        guard: Guard | None = None,
    ) -> WriteResult:
        """Write a Spark frame (or a small Polars frame the runner built) in one commit;
        with a ``guard``, as ``delta_writes.write`` (stores that cannot check it refuse it)."""
        ...

    def transaction_version(self, ref: TableRef, app_id: str) -> int | None:
        """The version of app ``app_id``'s last commit to the table; None if none, or the
        store cannot tell (then it refuses guards)."""
        ...


class SparkEngine:
    """Reads return Spark DataFrames; every write is one Delta commit per table."""

    name = "spark"

    def __init__(self, spark: SparkSession, store: DeltaStore, default_catalog: str) -> None:
        self.spark = spark
        self.store = store
        self.default_catalog = default_catalog

    @classmethod
    def start(cls, cfg: ProjectConfig, *, secrets: SecretResolver | None = None) -> SparkEngine:
        """The engine for a project: its session, with the connections' settings applied once.

        Raises:
            MissingDependency: pyspark is not installed.
            LakesmithError: the session could not start (see ``runtime.spark.get_spark``).
        """
        from lakesmith.catalog.project import project_catalog
        from lakesmith.connections.resolve import spark_conf
        from lakesmith.runtime.secrets import SecretResolver
        from lakesmith.runtime.spark import apply_conf, get_spark

        secrets = secrets or SecretResolver(cfg.root)
        handle = get_spark(cfg.root, cfg.project.spark)
        conf = spark_conf(cfg.project.connections, secrets)
        if handle.native_delta:  # a local session got the user's settings when it started
            conf = {**{k: _text(v) for k, v in cfg.project.spark.conf.items()}, **conf}
        apply_conf(handle.session, conf)
        if handle.native_delta:
            from .spark_native import NativeDelta

            store: DeltaStore = NativeDelta(handle.session)
        else:
            from .spark_local import LocalDelta

            catalog = project_catalog(cfg, secrets)
            store = LocalDelta(handle.session, catalog, cfg.project.catalog)
        return cls(handle.session, store, cfg.project.catalog)

    def read_table(self, ref: TableRef) -> DataFrame:
        return self.store.read(ref)

    def read_path(
        self,
        path: str,
        fmt: FileFormat,
        *,
        options: Mapping[str, Any] | None = None,
        storage_options: Mapping[str, str] | None = None,
    ) -> DataFrame:
        """Files through Spark's readers; CSV and JSON typed as the embedded engine types them.

        ``options`` go to Spark's reader (``sep``, ``multiLine`` ...). CSV has a header and
        inferred types by default, with integers widened to bigint as the embedded engine
        reads them; JSON columns keep the file's order where the file is readable here
        (Spark sorts inferred JSON fields by name).
        """
        opts = {k: _text(v) for k, v in (options or {}).items()}
        reader = self.spark.read
        match fmt:
            case "csv":
                opts = {"header": "true", "inferSchema": "true", **opts}
                return _widen_integers(reader.options(**opts).csv(path))
            case "json":
                if "multiline" in opts:
                    opts["multiLine"] = opts.pop("multiline")
                frame = reader.options(**opts).json(path)
                if opts.get("multiLine", "false") == "false":
                    frame = _file_order(frame, path, storage_options)
                return frame
            case "parquet":
                return reader.options(**opts).parquet(path)
            case "delta":
                return self.store.read_path(path, storage_options)
        raise AssertionError(f"unknown format {fmt}")

    def sql(self, query: str, frames: Mapping[str, DataFrame]) -> DataFrame:
        from .spark_sql import run_sql

        return run_sql(self.spark, query, frames, self._resolve)

    def _resolve(self, name: str) -> DataFrame:
        return self.read_table(TableRef.parse(name, default_catalog=self.default_catalog))

    def table_exists(self, ref: TableRef) -> bool:
        return self.store.exists(ref)

    def table_schema(self, ref: TableRef) -> Schema | None:
        return self.store.schema(ref)

    def row_count(self, ref: TableRef) -> int | None:
        return self.store.row_count(ref)

    def commit_history(self, ref: TableRef, limit: int) -> list[dict[str, Any]]:
        return self.store.commit_history(ref, limit)

    def write(
        self,
        frame: Any,
        ref: TableRef,
        spec: WriteSpec,
        *,
        commit_metadata: Mapping[str, str] | None = None,
        run_started: datetime | None = None,
        guard: Guard | None = None,
    ) -> WriteResult:
        if is_spark_frame(frame):
            frame = delta_ready(frame)
        return self.store.write(
            frame,
            ref,
            spec,
            metadata=dict(commit_metadata or {}),
            run_started=run_started or datetime.now(UTC),
            guard=guard,
        )

    @property
    def guards_commits(self) -> bool:
        """Whether writes take a ``Guard`` (the local store does; native Delta does not)."""
        return self.store.guards_commits

    def transaction_version(self, ref: TableRef, app_id: str) -> int | None:
        return self.store.transaction_version(ref, app_id)


def is_spark_frame(frame: Any) -> bool:
    """A classic or Spark Connect DataFrame (both live under the pyspark package)."""
    return type(frame).__module__.startswith("pyspark.") and hasattr(frame, "sparkSession")


def delta_ready(frame: DataFrame) -> DataFrame:
    """Spark's side of ``frames.delta_ready``: UTC timestamps, no untyped columns.

    ``timestamp_ntz`` becomes ``timestamp`` read as UTC wall-clock time (the session zone is
    UTC), as the embedded engine reads naive datetimes; void columns become strings.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import NullType, StringType, TimestampNTZType, TimestampType

    fixes = {
        field.name: F.col(quote(field.name)).cast(
            TimestampType() if isinstance(field.dataType, TimestampNTZType) else StringType()
        )
        for field in frame.schema.fields
        if isinstance(field.dataType, TimestampNTZType | NullType)
    }
    return frame.withColumns(fixes) if fixes else frame


def sample_rows(frame: DataFrame, limit: int) -> list[dict[str, Any]]:
    """The first rows as Python values, through Arrow so timestamps stay UTC-aware."""
    import polars as pl

    table = frame.limit(limit).toArrow()
    return pl.DataFrame(table).to_dicts() if table.num_rows else []


def quote(name: str) -> str:
    """A Spark SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _widen_integers(frame: DataFrame) -> DataFrame:
    """int/smallint/tinyint columns as bigint: Spark infers the narrowest integer for CSV,
    the embedded engine always reads 64-bit integers."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ByteType, IntegerType, LongType, ShortType

    narrow = (ByteType, IntegerType, ShortType)
    fixes = {
        f.name: F.col(quote(f.name)).cast(LongType())
        for f in frame.schema.fields
        if isinstance(f.dataType, narrow)
    }
    return frame.withColumns(fixes) if fixes else frame


def _file_order(
    frame: DataFrame, path: str, storage_options: Mapping[str, str] | None
) -> DataFrame:
    """JSON columns in the order the embedded engine sees them, for files on this machine
    (a cloud path would make Polars look for credentials the cluster has and it has not)."""
    import polars as pl

    if "://" in path and not path.startswith("file:"):
        return frame
    try:
        names = pl.scan_ndjson(path, storage_options=dict(storage_options or {}) or None)
        order = names.collect_schema().names()
    except Exception:  # not readable from here (e.g. a cluster-only path): keep Spark's order
        return frame
    if sorted(order) != sorted(frame.columns):
        return frame
    return frame.select(*(quote(c) for c in order))
