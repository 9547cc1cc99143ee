"""The UI in a real Chromium (Debian's, driven by Playwright: no browser download), on a real
`dagshift ui` process. Set $DAGSHIFT_SCREENSHOTS to a folder to keep a screenshot of each page
(docs/ holds the ones taken so)."""

import os
import shutil
from pathlib import Path

import pytest

from .conftest import HOSTILE_ID, run_ids

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (make browser installs it)"
)
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.csp_errors = []
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and page.csp_errors.append(m.text),
    )
    yield page
    assert page.dialogs == [], "a hostile string ran as script"
    context.close()


def shot(page, name):
    folder = os.environ.get("DAGSHIFT_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"ui-{name}.png"), full_page=True)


def test_home_shows_counts_and_failed_runs(server, page):
    page.goto(server.url + "/")
    expect(page.locator("h1")).to_have_text("Runs")
    expect(page.locator(".count.s-failed")).to_contain_text("failed")
    expect(page.locator("table.runs").nth(1)).to_contain_text("hostile")
    assert page.csp_errors == []
    shot(page, "home")


def test_a_failed_runs_task_shows_its_log_and_traceback(server, page):
    page.goto(server.url + "/")
    page.locator("table.runs").nth(1).locator("tr", has_text="hostile").locator("a").first.click()
    expect(page.locator("#run-state")).to_have_text("failed")
    node = page.locator("g.node", has=page.locator("title", has_text=HOSTILE_ID))
    expect(node).to_have_count(1)  # the hostile id is a node's text, not markup
    shot(page, "run-failed")
    page.locator("table.tasks a", has_text="boom").click()
    expect(page.locator("#log")).to_contain_text("[stdout] about to fail")
    expect(page.locator("#traceback")).to_contain_text("ValueError: <img src=x onerror=alert(1)>")
    shot(page, "task-log")
    page.go_back()
    page.locator("table.tasks a", has_text="script").click()
    expect(page.locator("#log")).to_contain_text("</svg><script>alert('log')</script>")


def test_start_a_run_with_a_parameter_and_watch_it_succeed_without_a_reload(server, page):
    page.goto(server.url + "/flows/adder")
    shot(page, "flow")
    page.fill('input[name="param:n"]', "41")
    page.click("text=Start run")
    page.wait_for_url("**/runs/*")
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#run-state")).to_have_text("success", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True  # updated in place, not reloaded
    row = page.locator('table.tasks tr[data-task="double"]')
    expect(row).to_contain_text("success")
    expect(page.locator("g.node.s-success")).to_have_count(2)
    assert '"n": 41' in page.locator("main").inner_text()
    shot(page, "run-success")


def test_cancel_a_long_run(server, page, history):
    _, db, _ = history
    page.goto(server.url + "/flows/forever")
    page.click("text=Start run")
    page.wait_for_url("**/runs/*")
    expect(page.locator("#run-state")).to_have_text("running", timeout=20_000)
    expect(page.locator('table.tasks tr[data-task="start"]')).to_contain_text("success")
    page.click("#cancel")
    expect(page.locator("#run-state")).to_have_text("cancelled", timeout=20_000)
    expect(page.locator('table.tasks tr[data-task="spin"]')).to_contain_text("cancelled")
    shot(page, "run-cancelled")


def test_resume_a_failed_run(server, page, history):
    _, db, env = history
    (run_id,) = [r for r in run_ids(db, "flaky")][-1:]
    Path(env["FLAKY_FILE"]).unlink(missing_ok=True)
    page.goto(server.url + f"/runs/{run_id}")
    expect(page.locator("#run-state")).to_have_text("failed")
    page.click("#resume")
    expect(page.locator("#run-state")).to_have_text("success", timeout=30_000)
    expect(page.locator('table.tasks tr[data-task="check"]')).to_contain_text("success")
