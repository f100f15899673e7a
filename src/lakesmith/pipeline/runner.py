"""Run a plan: independent nodes in parallel, retries with backoff, a story for every run.

A failed node stops its dependents, never unrelated nodes. Each node's write is one Delta
commit, so a failure at any point leaves its table at the previous version.
"""

from __future__ import annotations

import contextvars
import graphlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from lakesmith.catalog.local import SYSTEM_SCHEMA
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models
from lakesmith.config.loader import ProjectConfig
from lakesmith.connections.resolve import fetcher, locate
from lakesmith.connections.validate import check_plan
from lakesmith.engines import Engine, default_engine
from lakesmith.engines.delta_writes import backoff
from lakesmith.errors import ConcurrentWriteError, LakesmithError
from lakesmith.observe.logs import annotate, bind
from lakesmith.runtime.detect import platform
from lakesmith.runtime.secrets import SecretResolver
from lakesmith.streaming.faults import fault
from lakesmith.versions import package_versions

from . import quality_gate, state, transforms
from .events import Listener, NodeFinished, NodeRetrying, NodeStarted, RunFinished, RunStarted
from .graph import sql_table_names
from .plan import Plan, PlannedNode
from .story.model import ErrorReport, InputReport, NodeReport, RunStory, diff_schema
from .story.store import save_story

REDACTED = "***"
CONFLICT_RERUNS = 10
"""Reruns of a node whose commit lost a race it cannot simply retry (see ``_guard``)."""


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


class WatermarkRace(ConcurrentWriteError):
    """Another run of the same incremental node committed since this one read its watermark."""


class _NoNewData(Exception):
    """Every incremental input is exhausted: nothing to write this run."""


