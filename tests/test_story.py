"""Story rendering and the promises it keeps: escaped HTML, masked secrets, schema diffs."""

from __future__ import annotations

from datetime import UTC, datetime

from lakesmith.pipeline.runner import _error_report
from lakesmith.pipeline.story.model import ErrorReport, NodeReport, RunStory, diff_schema
from lakesmith.pipeline.story.render import to_html, to_markdown
from lakesmith.pipeline.story.store import load_story, save_story


def _story() -> RunStory:
    node = NodeReport(
        name="n1",
        pipeline="p",
        status="failed",
        table="main.s.t",
        mode="merge",
        error=ErrorReport(type="SqlError", message="<script>alert(1)</script>", hint="fix it"),
        sample=[{"id": 1, "email": "***"}],
    )
    return RunStory(
        run_id="r1",
        project="proj",
        env="local",
        engine="polars",
        platform="local",
        config_hash="abc",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        status="failed",
        nodes=[node],
    )


def test_html_escapes_user_text_and_markdown_keeps_hint(tmp_path) -> None:
    story = _story()
    html = to_html(story)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "fix it" in to_markdown(story)
    run_dir = save_story(story, tmp_path)
    assert {p.name for p in run_dir.iterdir()} == {"story.json", "story.md", "story.html"}
    loaded, folder = load_story(tmp_path)
    assert loaded.run_id == "r1" and folder == run_dir
    assert loaded.nodes[0].error is not None


def test_resolved_secrets_are_masked_in_errors() -> None:
    exc = ValueError("auth failed for account_key=s3cr3t-value at host")
    report = _error_report(exc, {"s3cr3t-value"})
    assert "s3cr3t-value" not in report.message + report.traceback
    assert "account_key=***" in report.message


def test_schema_diff() -> None:
    before = [("id", "bigint"), ("name", "string"), ("old", "int")]
    after = [("id", "bigint"), ("name", "int"), ("new", "date")]
    change = diff_schema(before, after)
    assert change is not None
    assert change.added == [("new", "date")]
    assert change.removed == [("old", "int")]
    assert change.retyped == [("name", "string", "int")]
    assert diff_schema(None, after) is None
