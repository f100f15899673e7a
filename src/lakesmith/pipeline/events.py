"""Events the runner emits; the CLI renders them, observers (lineage, logs) subscribe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .story.model import NodeReport, RunStory


@dataclass(frozen=True)
class RunStarted:
    story: RunStory
    order: list[str]


@dataclass(frozen=True)
class NodeStarted:
    node: str
    attempt: int


@dataclass(frozen=True)
class NodeRetrying:
    node: str
    attempt: int
    error: str
    delay_s: float


@dataclass(frozen=True)
class NodeFinished:
    report: NodeReport


@dataclass(frozen=True)
class RunFinished:
    story: RunStory


Event = RunStarted | NodeStarted | NodeRetrying | NodeFinished | RunFinished
Listener = Callable[[Event], None]
