"""``lakesmith stream``: run the plan again and again, paced by the pipelines' trigger.

Each cycle is an ordinary run (streaming tables drain what is new, exactly once: offsets
before processing, commits after, the Delta app transaction; materialized views recompute).

Triggers:

- ``{interval: 1s}``: at most one cycle per interval, started as soon as new input is there.
  Between cycles the loop watches the sources cheaply (:class:`~.watch.SourceWatch`: a folder
  listing against the checkpoint's files, a Delta source's version) every
  ``min(interval / 10, 100 ms)``, and starts the next cycle once a source has something new
  *and* ``interval`` has passed since the previous cycle started. A file arriving while the
  loop idles is taken within one poll period, not at the next tick of a fixed clock; under a
  steady flow of files the pace is one cycle per interval, as with Spark. Spark's
  ``processingTime`` trigger instead starts batches on a fixed grid (every interval, skipped
  when there is no data), so a file waits half an interval on average before its batch.
  Here only a file landing within ``interval`` of the previous batch's start waits, until
  that interval is over. Plans whose cycles do more than drain streams (a materialized view,
  the Spark engine) have no cheap check and run a cycle every interval, as before.
- ``continuous``: the next cycle as soon as the last one ends and a source has new input.
- ``available_now`` (``interval`` None): one cycle that drains everything, then stop.

Between cycles the loop compacts the small files of every streaming table (and of its
auto_cdc tombstones and the checkpoint tables) once it has taken ``compact_every`` batches.
Stopping is cooperative: the caller sets ``stop``; an idle loop stops at once, a cycle in
progress finishes first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lakesmith.catalog.local import SYSTEM_SCHEMA
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config.streaming import IntervalTrigger

from . import tombstones
from .checkpoint import COMMITS, OFFSETS
from .watch import SourceWatch

if TYPE_CHECKING:
    from lakesmith.config.loader import ProjectConfig
    from lakesmith.pipeline.plan import Plan
    from lakesmith.pipeline.runner import Runner
    from lakesmith.pipeline.story.model import RunStory

CONTINUOUS_POLL_S = 0.1
"""How often an idle continuous pipeline looks for new input; the most an interval waits."""


def trigger_interval(cfg: ProjectConfig, plan: Plan) -> float | None:
    """Seconds between cycles for the planned pipelines: the shortest trigger wins;
    None when every pipeline is ``available_now`` (one cycle, then stop)."""
    planned = {pn.pipeline for pn in plan.nodes.values()}
    intervals: list[float] = []
    for pf in cfg.pipelines:
        trigger = pf.pipeline.trigger
        if pf.pipeline.name not in planned or trigger == "available_now":
            continue
        intervals.append(trigger.seconds if isinstance(trigger, IntervalTrigger) else 0.0)
    return min(intervals, default=None)


@dataclass
class NodeStatus:
    """What one streaming table has taken since the loop started."""

    node: str
    table: str
    batches: int = 0
    files: int = 0
    rows: int = 0
    status: str = "waiting"
    last_batch_at: datetime | None = None
    compactions: int = 0
    since_compaction: int = 0


@dataclass
class LoopStatus:
    cycles: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    nodes: dict[str, NodeStatus] = field(default_factory=dict)
    last_story: RunStory | None = None
    cycle_started: float | None = None
    """``time.monotonic()`` when the last cycle started (the pace is measured from it)."""


def run_loop(
    runner: Runner,
    plan: Plan,
    *,
    interval: float | None,
    stop: threading.Event,
    compact_every: int | None = None,
    on_cycle: Callable[[LoopStatus], None] = lambda status: None,
) -> LoopStatus:
    """Run cycles until ``stop`` is set, a node fails, or (``interval`` None) after one.

    Returns the status after the last cycle; ``last_story`` tells how it ended.
    """
    status = LoopStatus(
        nodes={
            n: NodeStatus(n, pn.target.full_name)
            for n, pn in plan.nodes.items()
            if pn.node.kind == "streaming_table"
        }
    )
    watch = SourceWatch(runner, plan) if interval is not None else None
    while not stop.is_set():
        started = status.cycle_started = time.monotonic()
        story = runner.run(plan)
        status.cycles += 1
        status.last_story = story
        _account(status, story)
        if compact_every:
            _compact(runner, plan, status, compact_every)
        on_cycle(status)
        if story.status != "succeeded" or interval is None or watch is None:
            break
        if watch.blind:  # no cheap check: a cycle every interval (continuous: every poll)
            took_batches = any(
                n.streaming and n.streaming.batches for n in story.nodes if n.name in status.nodes
            )
            wait = interval if interval > 0 else (0.0 if took_batches else CONTINUOUS_POLL_S)
            stop.wait(max(0.0, wait - (time.monotonic() - started)))
        else:
            poll = min(interval / 10, CONTINUOUS_POLL_S) or CONTINUOUS_POLL_S
            _await_input(watch, started + interval, poll, stop)
    return status


def _await_input(watch: SourceWatch, due: float, poll: float, stop: threading.Event) -> None:
    """Return once ``due`` has passed and a source has new input, or ``stop`` is set.

    Sources are not checked before ``due``: whatever arrived meanwhile is found by the first
    check, which runs at ``due`` itself.
    """
    watch.refresh()
    while not stop.wait(max(0.0, due - time.monotonic())):
        if watch.has_new():
            return
        due = time.monotonic() + poll


def _account(status: LoopStatus, story: RunStory) -> None:
    for report in story.nodes:
        node = status.nodes.get(report.name)
        if node is None:
            continue
        node.status = report.status
        stream = report.streaming
        if stream and stream.batches:
            node.batches += len(stream.batches)
            node.since_compaction += len(stream.batches)
            node.files += stream.files
            node.rows += stream.rows
            node.last_batch_at = datetime.now(UTC)


def _compact(runner: Runner, plan: Plan, status: LoopStatus, every: int) -> None:
    """Compact each streaming table that took ``every`` batches since its last compaction,
    its auto_cdc tombstones, and then the checkpoint tables of its catalog (one small file
    per batch, too)."""
    from deltalake import DeltaTable

    catalog = getattr(runner.engine, "catalog", None)
    if catalog is None:
        return
    checkpoints: set[TableRef] = set()
    for name, node in status.nodes.items():
        if node.since_compaction < every:
            continue
        pn = plan.nodes[name]
        target = pn.target
        store = tombstones.location(catalog, target.catalog, f"{pn.pipeline}.{pn.name}")
        if DeltaTable.is_deltatable(store.uri, storage_options=store.storage_options):
            DeltaTable(store.uri, storage_options=store.storage_options).optimize.compact()
        refs = [target] + [TableRef(target.catalog, SYSTEM_SCHEMA, t) for t in (OFFSETS, COMMITS)]
        for ref in refs:
            if ref in checkpoints or not catalog.exists(ref):
                continue
            where = catalog.location(ref)
            DeltaTable(where.uri, storage_options=where.storage_options).optimize.compact()
            if ref.schema == SYSTEM_SCHEMA:
                checkpoints.add(ref)
        node.compactions += 1
        node.since_compaction = 0
