"""The web page in a real headless Chromium (Debian's, never a downloaded one),
served by uvicorn over real sockets: enter the key, upload a voice, type
Arabic, generate with the keyboard, and the audio element gets a source; the
page's Content Security Policy lets all of it run. Screenshots go to the
artifacts folder."""

from __future__ import annotations

import re
import time

import pytest

from natiq.serve.app import create_app
from support.alignment import shared_aligner
from support.serve import ThreadedServer, make_settings

pytestmark = pytest.mark.slow


def test_page_speaks_arabic_typed_by_keyboard(
    tmp_path, synthesizer, api_key, voice_clip, artifacts_dir, browser, tmp_path_factory
):
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path), synthesizer)
    app.state.natiq.aligner = shared_aligner(tmp_path_factory)
    with ThreadedServer(app) as server:
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="ar")
        try:
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.goto(server.url + "/")
            assert page.locator("html").get_attribute("dir") == "rtl"

            key_box = page.locator("#api-key")
            key_box.wait_for(state="visible")
            key_box.fill(api_key)
            page.locator("#save-key").click()
            # locator expectations need no eval, which the page's policy forbids
            expect(page.locator("#status")).to_contain_text("حُفظ")

            expect(page.locator("#voice option")).not_to_have_count(0)
            if page.locator("#upload-section").get_attribute("open") is None:
                page.locator("#upload-section summary").click()
            page.locator("#voice-file").set_input_files(str(voice_clip))
            page.locator("#voice-name").fill("صوت-الاختبار")
            page.locator("#upload").click()
            expect(page.locator("#status")).to_contain_text("أضيف", timeout=60_000)
            assert page.locator("#voice option:checked").inner_text().startswith("صوت-الاختبار")

            text_box = page.locator("#text")
            text_box.click()
            page.keyboard.type("السلام عليكم، كيف حالك اليوم؟")
            page.keyboard.press("Control+Enter")
            player = page.locator("#player")
            expect(player).to_have_attribute("src", re.compile(r"^blob:"), timeout=90_000)
            # the browser decodes it: a finite duration means a well-formed file
            deadline = time.monotonic() + 20
            duration = player.evaluate("p => p.duration")
            while not (isinstance(duration, float) and 0 < duration < 1e9):
                assert time.monotonic() < deadline, f"the audio has no duration ({duration})"
                time.sleep(0.05)
                duration = player.evaluate("p => p.duration")
            assert page.locator("#download").is_visible()
            assert page.locator("#download").get_attribute("download") == "natiq.wav"
            assert "جاهز" in page.locator("#status").inner_text()
            page.screenshot(path=str(artifacts_dir / "serve_page_phone.png"), full_page=True)
            page.set_viewport_size({"width": 1100, "height": 900})
            page.screenshot(path=str(artifacts_dir / "serve_page_desktop.png"), full_page=True)
            assert errors == []
        finally:
            page.close()