class Runner:
    """Executes plans for one project and environment.

    Example:
        >>> cfg = load_project("examples/customer360", env="local")  # doctest: +SKIP
        >>> story = Runner(cfg).run(build_plan(cfg))  # doctest: +SKIP
        >>> story.status  # doctest: +SKIP
        'succeeded'
    """

    def __init__(
        self,
        cfg: ProjectConfig,
        *,
        engine: Engine | None = None,
        listeners: Iterable[Listener] = (),
        max_workers: int | None = None,
        secrets: SecretResolver | None = None,
        save: bool = True,
        sinks: Iterable[Any] = (),
    ) -> None:
        self.cfg = cfg
        self.secrets = secrets or SecretResolver(cfg.root)
        self.engine = engine or default_engine(cfg, secrets=self.secrets)
        self.listeners = list(listeners)
        self.max_workers = max_workers or cfg.project.max_workers
        self.watermarks = state.WatermarkStore(self.engine, cfg.project.catalog)
        self.save = save
        self._emit_lock = threading.Lock()
        self.sinks = list(sinks)  # besides those in lakesmith.yaml's observability:
        self._observer: Any = None

    def _emit(self, event: Any) -> None:
        with self._emit_lock:
            for listener in self.listeners:
                listener(event)
            if self._observer is not None:
                self._observer(event)

    def run(self, plan: Plan) -> RunStory:
        check_plan(self.cfg, plan, self.secrets)  # eager: every used connection, before any I/O
        started = datetime.now(UTC)
        story = RunStory(
            run_id=new_run_id(started),
            project=self.cfg.project.name,
            env=self.cfg.env,
            engine=self.engine.name,
            platform=platform(),
            config_hash=self.cfg.config_hash,
            started_at=started,
            selection=plan.selection,
            versions=package_versions(),
        )
        with bind(run_id=story.run_id, env=self.cfg.env):
            return self._run(plan, story, started)

    def _run(self, plan: Plan, story: RunStory, started: datetime) -> RunStory:
        from lakesmith.observe.observer import open_observer

        self._observer = open_observer(self.cfg, plan, self.secrets, self.sinks)
        self._emit(RunStarted(story, plan.order))
        reports: dict[str, NodeReport] = {}
        try:
            self._schedule(plan, story, reports)
        except KeyboardInterrupt:
            story.status = "interrupted"
            raise
        finally:
            story.nodes = [reports[n] for n in plan.order if n in reports]
            if story.status != "interrupted":
                failed = any(r.status == "failed" for r in story.nodes)
                story.status = "failed" if failed else "succeeded"
            story.finished_at = datetime.now(UTC)
            story.duration_s = round((story.finished_at - started).total_seconds(), 3)
            if self._observer is not None:  # run end, flushed (bounded) before the story is saved
                story.sinks = self._observer.finish(story)
                self._observer = None
            if self.save:
                save_story(story, self.cfg.root / self.cfg.project.stories)
            self._emit(RunFinished(story))
        return story

    def _schedule(self, plan: Plan, story: RunStory, reports: dict[str, NodeReport]) -> None:
        sorter = graphlib.TopologicalSorter({n: pn.upstream for n, pn in plan.nodes.items()})
        sorter.prepare()
        blocked: dict[str, str] = {}
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="lakesmith") as pool:
            running: dict[Future[NodeReport], str] = {}
            while sorter.is_active():
                for name in sorter.get_ready():
                    pn = plan.nodes[name]
                    if name in blocked:
                        reports[name] = self._skipped(pn, blocked[name])
                        self._emit(NodeFinished(reports[name]))
                        sorter.done(name)
                    else:
                        task = contextvars.copy_context().run  # log context follows the node
                        running[pool.submit(task, self._run_node, pn, story)] = name
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    name = running.pop(future)
                    report = future.result()
                    reports[name] = report
                    if report.status == "failed":
                        for child in plan.downstream(name):
                            blocked.setdefault(child, f"upstream node '{name}' failed")
                    self._emit(NodeFinished(report))
                    sorter.done(name)

    def _skipped(self, pn: PlannedNode, reason: str) -> NodeReport:
        return NodeReport(
            name=pn.name,
            pipeline=pn.pipeline,
            status="skipped",
            table=pn.target.full_name,
            mode=pn.node.write.mode,
            skipped_because=reason,
        )

    def _run_node(self, pn: PlannedNode, story: RunStory) -> NodeReport:
        report = NodeReport(
            name=pn.name,
            pipeline=pn.pipeline,
            status="failed",
            table=pn.target.full_name,
            mode=pn.node.write.mode,
            started_at=datetime.now(UTC),
        )
        clock = time.perf_counter()
        attempts = pn.node.retries + 1
        annotate(node=pn.name, pipeline=pn.pipeline)  # this task's own copy of the context
        attempt = conflicts = 0
        while attempt < attempts:
            attempt += 1
            report.attempts = attempt + conflicts
            self._emit(NodeStarted(pn.name, attempt))
            try:
                self._execute(pn, story, report)
                report.status = "succeeded"
                report.error = None
                break
            except _NoNewData:
                report.status = "no_new_data"
                report.error = None
                break
            except BaseException as exc:
                if not isinstance(exc, Exception) and not _is_panic(exc):
                    raise  # KeyboardInterrupt, SystemExit: stop the run
                exc = self._explain_bad_input(pn, exc)
                report.error = _error_report(exc, self.secrets.resolved)
                if isinstance(exc, WatermarkRace) and conflicts < CONFLICT_RERUNS:
                    # not the node's fault: run again from the reads, not using up its retries
                    conflicts += 1
                    attempt -= 1
                    report.metrics["conflict_reruns"] = conflicts
                    delay = backoff(conflicts, 0.05)
                    self._emit(NodeRetrying(pn.name, conflicts, str(exc).splitlines()[0], delay))
                    time.sleep(delay)
                    continue
                retryable = exc.retryable if isinstance(exc, LakesmithError) else not _is_panic(exc)
                if attempt == attempts or not retryable:
                    break
                delay = backoff(attempt, pn.node.retry_backoff_seconds)
                self._emit(NodeRetrying(pn.name, attempt, str(exc).splitlines()[0], delay))
                time.sleep(delay)
        report.duration_s = round(time.perf_counter() - clock, 3)
        return report

    def _execute(self, pn: PlannedNode, story: RunStory, report: NodeReport) -> None:
        node = pn.node
        if self.cfg.project.montecarlo is not None:  # a circuit breaker may stop the node
            from lakesmith.integrations.montecarlo.gate import check_before

            check_before(self.cfg, pn.pipeline, node.name, report.metrics)
        if node.kind == "streaming_table":
            from lakesmith.streaming.execute import StreamContext, drain

            context = StreamContext(
                self.cfg.root,
                self.cfg.project.connections,
                self.secrets,
                self.engine,
                story.run_id,
                story.started_at,
                lambda spec: self._read(spec)[0],
            )
            if not drain(pn, context, report):
                raise _NoNewData
            return
        guard = self._guard(pn, story)
        frames: dict[str, Any] = {}
        marks: dict[str, str] = {}
        report.inputs = []
        incremental_rows: list[int] = []
        for alias, spec in node.input_specs().items():
            item = InputReport(alias=alias, source="")
            if isinstance(spec, models.PathInput) and spec.on_bad_records == "quarantine":
                frame, item.source, item.rows = self._read_quarantining(spec, pn, story, item)
            else:
                frame, item.source, item.rows = self._read(spec)
            if spec.incremental:
                import narwhals as nw  # only incremental reads need it: keeps cold start short

                column = spec.incremental.column
                previous = self.watermarks.get(node.name, alias, pn.target)
                lazy = nw.from_native(frame)
                if previous is not None:
                    mark = state.align(previous, lazy.collect_schema()[column])
                    lazy = lazy.filter(nw.col(column) > mark)
                batch, rows, newest = _batch(lazy, column)
                newest = newest if rows else previous
                item.rows = rows
                item.watermark_from = None if previous is None else str(previous)
                item.watermark_to = None if newest is None else str(newest)
                if newest is not None:
                    marks[alias] = state.encode(newest)
                incremental_rows.append(rows)
                frame = nw.to_native(batch)
            frames[alias] = frame
            report.inputs.append(item)
        for name in sql_table_names(node, self.cfg.root):
            ref = self.cfg.table(name)
            rows = self.engine.row_count(ref)
            report.inputs.append(InputReport(alias=name, source=ref.full_name, rows=rows))
        counts = [i.rows for i in report.inputs]
        known = [r for r in counts if r is not None]
        report.rows_in = sum(known) if counts and len(known) == len(counts) else None
        if incremental_rows and not any(incremental_rows):
            raise _NoNewData

        output = transforms.apply(node, frames, self.engine, self.cfg.root)
        if node.quality is not None:
            output = self._quality(node, pn, output, story, report)
        metadata = {state.RUN_KEY: story.run_id, state.NODE_KEY: node.name}
        if marks:
            metadata[state.COMMIT_KEY] = json.dumps(marks)
        fault("before_commit", node.name)
        try:
            result = self.engine.write(
                output,
                pn.target,
                node.write,
                commit_metadata=metadata,
                run_started=story.started_at,
                guard=guard if marks else None,
            )
        except ConcurrentWriteError as exc:
            if guard and marks:
                raise WatermarkRace(
                    exc.message,
                    hint=f"nothing was committed; in {CONFLICT_RERUNS} reruns another run of "
                    "this node always committed first: start it from one schedule at a time",
                ) from exc
            raise
        fault("after_commit", node.name)
        report.rows_out = result.rows
        report.version = result.version
        report.schema_ = result.schema_after
        report.schema_change = diff_schema(result.schema_before, result.schema_after)
        report.metrics = {**report.metrics, **result.metrics}
        report.sample = _redact(result.sample, node.sensitive)[: self.cfg.project.sample_rows]
        if result.committed and marks:
            try:
                self.watermarks.record(node.name, story.run_id, marks)
            except Exception as exc:  # the commit holds the truth; the mirror can catch up
                report.metrics["watermark_mirror_error"] = str(exc).splitlines()[0]

    def _guard(self, pn: PlannedNode, story: RunStory) -> Any:
        """For an incremental node, the guard its commit carries; read before its watermarks.

        Two runs of the node that read the same watermark would both write the rows above
        it. The commit is a Delta app transaction named after the node and made only if no
        other commit of that app came since this read, so the loser reruns from its reads
        (``CONFLICT_RERUNS``) and finds the new watermark. Engines whose commits delta-rs
        makes (embedded, local Spark); native Delta on Databricks runs jobs one at a time.
        """
        node = pn.node
        if not self.engine.guards_commits or not any(
            getattr(spec, "incremental", None) for spec in node.input_specs().values()
        ):
            return None
        from lakesmith.engines.delta_writes import Guard

        app_id = f"lakesmith.incremental:{node.name}"
        seen = self.engine.transaction_version(pn.target, app_id)
        return Guard(app_id, int(story.started_at.timestamp() * 1_000_000), seen)

    def _quality(
        self, node: models.Node, pn: PlannedNode, output: Any, story: RunStory, report: NodeReport
    ) -> Any:
        """Check the output; record results; write the quarantine; return the rows to write."""
        assert node.quality is not None
        try:
            gate = quality_gate.check(node.quality, output, self.cfg.root, pn.target.full_name)
        except quality_gate.QualityFailed as exc:
            report.quality = [x.model_dump() for x in exc.result.rules]
            self._record_quality(node, pn, story, exc.result)
            raise
        report.quality = [x.model_dump() for x in gate.result.rules]
        self._record_quality(node, pn, story, gate.result)
        if gate.quarantine is not None:
            import narwhals as nw

            quarantine = nw.from_native(gate.quarantine).with_columns(
                nw.lit(story.run_id).alias("_run_id"),
                nw.lit(story.started_at).alias("_quarantined_at"),
            )
            ref = TableRef(pn.target.catalog, pn.target.schema, f"{pn.target.table}_quarantine")
            spec = models.AppendWrite(table=ref.full_name, mode="append", schema_evolution=True)
            written = self.engine.write(
                nw.to_native(quarantine), ref, spec, run_started=story.started_at
            )
            report.quarantined = written.rows
        return gate.valid

    def _record_quality(
        self, node: models.Node, pn: PlannedNode, story: RunStory, results: Any
    ) -> None:
        """One row per rule in <catalog>._lakesmith.quality_results (append-only)."""
        import polars as pl

        rows = [
            {
                "run_id": story.run_id,
                "node": node.name,
                "table": pn.target.full_name,
                "rule": x.name,
                "check": x.check,
                "columns": x.columns,
                "severity": x.severity,
                "success": x.success,
                "fail_count": x.fail_count,
                "fail_ratio": x.fail_ratio,
                "expected": x.expected,
                "actual": x.actual,
                "sample": json.dumps(x.sample, default=str),
                "checked_at": story.started_at,
            }
            for x in results.rules
        ]
        ref = TableRef(pn.target.catalog, SYSTEM_SCHEMA, "quality_results")
        spec = models.AppendWrite(table=ref.full_name, mode="append", schema_evolution=True)
        self.engine.write(pl.DataFrame(rows), ref, spec, run_started=story.started_at)

    def _read(self, spec: models.InputSpec) -> tuple[Any, str, int | None]:
        if isinstance(spec, models.TableInput):
            ref = self.cfg.table(spec.table)
            frame = self.engine.read_table(ref)
            return frame, ref.full_name, self.engine.row_count(ref)
        where = locate(spec, self.cfg.project.connections, self.cfg.root, self.secrets)
        fmt = spec.format or _infer(spec.path)
        frame = self.engine.read_path(
            where.uri, fmt, options=spec.options, storage_options=where.storage_options
        )
        return frame, spec.path, None

    def _explain_bad_input(self, pn: PlannedNode, exc: BaseException) -> BaseException:
        """A reader's error on a local CSV/JSON input, restated with file, line and reason."""
        from lakesmith.engines.bad_records import first_bad_record

        if type(exc).__name__ != "ComputeError":  # polars' parse errors name no file or line
            return exc
        for spec in pn.node.input_specs().values():
            if isinstance(spec, models.PathInput):
                where = locate(spec, self.cfg.project.connections, self.cfg.root, self.secrets)
                found = first_bad_record(where.uri, spec.format or _infer(spec.path), spec.options)
                if found is not None:
                    return found
        return exc

    def _read_quarantining(
        self, spec: models.PathInput, pn: PlannedNode, story: RunStory, item: InputReport
    ) -> tuple[Any, str, int | None]:
        """Read a CSV/JSON file, appending its bad records to <table>_bad_records."""
        from lakesmith.engines.bad_records import quarantine_bad_records

        connections = self.cfg.project.connections
        where = locate(spec, connections, self.cfg.root, self.secrets)
        fmt = spec.format or _infer(spec.path)
        fetch = fetcher(spec, connections, self.secrets)
        good, bad = quarantine_bad_records(where.uri, fmt, spec.options, self.engine.name, fetch)
        item.bad_records = bad.height
        if bad.height:
            import polars as pl

            bad = bad.with_columns(
                pl.lit(item.alias).alias("input"),
                pl.lit(pn.name).alias("node"),
                pl.lit(story.run_id).alias("_run_id"),
                pl.lit(story.started_at).alias("_quarantined_at"),
            )
            ref = TableRef(pn.target.catalog, pn.target.schema, f"{pn.target.table}_bad_records")
            write = models.AppendWrite(table=ref.full_name, mode="append", schema_evolution=True)
            self.engine.write(bad, ref, write, run_started=story.started_at)
        return good.lazy(), spec.path, good.height


