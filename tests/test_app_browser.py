"""A real browser through the whole wizard: Playwright driving Debian's Chromium.

Playwright's own browser download is not reachable, so Chromium comes from apt
(``/usr/bin/chromium``) and is launched by path. Screenshots of every step land in
``test-results/browser/`` (or ``$LAKESMITH_TEST_OUTPUT/browser``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("playwright")

from playwright.sync_api import Browser, Page, expect, sync_playwright

from test_app_support import live_server, settings_for

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(os.environ.get("LAKESMITH_TEST_OUTPUT", REPO / "test-results")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: apt-get install -y chromium (make setup does)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    root = tmp_path_factory.mktemp("browser")
    with live_server(settings_for(root)) as client:
        yield client, root


@pytest.fixture
def page(browser: Browser, server: tuple[httpx.Client, Path]) -> Iterator[Page]:
    context = browser.new_context(
        base_url=str(server[0].base_url), viewport={"width": 1200, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def next_step(page: Page, step: str) -> None:
    page.click("#next")
    page.wait_for_url(f"**/{step}")


def fill_wizard(page: Page, shots: Path, *, households: str, schema: str, tag: str) -> None:
    page.goto("/wizard")
    page.wait_for_url("**/households")
    # an invalid count is refused inline, with the spec's own message
    page.fill("#f-households", "10")
    page.click("#next")
    error = page.locator('[data-error-for="households"]')
    expect(error).to_contain_text("greater than or equal to 1000")
    page.screenshot(path=shots / f"{tag}-1-households-invalid.png", full_page=True)
    page.fill("#f-households", households)
    page.fill("#f-seed", "17")
    page.screenshot(path=shots / f"{tag}-1-households.png", full_page=True)
    next_step(page, "demographics")
    page.fill('input[name="income_sigma"]', "0.7")
    page.screenshot(path=shots / f"{tag}-2-demographics.png", full_page=True)
    next_step(page, "engagement")
    page.fill('input[name="median_events_per_person"]', "5")
    page.screenshot(path=shots / f"{tag}-3-engagement.png", full_page=True)
    next_step(page, "campaigns")
    page.uncheck('input[name="channels"][value="ctv"]')
    page.fill('input[name="response_rates.search"]', "0.04")
    page.screenshot(path=shots / f"{tag}-4-campaigns.png", full_page=True)
    next_step(page, "output")
    page.fill("#f-schema", schema)
    page.select_option("#f-if_exists", "overwrite")
    page.screenshot(path=shots / f"{tag}-5-output.png", full_page=True)
    next_step(page, "review")
    expect(page.locator("#estimate")).to_contain_text("campaign_exposures")
    expect(page.locator("#permission")).to_contain_text("can write")
    page.screenshot(path=shots / f"{tag}-6-review.png", full_page=True)


def test_wizard_to_result(page: Page, shots: Path, server: tuple[httpx.Client, Path]) -> None:
    fill_wizard(page, shots, households="5000", schema="browser_run", tag="run")
    page.click("#generate")
    page.wait_for_url("**/jobs/*")
    page.screenshot(path=shots / "run-7-progress.png", full_page=True)
    page.wait_for_url("**/result", timeout=120_000)
    expect(page.locator("#validation")).to_contain_text("Validation passed")
    rows = page.locator("#tables tbody tr")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("synth.browser_run.households")
    expect(rows.first).to_contain_text("5,000")
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator("details.sample")).to_have_count(10)
    page.screenshot(path=shots / "run-8-result.png", full_page=True)
    # what the browser configured is what was generated
    client, _ = server
    job_id = page.url.split("/")[-2]
    spec = client.get(f"/api/generate/result/{job_id}").json()["manifest"]["spec"]
    assert spec["households"] == 5000 and spec["seed"] == 17
    assert spec["household"]["income_sigma"] == 0.7
    assert spec["campaigns"]["channels"] == ["display", "search", "email", "social"]
    assert spec["campaigns"]["response_rates"]["search"] == 0.04


def test_cancel_mid_run(page: Page, shots: Path, server: tuple[httpx.Client, Path]) -> None:
    fill_wizard(page, shots, households="600000", schema="browser_cancel", tag="cancel")
    page.click("#generate")
    page.wait_for_url("**/jobs/*")
    expect(page.locator("#state")).to_have_text("running")
    expect(page.locator('tr[data-table="households"] .done')).not_to_have_text("0", timeout=30_000)
    page.screenshot(path=shots / "cancel-7-running.png", full_page=True)
    page.click("#cancel")
    expect(page.locator("#state")).to_have_text("cancelled", timeout=15_000)
    expect(page.locator("#job-error")).to_contain_text("no table was changed")
    expect(page.locator("#cancel")).to_be_hidden()
    page.screenshot(path=shots / "cancel-8-cancelled.png", full_page=True)
    dataset = server[1] / "warehouse" / "synth" / "browser_cancel"
    assert not list(dataset.rglob("_delta_log")) and not list(dataset.rglob("*.parquet"))
