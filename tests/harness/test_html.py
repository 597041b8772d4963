"""--html: one self-contained page with every result, filters, embedded screenshots, and hostile
evidence escaped."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path

from harness.reporters.html import HtmlReporter, render_html
from tests.harness.sample_report import (
    FAILING_STEP,
    FLAWED,
    HOSTILE,
    events,
    looked_at_report,
    png_base64,
    report,
    write_png,
)


class Collector(HTMLParser):
    """The tags and attributes of the page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text.append(data)


def page_of(tmp_path: Path) -> str:
    shot = write_png(tmp_path / "after-sign-in.png")
    target = tmp_path / "report.html"
    reporter = HtmlReporter(target)
    for event in events(screenshot=shot):
        reporter.handle(event)
    return target.read_text(encoding="utf-8")


def test_every_result_and_the_summary_are_on_the_page(tmp_path: Path) -> None:
    page = page_of(tmp_path)
    for result in report().results:
        assert result.check in page
        assert result.requirement in page
    rows = re.findall(r'<tr class="result (\w+)" data-outcome="\1"', page)
    assert sorted(rows) == sorted(r.outcome.value for r in report().results)
    assert "seed <b>1234</b>" in page
    assert "<b>2</b>failed" in page


def test_filters_by_outcome_and_suite(tmp_path: Path) -> None:
    parser = Collector()
    parser.feed(page_of(tmp_path))
    boxes = [a["value"] for t, a in parser.tags if t == "input" and a.get("name") == "outcome"]
    assert boxes == ["pass", "fail", "warn", "skip", "error"]
    options = [a["value"] for t, a in parser.tags if t == "option"]
    assert options == ["", "deprovisioning", "sso_login"]
    script = "".join(parser.script_text)
    assert "dataset.outcome" in script and "dataset.suite" in script


def test_self_contained_and_screenshot_embedded(tmp_path: Path) -> None:
    parser = Collector()
    page = page_of(tmp_path)
    parser.feed(page)
    images = [a["src"] for t, a in parser.tags if t == "img"]
    assert images == [f"data:image/png;base64,{png_base64()}"]
    assert not [t for t, _ in parser.tags if t == "link"]
    external = [a for t, a in parser.tags if (a.get("src") or "").startswith(("http", "//"))]
    assert external == []
    assert "default-src 'none'" in page  # the CSP forbids any network fetch


def test_hostile_evidence_is_escaped(tmp_path: Path) -> None:
    page = page_of(tmp_path)
    assert HOSTILE not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1
    assert "no SessionIndex [bold]kept[/bold]" in page
    assert "\\x00\\x01binary\\x1b[31m" in page and "\x00" not in page


def test_saml_and_scim_exchanges_are_indented(tmp_path: Path) -> None:
    page = page_of(tmp_path)
    assert "\n  &lt;saml:Issuer xmlns:saml=" in page  # XML indented, then escaped
    assert "\n  &#34;active&#34;: &#34;False&#34;" in page  # JSON indented, then escaped
    assert "exchange 2 form" in page  # the ACS POST's form body, decoded
    assert "exchange 1 location" in page  # the redirect's AuthnRequest, inflated
    assert (
        "\n  &lt;saml:Issuer xmlns:saml=&#34;urn:oasis:names:tc:SAML:2.0:assertion&#34;&gt;http://sp.test"
        in page
    )
    assert "status: 303\nlocation: /admin" in page
    assert "&lt;!-- RelayState: /admin --&gt;\n&lt;samlp:Response" in page


def test_a_missing_screenshot_is_reported_not_fatal(tmp_path: Path) -> None:
    page = render_html(
        report(), {("sso_login", "sp-initiated entra"): [str(tmp_path / "gone.png")]}
    )
    assert "cannot read" in page and "gone.png" in page


def test_a_header_block_says_what_the_run_was_asked() -> None:
    page = render_html(report(options=FLAWED))
    assert '<div class="asked flawed" id="asked">' in page
    assert "<b>A deliberately flawed run:</b>" in page
    assert "<dt>run id</dt><dd>5eed1e55c0de</dd>" in page
    assert "<dd>scenarios/sso_login scenarios/deprovisioning/it&#39;s here.yaml</dd>" in page
    assert "<dt>-k</dt><dd>audience or deprov</dd>" in page
    assert "<dt>dialect</dt><dd>okta</dd>" in page
    assert "<dt>SP flaws</dt><dd>accept-unsigned, ignore-audience</dd>" in page
    assert "<dt>IdP flaws</dt><dd>scim-boolean-as-string</dd>" in page
    assert "<dt>workers</dt><dd>2</dd>" in page
    assert "<dt>rerun</dt><dd>sso-harness run --target reference --seed 1234 --dialect" in page


def test_a_plain_run_is_not_called_flawed() -> None:
    page = render_html(report())
    assert '<div class="asked" id="asked">' in page
    assert "deliberately flawed" not in page
    assert "<dt>paths</dt><dd>every suite</dd>" in page
    assert "<dt>rerun</dt><dd>sso-harness run --target reference --seed 1234</dd>" in page


def test_scenarios_skipped_before_they_started_are_skipped_rows() -> None:
    page = render_html(report(skipped=True))
    assert "<li>2 &times; the target has no admin probe</li>" in page
    assert "<li>1 &times; the target states seats = 3, the scenario 5</li>" in page
    assert "<h2>admin / admin via group okta</h2>" in page
    rows = re.findall(r'<tr class="result (\w+)" data-outcome="\1" data-suite="(\w+)"', page)
    assert rows.count(("skip", "admin")) == 2 and rows.count(("skip", "licenses")) == 1


def test_a_failure_shows_its_step_and_never_a_refusal_by_none(tmp_path: Path) -> None:
    run = report(scenario_file=tmp_path / "sign-in.yaml")
    results = list(run.results)
    results[1] = dataclasses.replace(results[1], observed="refused by the None: None")
    page = render_html(dataclasses.replace(run, results=results))
    assert f'<dd class="step">{tmp_path / "sign-in.yaml"}:6: {FAILING_STEP}</dd>' in page
    assert "<dd>not signed in, and no refusal seen</dd>" in page
    assert "refused by the None" not in page


def test_only_screenshots_of_this_run_are_embedded(tmp_path: Path) -> None:
    # A folder reused from an earlier run: its file is named by the events but was written
    # before this run started, so it is not this run's picture.
    stale = write_png(tmp_path / "000-default.png")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    target = tmp_path / "report.html"
    reporter = HtmlReporter(target)
    for event in events(screenshot=stale):
        reporter.handle(event)
    page = target.read_text(encoding="utf-8")
    assert "data:image/png" not in page
    assert f"{stale} was written before this run" in page


def test_a_failure_leads_with_the_fields_it_looked_at() -> None:
    page = render_html(looked_at_report())
    assert page.index("<b>looked at</b>") < page.index("<b>exchange 1</b>")
    assert "Audience:     https://other-sp.example/saml/metadata" in page