def _is_panic(exc: BaseException) -> bool:
    """A Rust library (Polars, delta-rs) panicked: pyo3 raises that as a BaseException, which
    must fail the node, not the whole run. Each library has its own class, hence the name."""
    return type(exc).__name__ == "PanicException"


def _batch(lazy: Any, column: str) -> tuple[Any, int, Any]:
    """An incremental batch as a lazy frame, its row count and its newest ``column`` value.

    One aggregate counts the batch and finds its newest value (Polars streams it, holding no
    rows); the batch is then bounded by that value, so rows arriving before the write wait
    for the next run instead of slipping under the watermark. The write reads the source
    again: a Delta table as of the version the node read (the engine pins it), files as they
    are then. Rows with no ``column`` value are only ever in the first batch (later ones read
    rows above a watermark), which keeps them so that the count is what is written.
    """
    import narwhals as nw

    stats = lazy.select(nw.len().alias("rows"), nw.col(column).max().alias("newest"))
    streaming = {"engine": "streaming"} if lazy.implementation.is_polars() else {}
    rows, newest = stats.collect(**streaming).rows()[0]
    if newest is None:
        return lazy, rows, None
    return lazy.filter((nw.col(column) <= newest) | nw.col(column).is_null()), rows, newest


def _infer(path: str) -> Any:
    from lakesmith.config.checks import infer_format

    return infer_format(path) or "delta"


def _redact(rows: list[dict[str, Any]], sensitive: list[str]) -> list[dict[str, Any]]:
    if not sensitive:
        return rows
    hidden = set(sensitive)
    return [{k: (REDACTED if k in hidden else v) for k, v in row.items()} for row in rows]


def _error_report(exc: BaseException, secrets: Iterable[str] = ()) -> ErrorReport:
    """The error as the story keeps it, with every resolved secret value masked."""
    hint = exc.hint if isinstance(exc, LakesmithError) else ""
    message = exc.message if isinstance(exc, LakesmithError) else str(exc)
    tb = "".join(traceback.format_exception(exc, limit=-6))
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= 4:  # masking 1-3 characters would shred ordinary words
            message, hint, tb = (t.replace(value, REDACTED) for t in (message, hint, tb))
    return ErrorReport(type=type(exc).__name__, message=message, hint=hint, traceback=tb)
