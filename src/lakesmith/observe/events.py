"""The engine-neutral events of a run, as every sink receives them.

Built from the runner's own events (``pipeline.events``) by ``observe.observer``; they carry
plain values only (no frames, no engine objects), so a sink never touches the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Dataset:
    """A table or a path a node reads or writes.

    ``name`` is what the project calls it (``catalog.schema.table`` or the path as written);
    ``uri`` is where it lives (``file:///...``, ``abfss://container@account.dfs.core...``).
    """

    name: str
    kind: Literal["table", "path"]
    uri: str
    format: str | None = None


@dataclass(frozen=True)
class RunInfo:
    """Who is running: stamped on every event."""

    run_id: str
    project: str
    env: str
    engine: str
    platform: str
    started_at: datetime


@dataclass(frozen=True)
class RuleOutcome:
    """One quality rule or streaming expectation, evaluated on one node's output."""

    name: str
    check: str
    success: bool
    severity: str = "error"
    columns: tuple[str, ...] = ()
    rows: int | None = None
    fail_count: int = 0
    fail_ratio: float | None = None
    expected: str = ""
    actual: str = ""


@dataclass(frozen=True)
class ErrorInfo:
    """A failure, with every registered secret already masked."""

    type: str
    message: str
    hint: str = ""


@dataclass(frozen=True, kw_only=True)
class _RunEvent:
    """What every event carries: its run, and when it happened."""

    kind: ClassVar[str]
    run: RunInfo
    time: datetime = field(default_factory=_now)


@dataclass(frozen=True, kw_only=True)
class _NodeEvent(_RunEvent):
    node: str
    pipeline: str


@dataclass(frozen=True, kw_only=True)
class _NodeOutcome(_NodeEvent):
    """A node that ran to the end, well or not: what it read and wrote, and how long."""

    duration_s: float
    attempts: int
    inputs: tuple[Dataset, ...]
    output: Dataset


@dataclass(frozen=True, kw_only=True)
class RunStarted(_RunEvent):
    kind: ClassVar[str] = "run.started"
    nodes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RunCompleted(_RunEvent):
    kind: ClassVar[str] = "run.completed"
    duration_s: float
    counts: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class RunFailed(_RunEvent):
    kind: ClassVar[str] = "run.failed"
    status: Literal["failed", "interrupted"]
    duration_s: float
    counts: dict[str, int]
    failed_nodes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class NodeStarted(_NodeEvent):
    kind: ClassVar[str] = "node.started"
    attempt: int
    inputs: tuple[Dataset, ...]
    output: Dataset
    sql: str | None = None
    """the node's Databricks SQL, when its transform is SQL"""
    sources: dict[str, Dataset] = field(default_factory=dict)
    """inputs by the name the SQL uses for them (input alias or table name)"""


@dataclass(frozen=True, kw_only=True)
class NodeRetrying(_NodeEvent):
    kind: ClassVar[str] = "node.retrying"
    attempt: int
    error: str
    delay_s: float


@dataclass(frozen=True, kw_only=True)
class RuleResults(_NodeEvent):
    """The quality gate's rules or a streaming table's expectations, for one node's output."""

    kind: ClassVar[str] = "node.rules"
    dataset: Dataset
    results: tuple[RuleOutcome, ...]


@dataclass(frozen=True, kw_only=True)
class DatasetStatistics(_NodeEvent):
    """What a node wrote: rows, the Delta version it committed and the table's schema."""

    kind: ClassVar[str] = "node.dataset"
    dataset: Dataset
    rows: int | None
    version: int | None
    schema: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class NodeCompleted(_NodeOutcome):
    kind: ClassVar[str] = "node.completed"
    status: Literal["succeeded", "no_new_data"]
    rows_in: int | None
    rows_out: int | None


@dataclass(frozen=True, kw_only=True)
class NodeFailed(_NodeOutcome):
    kind: ClassVar[str] = "node.failed"
    error: ErrorInfo


@dataclass(frozen=True, kw_only=True)
class NodeSkipped(_NodeEvent):
    """Not run because an upstream node failed."""

    kind: ClassVar[str] = "node.skipped"
    reason: str


Event = (
    RunStarted
    | RunCompleted
    | RunFailed
    | NodeStarted
    | NodeRetrying
    | RuleResults
    | DatasetStatistics
    | NodeCompleted
    | NodeFailed
    | NodeSkipped
)
