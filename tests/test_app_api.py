"""Contract tests of the REST API against a live uvicorn server on 127.0.0.1 (httpx).

Every endpoint, and every error status: 404 unknown job/session/table, 409 busy target,
existing dataset, finished job, no result yet, 413 body too large, 422 invalid spec or
identifier, 429 queue full, 403 target not writable. All errors are problem details.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest

from test_app_support import live_server, settings_for, wait_for, wait_running_with_rows

PROBLEM = "application/problem+json"
SMALL = {"households": 2_000, "seed": 7}
LONG = {"households": 600_000, "block_households": 50_000, "seed": 3}
"""Twelve blocks: several seconds on two cores, long enough to be seen running and cancelled."""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[httpx.Client]:
    with live_server(settings_for(root, max_queued=1, max_body_bytes=16_384)) as c:
        yield c


def spec(schema: str, **extra: object) -> dict[str, object]:
    return {**SMALL, "catalog": "synth", "schema": schema, **extra}


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"]
    assert "Traceback" not in response.text
    return body


def test_health_and_openapi(client: httpx.Client) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/wizard/sessions",
        "/api/wizard/sessions/{session_id}",
        "/api/wizard/sessions/{session_id}/steps/{step}/validate",
        "/api/wizard/sessions/{session_id}/submit",
        "/api/generate/start",
        "/api/generate/status/{job_id}",
        "/api/generate/result/{job_id}",
        "/api/generate/cancel/{job_id}",
    ):
        assert path in paths


def test_start_status_result_sample(client: httpx.Client, root: Path) -> None:
    started = client.post("/api/generate/start", json=spec("contract"))
    assert started.status_code == 202
    job_id = started.json()["job_id"]
    assert started.headers["location"] == f"/api/generate/status/{job_id}"
    assert started.json()["estimate"]["rows"]["households"] == 2_000
    status = wait_for(client, job_id)
    assert status["state"] == "succeeded" and status["fraction"] == 1.0
    assert {t["name"] for t in status["tables"]} >= {"households", "outcome_metrics"}
    result = client.get(f"/api/generate/result/{job_id}").json()
    tables = {t["name"]: t for t in result["tables"]}
    assert len(tables) == 10
    assert tables["households"] == {
        "name": "households",
        "full_name": "synth.contract.households",
        "rows": 2_000,
        "delta_version": 0,
        "location": str(root / "warehouse" / "synth" / "contract" / "households"),
    }
    assert result["manifest"]["spec_hash"] and result["validation"]["passed"] is True
    for t in tables.values():  # the reported counts are the tables' counts
        assert pl.scan_delta(t["location"]).select(pl.len()).collect().item() == t["rows"]
    sample = client.get(f"/api/generate/result/{job_id}/sample/individuals?limit=3").json()
    assert sample["full_name"] == "synth.contract.individuals" and len(sample["rows"]) == 3
    listed = client.get("/api/generate/jobs").json()
    assert job_id in [j["job_id"] for j in listed]
    events = client.get(f"/api/generate/events/{job_id}")  # finished: one event, then closes
    assert events.headers["content-type"].startswith("text/event-stream")
    assert events.text.startswith("event: status\ndata: {")


def test_unknown_job_is_404_everywhere(client: httpx.Client) -> None:
    for method, url in (
        ("GET", "/api/generate/status/nope"),
        ("GET", "/api/generate/result/nope"),
        ("GET", "/api/generate/result/nope/sample/households"),
        ("GET", "/api/generate/events/nope"),
        ("POST", "/api/generate/cancel/nope"),
        ("GET", "/api/wizard/sessions/nope"),
        ("POST", "/api/wizard/sessions/nope/submit"),
        ("POST", "/api/wizard/sessions/nope/steps/households/validate"),
    ):
        body_json = {} if url.endswith("validate") else None
        body = assert_problem(client.request(method, url, json=body_json), 404)
        assert "nope" in body["detail"]


def test_invalid_spec_is_422_with_field_paths(client: httpx.Client) -> None:
    bad = {"households": 10, "campaigns": {"chanels": ["display"]}, "colour": "red"}
    body = assert_problem(client.post("/api/generate/start", json=bad), 422)
    paths = {e["path"] for e in body["errors"]}
    assert {"households", "campaigns.chanels", "colour"} <= paths
    rule = {"households": 1_000, "start_date": "2025-06-01", "end_date": "2025-01-01"}
    body = assert_problem(client.post("/api/generate/start", json=rule), 422)
    assert any("end_date must be after start_date" in e["message"] for e in body["errors"])
    assert_problem(client.post("/api/generate/start", content=b"{not json"), 422)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("catalog", "../etc"),
        ("schema", "a/b"),
        ("schema", ".."),
        ("catalog", "x y"),
        ("schema", ""),
    ],
)
def test_identifiers_are_validated(
    client: httpx.Client, root: Path, field: str, value: str
) -> None:
    body = assert_problem(client.post("/api/generate/start", json={**SMALL, field: value}), 422)
    assert [e["path"] for e in body["errors"]] == [field]
    assert not (root / "etc").exists()


def test_sample_of_unknown_table_is_404(client: httpx.Client) -> None:
    job_id = client.post("/api/generate/start", json=spec("tables")).json()["job_id"]
    wait_for(client, job_id)
    for table in ("nope", "_delta_log", "households%2F..%2F..", "%2E%2E"):
        assert_problem(client.get(f"/api/generate/result/{job_id}/sample/{table}"), 404)


def test_body_size_limit_is_413(client: httpx.Client) -> None:
    big = b'{"households": 1000, "catalog": "' + b"x" * 20_000 + b'"}'
    assert_problem(client.post("/api/generate/start", content=big), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield big[:10_000]
        yield big[10_000:]

    assert_problem(client.post("/api/generate/start", content=chunks()), 413)


def test_if_exists_fail_is_409(client: httpx.Client) -> None:
    job_id = client.post("/api/generate/start", json=spec("exists")).json()["job_id"]
    wait_for(client, job_id)
    response = client.post("/api/generate/start?if_exists=fail", json=spec("exists"))
    assert "already holds" in assert_problem(response, 409)["detail"]
    assert_problem(client.post("/api/generate/start?if_exists=maybe", json=spec("exists")), 422)


def test_not_writable_target_is_403(client: httpx.Client, root: Path) -> None:
    (root / "warehouse").mkdir(exist_ok=True)
    (root / "warehouse" / "blocked").write_text("a file where the catalog folder would go")
    report = client.get("/api/permissions", params={"catalog": "blocked", "schema": "s"}).json()
    assert report["writable"] is False and report["kind"] == "local"
    response = client.post("/api/generate/start", json={**SMALL, "catalog": "blocked"})
    assert "cannot write" in assert_problem(response, 403)["detail"]
    ok = client.get("/api/permissions", params={"catalog": "synth", "schema": "fresh"}).json()
    assert ok["writable"] is True
    assert_problem(client.get("/api/permissions", params={"catalog": "../x", "schema": "s"}), 422)


def test_busy_target_409_queue_full_429_and_cancel(client: httpx.Client, root: Path) -> None:
    """One long job runs; a second on the same schema is refused; the queue holds one more."""
    long_id = client.post("/api/generate/start", json=spec("busy", **LONG)).json()["job_id"]
    running = wait_running_with_rows(client, long_id)
    assert running["state"] == "running" and running["eta_s"] is not None
    done = {t["name"]: t["rows_done"] for t in running["tables"]}
    assert done["households"] >= 50_000
    assert_problem(client.post("/api/generate/start", json=spec("busy")), 409)
    assert_problem(client.get(f"/api/generate/result/{long_id}"), 409)
    queued = client.post("/api/generate/start", json=spec("queued"))
    assert queued.status_code == 202
    assert_problem(client.post("/api/generate/start", json=spec("third")), 429)
    # a queued job is cancelled at once and never runs
    queued_id = queued.json()["job_id"]
    cancelled = client.post(f"/api/generate/cancel/{queued_id}")
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"
    assert_problem(client.post(f"/api/generate/cancel/{queued_id}"), 409)
    # the running one stops within a second or two and leaves no table and no file
    asked = time.monotonic()
    assert client.post(f"/api/generate/cancel/{long_id}").json()["cancel_requested"] is True
    final = wait_for(client, long_id, timeout=30)
    took = time.monotonic() - asked
    assert final["state"] == "cancelled" and final["error"]["title"] == "Cancelled"
    assert took < 5, f"cancel took {took:.1f}s"  # ~1-2 s idle; slack for a shared machine
    dataset = root / "warehouse" / "synth" / "busy"
    assert not list(dataset.rglob("_delta_log")) and not list(dataset.rglob("*.parquet"))
    assert_problem(client.get(f"/api/generate/result/{long_id}"), 409)


def test_wizard_session_steps_and_submit(client: httpx.Client) -> None:
    created = client.post("/api/wizard/sessions")
    assert created.status_code == 201
    session = created.json()
    sid = session["session_id"]
    assert session["steps"]["households"]["households"] == 10_000
    assert session["steps"]["output"]["if_exists"] == "fail"
    url = f"/api/wizard/sessions/{sid}/steps"
    bad = client.post(f"{url}/households/validate", json={"households": 5, "seed": -1}).json()
    assert bad["valid"] is False
    assert {e["path"] for e in bad["errors"]} == {"households", "seed"}
    wrong = client.post(f"{url}/campaigns/validate", json={"channels": ["display", "radio"]})
    assert "unknown channels ['radio']" in wrong.json()["errors"][0]["message"]
    typo = client.post(f"{url}/engagement/validate", json={"categorys": {}}).json()
    assert typo["errors"][0]["path"] == "categorys"
    window = client.post(f"{url}/campaigns/validate", json={"end_date": "2025-02-01"}).json()
    assert window["errors"][0]["message"].startswith("the date range must be at least")
    assert_problem(client.post(f"{url}/nowhere/validate", json={}), 422)
    assert_problem(client.post(f"{url}/households/validate", json=[1]), 422)
    ok = client.post(f"{url}/households/validate", json={"households": 1_500, "seed": 5}).json()
    assert ok["valid"] is True and ok["values"]["households"] == 1_500
    out = {"catalog": "synth", "schema": "wizard", "if_exists": "overwrite"}
    assert client.post(f"{url}/output/validate", json=out).json()["valid"] is True
    session = client.get(f"/api/wizard/sessions/{sid}").json()
    assert session["completed_steps"] == ["households", "output"]
    assert session["spec"]["households"] == 1_500 and session["spec"]["schema"] == "wizard"
    submitted = client.post(f"/api/wizard/sessions/{sid}/submit")
    assert submitted.status_code == 202
    job_id = submitted.json()["job_id"]
    assert wait_for(client, job_id)["state"] == "succeeded"
    assert client.get(f"/api/wizard/sessions/{sid}").json()["job_id"] == job_id
    result = client.get(f"/api/generate/result/{job_id}").json()
    assert result["dataset"] == "synth.wizard" and result["manifest"]["households"] == 1_500


def test_pages_render(client: httpx.Client) -> None:
    first = client.get("/wizard", follow_redirects=False)
    assert first.status_code == 303
    page = client.get(first.headers["location"])
    assert page.status_code == 200 and 'id="step-form"' in page.text
    sid = first.headers["location"].split("/")[2]
    for step in ("demographics", "engagement", "campaigns", "output", "review"):
        assert client.get(f"/wizard/{sid}/{step}").status_code == 200
    assert "Estimated rows" in client.get(f"/wizard/{sid}/review").text
    assert "http://" not in client.get(f"/wizard/{sid}/households").text.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )  # nothing loaded from another host
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/jobs").status_code == 200
    assert_problem(client.get(f"/wizard/{sid}/nowhere"), 404)
    assert_problem(client.get("/jobs/nope"), 404)
