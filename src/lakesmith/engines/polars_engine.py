"""The embedded engine: Polars lazy frames over Delta tables, local or on ADLS.

Every operation passes the storage options of the root that owns its table, so one run can
read one storage account and write another.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from lakesmith.catalog.local import LocalCatalog
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config.models import FileFormat, WriteSpec
from lakesmith.errors import LakesmithError

from . import delta_writes
from .base import Schema, WriteResult
from .frame_stream import FrameStream, plan_errors
from .frames import delta_ready, schema_of

SAMPLE_LIMIT = 20


def committed(
    uri: str, storage_options: Mapping[str, str] | None, metadata: Mapping[str, str] | None
) -> tuple[Any, int | None]:
    """The table after a write, and the version of the commit carrying ``metadata`` (None if
    it cannot be told: a wrong version in a story is worse than none).

    Another writer may have committed after it, so the newest version is not necessarily
    this write's, and any number of commits may have landed since: the whole history is
    searched (this runs only after a write that created the table, or raced its creation).
    delta-rs 1.6 ``history()`` lists the commits in storage but numbers them down from the
    loaded version: a commit landing in between shifts every number, so the listing counts
    only when the table is still at that version afterwards.
    """
    from deltalake import DeltaTable

    opts = dict(storage_options) if storage_options else None
    table = DeltaTable(uri, storage_options=opts)
    if not metadata:
        return table, table.version()
    for attempt in range(1, 21):
        commits = table.history()
        again = DeltaTable(uri, storage_options=opts)
        if again.version() != table.version():  # the listing may be shifted: list again
            table = again
            time.sleep(random.uniform(0, 0.005 * attempt))  # let a burst of writers pass
            continue
        for commit in commits:
            if all(commit.get(k) == v for k, v in metadata.items()):
                return table, int(commit["version"])
        break
    return table, None


class PolarsEngine:
    """Reads lazily; writes with delta-rs, streaming the plan batch by batch into the table
    (merge and scd2 too, after a pass over the source's keys)."""

    name = "polars"

    def __init__(
        self,
        catalog: LocalCatalog,
        default_catalog: str,
        *,
        duckdb: Mapping[str, str] | None = None,
    ) -> None:
        """``duckdb``: settings of the DuckDB each SQL node runs in (``memory_limit``,
        ``temp_directory``: the project's ``duckdb:``)."""
        self.catalog = catalog
        self.default_catalog = default_catalog
        self.duckdb = dict(duckdb or {})

    def read_table(self, ref: TableRef) -> pl.LazyFrame:
        """The table as of its version now: every run of the plan reads that version (an
        incremental batch is counted, then written, from the same rows)."""
        from deltalake import DeltaTable

        where = self.catalog.require(ref)
        return pl.scan_delta(DeltaTable(where.uri, storage_options=where.storage_options))

    def read_path(
        self,
        path: str,
        fmt: FileFormat,
        *,
        options: Mapping[str, Any] | None = None,
        storage_options: Mapping[str, str] | None = None,
    ) -> pl.LazyFrame:
        opts = dict(options or {})
        storage = dict(storage_options) if storage_options else None
        try:
            match fmt:
                case "csv":
                    opts.setdefault("try_parse_dates", True)
                    return pl.scan_csv(path, storage_options=storage, **opts)
                case "json":
                    if opts.pop("multiline", False):
                        return pl.read_json(path, **opts).lazy()
                    return pl.scan_ndjson(path, storage_options=storage, **opts)
                case "parquet":
                    return pl.scan_parquet(path, storage_options=storage, **opts)
                case "delta":
                    return pl.scan_delta(path, storage_options=storage, **opts)
        except TypeError as exc:
            raise LakesmithError(
                f"bad read option for {fmt} file {path}: {exc}",
                hint=f"options are passed to polars.scan_{fmt}; check their names",
            ) from exc
        raise AssertionError(f"unknown format {fmt}")

    def sql(self, query: str, frames: Mapping[str, pl.LazyFrame]) -> pl.LazyFrame:
        from .duckdb_sql import run_sql

        return run_sql(query, frames, self._resolve, settings=self.duckdb)

    def _resolve(self, name: str) -> pl.LazyFrame:
        return self.read_table(TableRef.parse(name, default_catalog=self.default_catalog))

    def table_exists(self, ref: TableRef) -> bool:
        return self.catalog.exists(ref)

    def table_schema(self, ref: TableRef) -> Schema | None:
        if not self.catalog.exists(ref):
            return None
        where = self.catalog.location(ref)
        return schema_of(pl.scan_delta(where.uri, storage_options=where.storage_options))

    def row_count(self, ref: TableRef) -> int | None:
        return self.catalog.row_count(ref)

    def commit_history(self, ref: TableRef, limit: int) -> list[dict[str, Any]]:
        from deltalake import DeltaTable

        where = self.catalog.location(ref)
        return DeltaTable(where.uri, storage_options=where.storage_options).history(limit)

    guards_commits = True

    def transaction_version(self, ref: TableRef, app_id: str) -> int | None:
        """The version of the last commit of app ``app_id`` to the table (None: none, or no
        table)."""
        from deltalake import DeltaTable

        where = self.catalog.location(ref)
        if not DeltaTable.is_deltatable(where.uri, storage_options=where.storage_options):
            return None
        table = DeltaTable(where.uri, storage_options=where.storage_options)
        return table.transaction_version(app_id)

    def write(
        self,
        frame: pl.LazyFrame | pl.DataFrame,
        ref: TableRef,
        spec: WriteSpec,
        *,
        commit_metadata: Mapping[str, str] | None = None,
        run_started: datetime | None = None,
        app_transaction: tuple[str, int] | None = None,
        guard: delta_writes.Guard | None = None,
    ) -> WriteResult:
        """Write one frame; ``app_transaction`` marks the commit and ``guard`` checks it (see
        ``delta_writes.write``). Other conflicts are retried: each try re-reads the table.

        A lazy frame is streamed into the table, so memory does not grow with its rows; its
        plan runs once per try (merge and scd2 run it once more to check the keys first). An
        error of the plan itself (a bad cast, an unreadable file) is raised as the plan raised
        it, not as delta-rs's.
        """
        df: delta_writes.Data
        if isinstance(frame, pl.DataFrame):
            df = delta_ready(frame)
        else:
            df = FrameStream(delta_ready(frame), sample_limit=SAMPLE_LIMIT)
        where = self.catalog.location(ref)
        if where.local_path is not None:
            where.local_path.parent.mkdir(parents=True, exist_ok=True)
        schemas: list[Schema | None] = []
        retried: list[int] = []

        def attempt() -> dict[str, Any] | None:
            schemas.append(self.table_schema(ref))  # again on each try: a racer may create it
            return delta_writes.write(
                where.uri,
                df,
                spec,
                exists=schemas[-1] is not None,
                commit_metadata=commit_metadata,
                storage_options=where.storage_options,
                run_started=run_started or datetime.now(UTC),
                app_transaction=app_transaction,
                guard=guard,
            )

        with plan_errors(df):
            if app_transaction is None and guard is None:
                metrics = delta_writes.retry_conflicts(attempt, retried.append)
            else:  # the caller checked the table before writing: on a conflict, check again
                metrics = attempt()
        before = schemas[-1]
        if retried and metrics is not None:
            metrics = {**metrics, "conflicts_retried": len(retried)}
        version, after = None, before
        if metrics is not None:  # log loads are round trips on ADLS: one or two here
            known = metrics.pop(delta_writes.COMMIT_VERSION, None)
            search = commit_metadata if known is None else None  # known: no history search
            table, version = committed(where.uri, where.storage_options, search)
            version = version if known is None else known
            after = schema_of(pl.scan_delta(table))
        if isinstance(df, FrameStream):  # what the last try wrote
            rows, sample = df.rows, df.sample
        else:
            rows, sample = df.height, df.head(SAMPLE_LIMIT)
        return WriteResult(
            table=ref,
            mode=spec.mode,
            rows=rows,
            version=version,
            schema_before=before,
            schema_after=after or schema_of(sample),
            metrics=metrics or {},
            sample=sample.to_dicts(),
        )
