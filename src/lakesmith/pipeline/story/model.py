"""The run report ("story"): what ran, on what, with which result. JSON-serialisable."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

NodeStatus = Literal["succeeded", "failed", "skipped", "no_new_data"]
RunStatus = Literal["succeeded", "failed", "interrupted"]


class InputReport(BaseModel):
    alias: str
    source: str
    rows: int | None = None
    watermark_from: str | None = None
    watermark_to: str | None = None


class SchemaChange(BaseModel):
    added: list[tuple[str, str]] = Field(default_factory=list)
    removed: list[tuple[str, str]] = Field(default_factory=list)
    retyped: list[tuple[str, str, str]] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.retyped)


class ErrorReport(BaseModel):
    type: str
    message: str
    hint: str = ""
    traceback: str = ""


class NodeReport(BaseModel):
    name: str
    pipeline: str
    status: NodeStatus
    table: str
    mode: str
    started_at: datetime | None = None
    duration_s: float = 0.0
    attempts: int = 0
    inputs: list[InputReport] = Field(default_factory=list)
    rows_in: int | None = None
    rows_out: int | None = None
    version: int | None = None
    schema_: list[tuple[str, str]] = Field(default_factory=list, alias="schema")
    schema_change: SchemaChange | None = None
    sample: list[dict[str, Any]] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    error: ErrorReport | None = None
    skipped_because: str = ""
    quality: list[dict[str, Any]] = Field(default_factory=list)
    quarantined: int | None = None

    model_config = {"populate_by_name": True}


class RunStory(BaseModel):
    run_id: str
    project: str
    env: str
    engine: str
    platform: str
    config_hash: str
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float = 0.0
    status: RunStatus = "succeeded"
    selection: dict[str, list[str]] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    nodes: list[NodeReport] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for node in self.nodes:
            out[node.status] = out.get(node.status, 0) + 1
        return out


def diff_schema(
    before: list[tuple[str, str]] | None, after: list[tuple[str, str]]
) -> SchemaChange | None:
    """None for a new table; otherwise the columns added, removed and retyped."""
    if before is None:
        return None
    old, new = dict(before), dict(after)
    return SchemaChange(
        added=[(c, t) for c, t in after if c not in old],
        removed=[(c, t) for c, t in before if c not in new],
        retyped=[(c, old[c], t) for c, t in after if c in old and old[c] != t],
    )
