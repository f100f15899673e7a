"""The dispatcher: a slow, raising or flooded sink never fails or slows the run, and the
story says what each sink did."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from conftest import Project
from lakesmith.observe import events as oe
from lakesmith.observe.dispatch import Dispatcher, DispatchSettings, Sink
from lakesmith.pipeline.plan import build_plan
from lakesmith.pipeline.runner import Runner
from lakesmith.runtime.redact import register
from test_streaming_exactly_once import EXPECT

RUN = oe.RunInfo("r1", "p", "local", "polars", "local", datetime.now(UTC))


def skipped(i: int) -> oe.NodeSkipped:
    return oe.NodeSkipped(run=RUN, node=f"n{i}", pipeline="main", reason="test")


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.closed = False

    def handle(self, event: Any) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed = True


class Raising:
    name = "raising"

    def __init__(self, message: str = "backend said no") -> None:
        self.message = message

    def handle(self, event: Any) -> None:
        raise ConnectionError(self.message)

    def close(self) -> None:
        pass


class Slow:
    name = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def handle(self, event: Any) -> None:
        time.sleep(self.seconds)

    def close(self) -> None:
        pass


class Gated:
    """Blocks on its first event until released: the queue behind it fills up."""

    name = "gated"

    def __init__(self) -> None:
        self.busy = threading.Event()
        self.release = threading.Event()
        self.handled = 0

    def handle(self, event: Any) -> None:
        self.busy.set()
        self.release.wait(10)
        self.handled += 1

    def close(self) -> None:
        pass


def test_sinks_satisfy_the_protocol() -> None:
    for sink in (Recording(), Raising(), Slow(0), Gated()):
        assert isinstance(sink, Sink)


def test_every_event_reaches_every_sink_in_order() -> None:
    first, second = Recording(), Recording()
    second.name = "second"
    dispatcher = Dispatcher([first, second])
    for i in range(50):
        dispatcher.publish(skipped(i))
    reports = dispatcher.close()
    assert [e.node for e in first.events] == [f"n{i}" for i in range(50)]
    assert first.events == second.events
    assert first.closed and second.closed
    assert [(r.name, r.delivered, r.dropped, r.failed) for r in reports] == [
        ("recording", 50, 0, 0),
        ("second", 50, 0, 0),
    ]


def test_a_raising_sink_is_counted_redacted_and_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = register("tok-3f9a1c77e2")
    healthy = Recording()
    dispatcher = Dispatcher([Raising(f"401 for token {secret}"), healthy])
    with caplog.at_level(logging.WARNING, logger="lakesmith.observe"):
        for i in range(5):
            dispatcher.publish(skipped(i))
        raising, recording = dispatcher.close()
    assert (raising.delivered, raising.failed) == (0, 5)
    assert raising.last_error == "ConnectionError: 401 for token ***"
    assert recording.delivered == 5
    warnings = [r for r in caplog.records if "'raising'" in r.getMessage()]
    assert len(warnings) == 1
    assert secret not in caplog.text


def test_a_slow_sink_is_not_waited_for_beyond_the_flush_budget() -> None:
    dispatcher = Dispatcher([Slow(0.5)], DispatchSettings(budget_s=0.1, flush_s=0.3))
    for i in range(10):
        dispatcher.publish(skipped(i))
    clock = time.perf_counter()
    (report,) = dispatcher.close()
    assert time.perf_counter() - clock < 0.45
    assert report.delivered <= 1
    assert report.slow == report.delivered
    assert report.delivered + report.dropped >= 9  # the event in flight is neither


def test_a_full_queue_drops_and_counts_instead_of_blocking() -> None:
    gated = Gated()
    dispatcher = Dispatcher([gated], DispatchSettings(queue_size=2, flush_s=5))
    dispatcher.publish(skipped(0))
    assert gated.busy.wait(5)
    clock = time.perf_counter()
    for i in range(1, 10):
        dispatcher.publish(skipped(i))
    assert time.perf_counter() - clock < 0.1  # publishing never waits for the sink
    gated.release.set()
    (report,) = dispatcher.close()
    assert (report.delivered, report.dropped) == (3, 7)
    assert gated.handled == 3


def test_close_is_idempotent() -> None:
    dispatcher = Dispatcher([Recording()])
    dispatcher.publish(skipped(0))
    assert dispatcher.close() == dispatcher.close()


# --- through the runner ------------------------------------------------------------------

PIPELINE = """\
name: main
nodes:
  - name: bronze
    inputs:
      src: {connection: files, path: a.csv}
    write: {table: silver.a, mode: overwrite}
    quality:
      rules:
        - {name: id_present, check: not_null, column: id, severity: warn}
  - name: gold
    inputs: {a: silver.a}
    transform: {sql: "SELECT count(*) AS n FROM a"}
    write: {table: gold.n, mode: overwrite}
