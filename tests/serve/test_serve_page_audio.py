"""The web page's speech controls in headless Chromium: a voice recorded from
the (fake) microphone becomes a voice, audio starts playing before the
server has finished, the highlighted word moves on while it plays, and the
speed control changes the duration of what is made.

Chromium's fake microphone plays a beeping tone; the recording lasts about a
second (the only wait here that is not for an event: a recording needs time).
"""

from __future__ import annotations

import time

import pytest

from natiq.data.tempo import stretch_available
from natiq.serve.app import create_app
from support.alignment import shared_aligner
from support.serve import ThreadedServer, make_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not stretch_available(), reason="rubberband-cli is not installed"),
]
TEXT = "ذهب الطالب إلى المكتبة. ثم عاد إلى البيت."


def speak_and_follow(page, speed: str) -> dict:
    """Generate at ``speed``; sample the highlighted word until the live audio has played."""
    from playwright.sync_api import expect

    page.locator("#speed").fill(speed)
    expect(page.locator("#speed-value")).to_have_text(f"{float(speed):.2f}×")
    page.locator("#text").click()
    page.keyboard.press("Control+Enter")
    progress = page.locator("#progress")
    highlighted: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = page.locator("#words").get_attribute("data-current")
        if current is not None and (not highlighted or highlighted[-1] != int(current)):
            highlighted.append(int(current))
        if progress.get_attribute("data-end-ms") is not None and page.locator("#player").evaluate(
            "p => Number.isFinite(p.duration) && p.duration > 0"
        ):
            # the live playback goes on after the stream ended: follow it to its end
            words = page.locator("#words .word").count()
            if highlighted and highlighted[-1] == words - 1:
                break
        time.sleep(0.02)
    return {
        "first_audio_ms": int(progress.get_attribute("data-first-audio-ms")),
        "end_ms": int(progress.get_attribute("data-end-ms")),
        "highlighted": highlighted,
        "words": page.locator("#words .word").all_inner_texts(),
        "duration": page.locator("#player").evaluate("p => p.duration"),
    }


def test_page_records_a_voice_streams_highlights_and_changes_speed(
    tmp_path, synthesizer, api_key, browser, tmp_path_factory, artifacts_dir
) -> None:
    from playwright.sync_api import expect

    app = create_app(make_settings(tmp_path), synthesizer)
    app.state.natiq.aligner = shared_aligner(tmp_path_factory)
    with ThreadedServer(app) as server:
        context = browser.new_context(locale="ar", permissions=["microphone"])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(server.url + "/")
            page.locator("#api-key").fill(api_key)
            page.locator("#save-key").click()
            expect(page.locator("#status")).to_contain_text("حُفظ")
            assert page.locator("#ssml-help summary").is_visible()

            # a voice from the microphone
            if page.locator("#upload-section").get_attribute("open") is None:
                page.locator("#upload-section summary").click()
            page.locator("#voice-name").fill("مسجل")
            page.locator("#record").click()
            expect(page.locator("#record")).to_have_attribute("aria-pressed", "true")
            page.wait_for_timeout(1200)
            page.locator("#record").click()
            expect(page.locator("#status")).to_contain_text("أضيف", timeout=30_000)
            assert page.locator("#voice option:checked").inner_text().startswith("مسجل")
            voices = app.state.natiq.voices.list()
            assert [v.name for v in voices] == ["مسجل"] and 0.8 < voices[0].duration < 3

            page.locator("#text").fill(TEXT)
            normal = speak_and_follow(page, "1")
            page.screenshot(path=str(artifacts_dir / "serve_page_words.png"), full_page=True)
            fast = speak_and_follow(page, "2")
        finally:
            context.close()
    print(f"page: speed 1 {normal}; speed 2 {fast}")
    assert errors == []
    expected = ["ذهب", "الطالب", "إلى", "المكتبة", "ثم", "عاد", "إلى", "البيت"]
    assert normal["words"] == expected and fast["words"] == expected
    # playback starts while the server is still generating (the second sentence, its words)
    assert normal["first_audio_ms"] < normal["end_ms"]
    # the highlight moves forward through the words as they are heard
    assert len(normal["highlighted"]) >= 3
    assert normal["highlighted"] == sorted(normal["highlighted"])
    # twice the speed, half the duration (the tiny model says each sentence at the same length)
    assert normal["duration"] / fast["duration"] == pytest.approx(2.0, rel=0.05)
