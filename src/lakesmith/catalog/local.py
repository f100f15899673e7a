"""The local warehouse: ``<warehouse>/<catalog>/<schema>/<table>`` folders, each a Delta table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakesmith.errors import TableNotFound

from .table_ref import TableRef

SYSTEM_SCHEMA = "_lakesmith"


@dataclass(frozen=True)
class TableInfo:
    ref: TableRef
    location: Path
    version: int
    row_count: int
    size_bytes: int
    num_files: int
    columns: list[tuple[str, str]]
    partition_columns: list[str]
    history: list[dict[str, Any]] = field(default_factory=list)


class LocalCatalog:
    """Resolves table names to Delta folders under one warehouse directory."""

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = Path(warehouse)

    def path(self, ref: TableRef) -> Path:
        return self.warehouse / ref.catalog / ref.schema / ref.table

    def uri(self, ref: TableRef) -> str:
        return str(self.path(ref).resolve())

    def exists(self, ref: TableRef) -> bool:
        return (self.path(ref) / "_delta_log").is_dir()

    def require(self, ref: TableRef) -> Path:
        if not self.exists(ref):
            near = [str(t) for t in self.list_tables(ref.catalog) if t.table == ref.table]
            hint = (
                f"tables with that name: {', '.join(near)}"
                if near
                else (
                    "run the node that writes it first (lakesmith run --node ...), "
                    "or list tables with `lakesmith tables`"
                )
            )
            raise TableNotFound(f"table {ref} does not exist in {self.warehouse}", hint=hint)
        return self.path(ref)

    def list_tables(self, catalog: str | None = None, *, system: bool = False) -> list[TableRef]:
        if not self.warehouse.is_dir():
            return []
        refs = []
        for log in sorted(self.warehouse.glob("*/*/*/_delta_log")):
            table_dir = log.parent
            ref = TableRef(table_dir.parent.parent.name, table_dir.parent.name, table_dir.name)
            if catalog and ref.catalog != catalog:
                continue
            if ref.schema == SYSTEM_SCHEMA and not system:
                continue
            refs.append(ref)
        return refs

    def row_count(self, ref: TableRef) -> int | None:
        """Rows from the Delta log's file statistics: no data file is read."""
        if not self.exists(ref):
            return None
        from deltalake import DeltaTable

        return _rows(add_actions(DeltaTable(self.uri(ref))))

    def describe(self, ref: TableRef, *, history: int = 10) -> TableInfo:
        import polars as pl
        from deltalake import DeltaTable

        from lakesmith.engines.frames import schema_of

        self.require(ref)
        dt = DeltaTable(self.uri(ref))
        actions = add_actions(dt)
        rows = _rows(actions)
        size = sum(actions.column("size_bytes").to_pylist())
        columns = schema_of(pl.scan_delta(self.uri(ref)))
        events = dt.history(history)
        for event in events:
            ts = event.get("timestamp")
            if isinstance(ts, int):
                event["timestamp"] = datetime.fromtimestamp(ts / 1000, UTC).isoformat()
        return TableInfo(
            ref=ref,
            location=self.path(ref),
            version=dt.version(),
            row_count=rows,
            size_bytes=int(size),
            num_files=actions.num_rows,
            columns=columns,
            partition_columns=list(dt.metadata().partition_columns),
            history=events,
        )


def add_actions(dt: Any) -> Any:
    """The add actions as a pyarrow Table (read as a stream: ``pa.table`` imports pandas)."""
    import pyarrow as pa

    return pa.RecordBatchReader.from_stream(dt.get_add_actions(flatten=False)).read_all()


def _rows(actions: Any) -> int:
    return int(sum(v or 0 for v in actions.column("num_records").to_pylist()))