"""


def _project(project: Project, pipeline: str = PIPELINE) -> Project:
    project.pipeline(pipeline)
    project.csv("a.csv", pl.DataFrame({"id": [1, None, 3]}))
    return project


def test_the_run_emits_engine_neutral_events_in_order(project: Project) -> None:
    recording = Recording()
    cfg = _project(project).config()
    story = Runner(cfg, max_workers=2, sinks=[recording]).run(build_plan(cfg))
    kinds = [(e.kind, getattr(e, "node", None)) for e in recording.events]
    assert kinds == [
        ("run.started", None),
        ("node.started", "bronze"),
        ("node.rules", "bronze"),
        ("node.dataset", "bronze"),
        ("node.completed", "bronze"),
        ("node.started", "gold"),
        ("node.dataset", "gold"),
        ("node.completed", "gold"),
        ("run.completed", None),
    ]
    assert {e.run.run_id for e in recording.events} == {story.run_id}
    rules = recording.events[2]
    assert [(r.name, r.success, r.fail_count) for r in rules.results] == [("id_present", False, 1)]
    stats = recording.events[6]
    assert (stats.dataset.name, stats.rows, stats.version) == ("main.gold.n", 1, 0)
    assert [column for column, _ in stats.schema] == ["n"]
    started = recording.events[5]
    assert [d.name for d in started.inputs] == ["main.silver.a"]
    assert started.inputs[0].uri.startswith("file:///")
    assert started.sql == "SELECT count(*) AS n FROM a"


def test_a_failing_node_emits_failed_and_skipped_events(project: Project) -> None:
    recording = Recording()
    broken = PIPELINE.replace("SELECT count(*) AS n FROM a", "SELECT no_such_column FROM a")
    broken += """\
  - name: after
    inputs: {g: gold.n}
    write: {table: gold.after, mode: overwrite}
"""
    cfg = _project(project, broken).config()
    story = Runner(cfg, max_workers=2, sinks=[recording]).run(build_plan(cfg))
    assert story.status == "failed"
    by_kind = {e.kind: e for e in recording.events}
    assert by_kind["node.failed"].node == "gold"
    assert "no_such_column" in by_kind["node.failed"].error.message
    assert by_kind["node.skipped"].node == "after"
    assert recording.events[-1].kind == "run.failed"
    assert recording.events[-1].failed_nodes == ("gold",)


def test_broken_sinks_leave_the_run_green_and_the_story_says_what_they_did(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = _project(project).config()
    sinks = [Raising(), Slow(0.2), Recording()]
    with caplog.at_level(logging.WARNING, logger="lakesmith.observe"):
        story = Runner(cfg, max_workers=2, sinks=sinks).run(build_plan(cfg))
    assert story.status == "succeeded"
    reports = {r.name: r for r in story.sinks}
    assert reports["raising"].failed == 9 and reports["raising"].last_error
    assert reports["recording"].delivered == 9
    assert (reports["slow"].delivered, reports["slow"].dropped) == (9, 0)  # within flush
    saved = json.loads(
        (project.root / ".lakesmith/stories" / story.run_id / "story.json").read_text()
    )
    assert {s["name"]: s["failed"] for s in saved["sinks"]}["raising"] == 9
    assert sum("'raising'" in r.getMessage() for r in caplog.records) == 1
    from lakesmith.pipeline.story.render import to_html, to_markdown

    assert "| recording | 9 | 0 | 0 | 0 |" in to_markdown(story)
    assert "<td>raising</td><td>0</td><td>0</td><td>9</td>" in to_html(story)


def test_no_sink_configured_means_no_sinks_section(project: Project) -> None:
    story = _project(project).run()
    assert story.status == "succeeded"
    assert story.sinks == []


def test_streaming_expectations_are_rule_results(project: Project) -> None:
    project.pipeline(EXPECT)
    landing = project.root / "data" / "landing"
    landing.mkdir(parents=True)
    lines = [{"id": 1, "v": "a"}, {"id": None, "v": "b"}, {"id": 2, "v": "z"}]
    (landing / "a.json").write_text("".join(json.dumps(x) + "\n" for x in lines))
    recording = Recording()
    cfg = project.config()
    Runner(cfg, sinks=[recording]).run(build_plan(cfg))
    (rules,) = [e for e in recording.events if e.kind == "node.rules"]
    assert [(r.name, r.success, r.fail_count, r.severity) for r in rules.results] == [
        ("has_id", False, 1, "warn"),
        ("known_v", False, 1, "warn"),
        ("small_id", True, 0, "error"),
    ]
    (stats,) = [e for e in recording.events if e.kind == "node.dataset"]
    assert (stats.dataset.name, stats.rows) == ("main.bronze.events", 2)
    started = next(e for e in recording.events if e.kind == "node.started")
    assert started.inputs[0].uri.endswith("/data/landing")
