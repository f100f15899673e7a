"""The Engine protocol: what a pipeline needs from Polars today and Spark tomorrow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lakesmith.catalog.table_ref import TableRef
from lakesmith.config.models import FileFormat, WriteSpec

if TYPE_CHECKING:
    from .delta_writes import Guard

Schema = list[tuple[str, str]]


@dataclass(frozen=True)
class WriteResult:
    """What one write did; ``version`` is None when nothing was committed."""

    table: TableRef
    mode: str
    rows: int
    version: int | None
    schema_before: Schema | None
    schema_after: Schema
    metrics: dict[str, Any] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def committed(self) -> bool:
        return self.version is not None


class Engine(Protocol):
    """Reads return the engine's lazy frame; writes are atomic per table."""

    name: str

    def read_table(self, ref: TableRef) -> Any: ...

    def read_path(
        self,
        path: str,
        fmt: FileFormat,
        *,
        options: Mapping[str, Any] | None = None,
        storage_options: Mapping[str, str] | None = None,
    ) -> Any: ...

    def sql(self, query: str, frames: Mapping[str, Any]) -> Any: ...

    def table_exists(self, ref: TableRef) -> bool: ...

    def table_schema(self, ref: TableRef) -> Schema | None: ...

    def row_count(self, ref: TableRef) -> int | None:
        """Rows of a table (None when it does not exist), as cheaply as the engine can."""
        ...

    def commit_history(self, ref: TableRef, limit: int) -> list[dict[str, Any]]:
        """The table's newest commits first, each with its custom commit metadata as keys."""
        ...

    @property
    def guards_commits(self) -> bool:
        """Whether ``write`` takes a ``guard`` (``delta_writes.Guard``): commit only if the
        app's last commit is the one read before (incremental runs racing each other)."""
        ...

    def transaction_version(self, ref: TableRef, app_id: str) -> int | None:
        """The version of app ``app_id``'s last commit to the table (None: none yet)."""
        ...

    def write(
        self,
        frame: Any,
        ref: TableRef,
        spec: WriteSpec,
        *,
        commit_metadata: Mapping[str, str] | None = None,
        run_started: Any = None,
        guard: Guard | None = None,
    ) -> WriteResult: ...
