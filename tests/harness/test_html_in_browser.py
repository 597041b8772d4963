"""The HTML report's filters work in a real Chromium, offline (a file:// page)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.browser import BrowserSession, close_shared_browser, shared_browser
from harness.reporters.html import HtmlReporter
from tests.harness.sample_report import events, report, results, write_png

pytestmark = pytest.mark.browser


@pytest.fixture
def report_page(tmp_path: Path) -> Iterator[BrowserSession]:
    reporter = HtmlReporter(tmp_path / "report.html")
    for event in events(screenshot=write_png(tmp_path / "shot.png")):
        reporter.handle(event)
    try:
        with shared_browser().session(timeout_s=2) as session:
            session.goto((tmp_path / "report.html").as_uri())
            yield session
    finally:
        close_shared_browser()


def test_filters_by_outcome_and_suite(report_page: BrowserSession) -> None:
    assert report_page.count("tr.result") == 8
    assert report_page.count("img") == 1
    assert report_page.text("#shown") == "8 checks shown"
    report_page.set_checked("input[name=outcome][value=pass]", False)
    assert report_page.count("tr.result") == 5
    report_page.select("#suite-filter", "deprovisioning")
    assert report_page.count("tr.result") == 3
    assert report_page.count("section.scenario") == 1
    assert report_page.text("#shown") == "3 checks shown"


def test_search_narrows_to_matching_checks(report_page: BrowserSession) -> None:
    report_page.fill("#search", "RFC7643")
    assert report_page.count("tr.result") == 1
    assert "deprov.scim-active" in report_page.text("tr.result >> visible=true")


def test_the_shared_browser_is_reused_until_closed() -> None:
    first = shared_browser()
    try:
        assert shared_browser() is first
    finally:
        close_shared_browser()
    second = shared_browser()
    try:
        assert second is not first
    finally:
        close_shared_browser()


def test_a_long_unbroken_evidence_value_wraps_inside_the_window(tmp_path: Path) -> None:
    # A base64 SAMLResponse is one word tens of thousands of characters long: the report wraps
    # it (and any long word in a message) instead of growing wider than the window.
    blob = base64.b64encode(bytes(range(256)) * 120).decode()
    long_one = dataclasses.replace(
        results()[1],
        message="refused " + blob[:3000],
        observed=blob[:5000],
        evidence={"SAMLResponse": blob, "looked_at": {"Audience": blob[:400]}},
    )
    run = dataclasses.replace(report(), results=[*results(), long_one])
    reporter = HtmlReporter(tmp_path / "report.html")
    for event in events(run=run):
        reporter.handle(event)
    try:
        with shared_browser().session(timeout_s=2) as session:
            session.goto((tmp_path / "report.html").as_uri())
            # every block opened, as a reader would
            session.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            width = session.evaluate("document.documentElement.scrollWidth")
            window = session.evaluate("window.innerWidth")
    finally:
        close_shared_browser()
    assert len(blob) > 40_000
    assert width <= window
