"""Crash on purpose at named points, so tests can prove recovery is exactly once.

``LAKESMITH_FAULT=<point>`` (or ``<point>@<batch id>`` for a stream's batch, ``<point>@<node>``
for a node, batch or stream: its first batch reaching the point) kills the process with exit
code 137, as ``kill -9`` would, when a stream batch or a batch node reaches that point. Unset,
``fault`` is a function that does nothing: the variable is read once, at import.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal, get_args

StreamPoint = Literal["after_offsets", "mid_file", "after_write", "after_commit_log"]
BatchPoint = Literal["before_commit", "after_commit"]
CdcPoint = Literal["before_tombstones"]
FaultPoint = StreamPoint | BatchPoint | CdcPoint
POINTS: tuple[str, ...] = get_args(StreamPoint)
BATCH_POINTS: tuple[str, ...] = get_args(BatchPoint)
"""after_offsets: the batch is planned, nothing read; mid_file: half of the batch's files are
read; after_write: the table holds the batch, the commits log does not; after_commit_log: the
batch is complete. Batch nodes: before_commit: the output is computed, nothing written;
after_commit: the target table holds the commit (and its watermark), the watermark mirror and
the story do not. An auto_cdc stream that deletes: before_tombstones: the table holds the
batch, its tombstones do not."""
EXIT_CODE = 137

_ARMED = os.environ.get("LAKESMITH_FAULT", "")
_POINT, _, _BATCH = _ARMED.partition("@")


_NODE: ContextVar[str] = ContextVar("lakesmith_fault_node", default="")


@contextmanager
def node_scope(name: str) -> Iterator[None]:
    """Faults inside also match ``<point>@<name>``: a stream's reader knows no node."""
    token = _NODE.set(name)
    try:
        yield
    finally:
        _NODE.reset(token)


def _crash(point: FaultPoint, *keys: int | str) -> None:
    """Exit at ``point`` when the armed key is one of ``keys`` (a batch id, a node name)."""
    if point == _POINT and (not _BATCH or _BATCH in {*map(str, keys), _NODE.get()}):
        os._exit(EXIT_CODE)


def _noop(point: FaultPoint, *keys: int | str) -> None:
    """No fault armed."""


fault = _crash if _ARMED else _noop
