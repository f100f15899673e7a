"""The bridge from the runner to the sinks: pipeline events in, engine-neutral events out.

``open_observer`` builds the configured sinks for one run; the runner calls the observer
with each of its events and ``finish`` at run end, which publishes the run's outcome,
flushes the sinks (bounded) and returns what each sink did for the story.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lakesmith.pipeline import events as pe
from lakesmith.pipeline.story.model import NodeReport, RunStory, SinkReport
from lakesmith.runtime.redact import redact

from . import events as oe
from .datasets import NodeDatasets
from .dispatch import Dispatcher, DispatchSettings, Sink

if TYPE_CHECKING:
    from lakesmith.config.loader import ProjectConfig
    from lakesmith.pipeline.plan import Plan
    from lakesmith.runtime.secrets import SecretResolver

log = logging.getLogger("lakesmith.observe")


class RunObserver:
    """A runner listener that publishes each event to the dispatcher."""

    def __init__(
        self,
        cfg: ProjectConfig,
        plan: Plan,
        dispatcher: Dispatcher,
        secrets: SecretResolver,
    ) -> None:
        self.cfg = cfg
        self.plan = plan
        self.dispatcher = dispatcher
        self.datasets = NodeDatasets(cfg, secrets)
        self.run: oe.RunInfo | None = None

    def __call__(self, event: pe.Event) -> None:
        try:
            for out in self._translate(event):
                self.dispatcher.publish(out)
        except Exception as exc:  # observing must never fail the run
            log.debug("event not observed: %s", exc)

    def finish(self, story: RunStory) -> list[SinkReport]:
        """Publish the run's outcome, flush the sinks and say what each one did."""
        if self.run is not None:
            counts = story.counts()
            if story.status == "succeeded":
                self.dispatcher.publish(
                    oe.RunCompleted(run=self.run, duration_s=story.duration_s, counts=counts)
                )
            else:
                failed = tuple(n.name for n in story.nodes if n.status == "failed")
                status = "interrupted" if story.status == "interrupted" else "failed"
                self.dispatcher.publish(
                    oe.RunFailed(
                        run=self.run,
                        status=status,
                        duration_s=story.duration_s,
                        counts=counts,
                        failed_nodes=failed,
                    )
                )
        return self.dispatcher.close()

    def _translate(self, event: pe.Event) -> list[oe.Event]:
        if isinstance(event, pe.RunStarted):
            s = event.story
            self.run = oe.RunInfo(s.run_id, s.project, s.env, s.engine, s.platform, s.started_at)
            return [oe.RunStarted(run=self.run, nodes=tuple(event.order))]
        run = self.run
        if run is None:
            return []
        if isinstance(event, pe.NodeStarted):
            pn = self.plan.nodes[event.node]
            from lakesmith.pipeline.graph import sql_text

            inputs, output = self.datasets.of(pn)
            sources = self.datasets.sources(pn)[0]
            sql = sql_text(pn.node, self.cfg.root)
            return [
                oe.NodeStarted(
                    run=run,
                    node=pn.name,
                    pipeline=pn.pipeline,
                    attempt=event.attempt,
                    inputs=inputs,
                    output=output,
                    sql=sql,
                    sources=sources,
                )
            ]
        if isinstance(event, pe.NodeRetrying):
            pipeline = self.plan.nodes[event.node].pipeline
            return [
                oe.NodeRetrying(
                    run=run,
                    node=event.node,
                    pipeline=pipeline,
                    attempt=event.attempt,
                    error=redact(event.error),
                    delay_s=event.delay_s,
                )
            ]
        if isinstance(event, pe.NodeFinished):
            return self._finished(run, event.report)
        return []  # RunFinished: ``finish`` publishes the outcome once the story is complete

    def _finished(self, run: oe.RunInfo, report: NodeReport) -> list[oe.Event]:
        where = {"run": run, "node": report.name, "pipeline": report.pipeline}
        if report.status == "skipped":
            return [oe.NodeSkipped(**where, reason=report.skipped_because)]
        inputs, output = self.datasets.of(self.plan.nodes[report.name])
        out: list[oe.Event] = []
        rules = rule_outcomes(report)
        if rules:
            out.append(oe.RuleResults(**where, dataset=output, results=rules))
        rows = report.rows_out
        if rows is None and report.streaming is not None:
            rows = report.streaming.rows
        if report.status == "succeeded" and (rows is not None or report.version is not None):
            schema = tuple((c, t) for c, t in report.schema_)
            out.append(
                oe.DatasetStatistics(
                    **where, dataset=output, rows=rows, version=report.version, schema=schema
                )
            )
        ran = {
            **where,
            "duration_s": report.duration_s,
            "attempts": report.attempts,
            "inputs": inputs,
            "output": output,
        }
        if report.status == "failed":
            error = report.error
            info = oe.ErrorInfo(
                type=error.type if error else "Error",
                message=redact(error.message) if error else "failed",
                hint=redact(error.hint) if error else "",
            )
            out.append(oe.NodeFailed(**ran, error=info))
        else:
            status: Any = report.status
            out.append(
                oe.NodeCompleted(**ran, status=status, rows_in=report.rows_in, rows_out=rows)
            )
        return out


def rule_outcomes(report: NodeReport) -> tuple[oe.RuleOutcome, ...]:
    """The quality gate's rule results and the streaming expectations of a node report."""
    out = [
        oe.RuleOutcome(
            name=r["name"],
            check=r["check"],
            success=bool(r["success"]),
            severity=r.get("severity", "error"),
            columns=tuple(r.get("columns") or ()),
            rows=r.get("rows"),
            fail_count=int(r.get("fail_count") or 0),
            fail_ratio=r.get("fail_ratio"),
            expected=str(r.get("expected", "")),
            actual=str(r.get("actual", "")),
        )
        for r in report.quality
    ]
    if report.streaming is not None:
        rows = report.streaming.rows
        for x in report.streaming.expectations:
            out.append(
                oe.RuleOutcome(
                    name=x.name,
                    check="expectation",
                    success=x.failed == 0,
                    severity="error" if x.on_violation == "fail" else "warn",
                    rows=rows,
                    fail_count=x.failed,
                    expected=f"on_violation: {x.on_violation}",
                    actual=f"{x.failed} row(s) violated",
                )
            )
    return tuple(out)


def open_observer(
    cfg: ProjectConfig,
    plan: Plan,
    secrets: SecretResolver,
    extra: list[Sink] | tuple[Sink, ...] = (),
) -> RunObserver | None:
    """The observer for one run, or None when no sink is configured (zero overhead)."""
    from .sinks import build_sinks

    settings = cfg.project.observability
    # a sink passed in replaces the configured one of its name (tests, scripts)
    sinks = [*build_sinks(cfg, secrets, skip={s.name for s in extra}), *extra]
    if not sinks:
        return None
    dispatch = DispatchSettings(
        budget_s=settings.budget_ms / 1000,
        queue_size=settings.queue_size,
        flush_s=settings.flush_seconds,
    )
    dispatcher = Dispatcher(sinks, dispatch)
    try:
        return RunObserver(cfg, plan, dispatcher, secrets)
    except Exception as exc:  # observing must never stop the run from starting
        log.warning("observability is off for this run: %s", redact(str(exc)))
        dispatcher.close()
        return None
