"""The web page in a real browser (Debian's Chromium, driven by Playwright) against the real
service: upload a sample as a post, see the verdict card and the #Deepfake tag, report the post,
and decide the report in the moderator view. Script-shaped captions stay text."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.service.conftest import FAKE_IMAGE

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a closed network and a root user (see the machine notes): no sandbox, no background
# connections that this machine would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'

if not CHROMIUM.exists():
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} is missing, and REQUIRE_BROWSER=1 (./run.sh test installs it as root)")
    pytest.skip(f"{CHROMIUM} is not installed (./run.sh test installs it where it can)", allow_module_level=True)


@pytest.fixture
def live_service(tmp_path, scanner):
    """The real app served by uvicorn on a free loopback port, in a thread."""
    from deepfake_scanner.service.app import ServiceSettings, create_app, serving

    app = create_app(ServiceSettings(data_dir=tmp_path / "data"), scanner)
    with serving(app) as url:
        yield url, app


def test_upload_verdict_tag_report_and_moderation_in_a_real_browser(live_service, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from deepfake_scanner.service.app import add_moderator

    url, app = live_service
    token = add_moderator(app.state.sessions, "alice")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1300})
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(url + "/")
        page.set_input_files("#file", str(FAKE_IMAGE))
        page.fill("#caption", HOSTILE)
        page.click("#post")
        expect(page.locator("#verdict")).to_contain_text("Fake", timeout=120_000)
        expect(page.locator("#evidence tr")).to_have_count(len(app.state.scanner.detector_names))
        expect(page.locator("#frame")).to_have_attribute("src", re.compile(r"/frame\.jpg"))
        post = page.locator("article.post").first
        expect(post.locator(".tag")).to_have_text("#Deepfake", timeout=30_000)
        expect(post.locator(".caption")).to_have_text(HOSTILE)  # shown as text, not markup
        assert page.evaluate("window.pwned") is None
        assert page.evaluate("document.querySelector('#frame').naturalWidth") > 0  # the annotated frame loaded
        # The README's picture: SERVICE_SCREENSHOT=docs/service.png ./run.sh test tests/service/test_page.py
        page.screenshot(path=os.environ.get("SERVICE_SCREENSHOT") or str(tmp_path / "feed.png"), full_page=True)

        page.once("dialog", lambda dialog: dialog.accept("the hairline flickers"))
        post.locator("button.report").click()
        expect(post.locator(".muted")).to_contain_text("Reported")

        page.click("#show-moderation")
        page.fill("#token", "wrong-token")
        page.click("#load-reports")
        expect(page.locator("#moderation-status")).to_contain_text("403")
        page.fill("#token", token)
        page.click("#load-reports")
        report = page.locator("#reports article").first
        expect(report.locator(".reason")).to_contain_text("the hairline flickers")
        report.locator("button.decide-real").click()
        expect(page.locator("#moderation-status")).to_contain_text("Decided: real")
        expect(page.locator("#reports article")).to_have_count(0)
        page.click("#show-feed")
        expect(page.locator("article.post").first.locator(".tag")).to_have_count(0)  # the moderator removed it
        browser.close()
    assert errors == []
