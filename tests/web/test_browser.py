"""Every page of the board in Debian's chromium, headless, as a person would see it: served
on loopback after a sandbox sync, and exported to files. Each page's requests are recorded
(none may leave loopback), and screenshots at desktop and phone widths are saved under
artifacts/board/ (the folder is printed)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bridge.cli.serve import board_for
from bridge.store import Store
from bridge.web.app import board_app, make_board_server
from bridge.web.board import Board, transition_page
from bridge.web.export import write_board
from tests.web.conftest import HOSTILE_SERVICE, Synced

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "board"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def _browser_or_skip() -> Any:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    try:
        from selenium import webdriver
    except ImportError:
        missing.append("selenium (the dev extra)")
        webdriver = None
    if missing:
        message = f"the board's browser tests need {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return webdriver


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = _browser_or_skip()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--window-size=1280,900",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def served(synced: Synced, store: Store) -> Iterator[str]:
    server = make_board_server(board_app(board_for(synced.config, store)), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}/"
    finally:
        server.shutdown()
        server.server_close()


class Visit:
    """One page load: what the page requested and what the console said."""

    def __init__(self, driver: Any, url: str) -> None:
        driver.get_log("performance")  # drop what earlier pages logged
        driver.get_log("browser")
        driver.get(url)
        self.driver = driver
        self.requests = [
            event["params"]["request"]["url"]
            for entry in driver.get_log("performance")
            for event in [json.loads(entry["message"])["message"]]
            if event.get("method") == "Network.requestWillBeSent"
        ]
        self.console = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]

    def js(self, script: str) -> Any:
        return self.driver.execute_script(script)


def _local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "file", "about", "blob"):
        return True
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _check_page(visit: Visit) -> None:
    assert visit.requests, "no request was recorded"
    leaving = [u for u in visit.requests if not _local(u)]
    assert not leaving, leaving
    assert not visit.console, visit.console  # no blocked script, style or failed load
    assert visit.js("return typeof window.__pwned") == "undefined"
    assert visit.js("return document.querySelectorAll('img[onerror], script:not([src])').length") == 0


def _screenshots(driver: Any, folder: Path, name: str) -> None:
    """The whole page at each width, as a phone and a desktop browser lay it out."""
    for label, (width, height) in WIDTHS.items():
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": label == "phone"})
        # the page itself never scrolls sideways: wide tables scroll inside their region
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} overflows a {width}px screen by {overflow}px"
        shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                      {"format": "png", "captureBeyondViewport": True})
        (folder / f"{name}-{label}.png").write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _visible_rows(visit: Visit) -> int:
    return int(visit.js("return Array.from(document.querySelectorAll('table.matrix tbody "
                        "tr[data-status]')).filter(r => r.offsetParent !== null).length"))


def test_every_served_page_shows_its_figures_and_stays_on_loopback(
        browser: Any, served: str, store: Store, artifacts: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    board = Board(store)
    with store.engine.connect() as conn:
        from bridge.web.data import load_transitions

        stored = load_transitions(conn)
    visit = Visit(browser, served)
    _check_page(visit)
    assert _visible_rows(visit) == len(stored)
    body = browser.find_element(By.TAG_NAME, "body").text
    for t in stored:
        assert t.gate.status.value.replace("_", " ") in body
    assert HOSTILE_SERVICE in body  # hostile text reads as text
    assert browser.find_element(By.CSS_SELECTOR, "[data-count]").text == str(len(stored))
    # keyboard: the first Tab reaches the skip link, which leads to the content
    body_el = browser.find_element(By.TAG_NAME, "body")
    body_el.send_keys(Keys.TAB)
    assert visit.js("return document.activeElement.textContent") == "Skip to content"
    # the filters work in place: only passed transitions remain
    passed = sum(1 for t in stored if t.gate.status.value == "passed")
    Select(browser.find_element(By.NAME, "status")).select_by_value("passed")
    assert _visible_rows(visit) == passed
    assert browser.find_element(By.CSS_SELECTOR, "[data-count]").text == str(passed)
    _screenshots(browser, artifacts, "gates")

    pages = {"sync": "sync.html", "workloads-team-week": "workloads-team-week.html",
             "workloads-capability-month": "workloads-capability-month.html"}
    overdue = next(t for t in stored if t.gate.status.value == "overdue")
    pages["transition"] = transition_page(overdue.id)
    pages["transition-hostile"] = transition_page("snow:PRJ0010005")
    for name, page in pages.items():
        visit = Visit(browser, served + page)
        _check_page(visit)
        text = browser.find_element(By.TAG_NAME, "body").text
        if name.startswith("workloads"):
            charts = visit.js("return Array.from(document.querySelectorAll('canvas'))"
                              ".map(c => !!Chart.getChart(c) && c.width > 0)")
            assert charts == [True] * 4, charts
            assert "Open backlog (at period end)" in text
        elif name == "sync":
            assert visit.js("return !!Chart.getChart(document.querySelector('canvas'))")
            assert "delivered" in text and "jira" in text and "snow" in text
        elif name == "transition":
            assert overdue.service in text and "overdue" in text
            rows = browser.find_elements(By.CSS_SELECTOR, "table.items tbody tr")
            assert len(rows) == len(overdue.gate.items)
        else:
            assert HOSTILE_SERVICE in text
        _screenshots(browser, artifacts, name)
    # every page of the board loads (those not looked at closely above, too)
    for name in board.page_names():
        _check_page(Visit(browser, served + name))
    with capsys.disabled():
        print(f"\nboard screenshots: {artifacts}")


def test_the_export_works_from_files_with_no_network(
        browser: Any, synced: Synced, store: Store, tmp_path: Path, artifacts: Path) -> None:
    from selenium.webdriver.common.by import By

    out = tmp_path / "export"
    write_board(board_for(synced.config, store), out)
    visit = Visit(browser, (out / "index.html").as_uri())
    _check_page(visit)
    assert all(u.startswith(("file:", "data:")) for u in visit.requests), visit.requests
    assert _visible_rows(visit) > 0
    browser.find_element(By.LINK_TEXT, "Workloads").click()
    assert browser.current_url.endswith("workloads-capability-week.html")
    visit = Visit(browser, browser.current_url)
    _check_page(visit)
    assert visit.js("return Array.from(document.querySelectorAll('canvas'))"
                    ".filter(c => !!Chart.getChart(c)).length") == 4
    _screenshots(browser, artifacts, "export-workloads")
