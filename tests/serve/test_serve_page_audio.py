"""The web page's speech controls in headless Chromium: a voice recorded from
the (fake) microphone becomes a voice, audio starts playing before the
server has finished, the highlighted word moves on with the audio clock, and
the speed control changes the duration of what is made.

What the page does is watched from inside the browser, not by polling it
from Python (a poll every few tens of milliseconds on a busy machine misses
short words): an init script records, with ``performance.now()``, every
change of the highlighted word and of the progress marks (a
``MutationObserver``), and every Web Audio source the page starts, with the
time it is scheduled to sound. Chromium's fake microphone plays a beeping
tone; the recording lasts a second (the only wait here that is not for an
event: a recording needs time).
"""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from collections.abc import Iterator

import pytest

from natiq.data.tempo import stretch_available
from natiq.serve.app import create_app
from support.alignment import shared_aligner
from support.serve import VOICE_TEXT, ThreadedServer, make_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not stretch_available(), reason="rubberband-cli is not installed"),
]
TEXT = "ذهب الطالب إلى المكتبة. ثم عاد إلى البيت."
WORDS = ["ذهب", "الطالب", "إلى", "المكتبة", "ثم", "عاد", "إلى", "البيت"]
RECORD_S = 1.0

# Runs before the page's own script, in every document of the context.
TRACE = """
window.__trace = [];
const note = (what, value) => window.__trace.push({what, value, at: performance.now()});
const start = AudioBufferSourceNode.prototype.start;
AudioBufferSourceNode.prototype.start = function (when = 0, ...rest) {
  const lead = Math.max(0, when - this.context.currentTime);
  note("source", {when, sounds_at: performance.now() + 1000 * lead, seconds: this.buffer.duration});
  return start.call(this, when, ...rest);
};
for (const name of ["start", "stop"]) {
  const original = MediaRecorder.prototype[name];
  MediaRecorder.prototype[name] = function (...args) {
    note(`recorder-${name}`, null);
    return original.apply(this, args);
  };
}
document.addEventListener("DOMContentLoaded", () => {
  const observer = new MutationObserver((records) => {
    for (const r of records) note(r.attributeName, r.target.getAttribute(r.attributeName));
  });
  observer.observe(document.getElementById("words"), {attributeFilter: ["data-current"]});
  observer.observe(document.getElementById("progress"), {attributeFilter: ["data-end-ms"]});
});
"""


class PageDriver:
    """One page of a served app, its key saved; speaks and returns what the page did."""

    def __init__(self, app, page, errors: list[str]) -> None:
        self.app = app
        self.page = page
        self.errors = errors  # the page's uncaught exceptions and console errors

    def trace(self) -> tuple[list[dict], float]:
        """The entries noted since the last call, and the page's ``performance.now()``."""
        taken = self.page.evaluate("() => [window.__trace.splice(0), performance.now()]")
        return taken[0], taken[1]

    def wait(self, condition, what: str, timeout_s: float = 30.0) -> list[dict]:
        """Trace entries until ``condition(entries, now)`` holds (an assertion error after ``timeout_s``)."""
        entries: list[dict] = []
        now = 0.0
        deadline = time.monotonic() + timeout_s
        while not condition(entries, now):
            status = self.page.locator("#status").inner_text()
            assert time.monotonic() < deadline, f"no {what} (status {status!r}): {entries}"
            time.sleep(0.05)
            new, now = self.trace()
            entries += new
        return entries

    def speak(self, speed: str, *, follow_playback: bool) -> dict:
        """Generate TEXT at ``speed``; with ``follow_playback`` wait until the live playback ended."""
        from playwright.sync_api import expect

        page = self.page
        page.locator("#speed").fill(speed)
        expect(page.locator("#speed-value")).to_have_text(f"{float(speed):.2f}×")
        page.locator("#text").fill(TEXT)
        self.trace()
        page.locator("#text").press("Control+Enter")

        def done(entries: list[dict], now: float) -> bool:
            if not any(e["what"] == "data-end-ms" and e["value"] for e in entries):
                return False
            sources = [e["value"] for e in entries if e["what"] == "source"]
            # the live playback has ended (and the page has had time to follow it)
            heard_until = max((s["sounds_at"] + 1000 * s["seconds"] for s in sources), default=0)
            return not follow_playback or now > heard_until + 200

        entries = self.wait(done, f"end of the speech at speed {speed}")
        expect(page.locator("#player")).to_have_attribute("src", re.compile(r"^blob:"))
        duration = self.wait_duration()
        words = page.locator("#words .word")
        return {
            "end_at": next(e["at"] for e in entries if e["what"] == "data-end-ms" and e["value"]),
            "sources": [e["value"] for e in entries if e["what"] == "source"],
            "highlights": [
                (int(e["value"]), e["at"])
                for e in entries
                if e["what"] == "data-current" and e["value"] is not None
            ],
            "words": words.all_inner_texts(),
            "spans": words.evaluate_all(
                "ws => ws.map(w => [Number(w.dataset.start), Number(w.dataset.end)])"
            ),
            "duration": duration,
        }

    def wait_duration(self) -> float:
        """The player's duration, once the browser has read the file's header."""
        deadline = time.monotonic() + 10
        while not (duration := self.page.locator("#player").evaluate("p => p.duration")) or (
            duration != duration  # NaN until the metadata is read
        ):
            assert time.monotonic() < deadline, f"the audio has no duration ({duration})"
            time.sleep(0.05)
        return duration


@contextlib.contextmanager
def served_page(app, browser, api_key: str, **context_options) -> Iterator[PageDriver]:
    """``app`` on a real socket with one espeak voice, and a page of it whose key is saved."""
    from playwright.sync_api import expect

    with ThreadedServer(app) as server:
        context = browser.new_context(locale="ar", **context_options)
        context.add_init_script(TRACE)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("crash", lambda _: errors.append("the page crashed"))
        try:
            page.goto(server.url + "/")
            page.locator("#api-key").fill(api_key)
            page.locator("#save-key").click()
            expect(page.locator("#status")).to_contain_text("حُفظ")
            expect(page.locator("#voice option")).to_have_count(1)
            yield PageDriver(app, page, errors)
        finally:
            context.close()


def app_with_a_voice(folder, synthesizer, clip_bytes, **settings):
    app = create_app(make_settings(folder, **settings), synthesizer)
    app.state.natiq.voices.add(clip_bytes, name="espeak", text=VOICE_TEXT)
    return app


@pytest.fixture(scope="module")
def driver(tmp_path_factory, synthesizer, api_key, browser, clip_bytes):
    """The app with the session's word aligner, and its page (the microphone allowed)."""
    app = app_with_a_voice(tmp_path_factory.mktemp("page_audio"), synthesizer, clip_bytes)
    app.state.natiq.aligner = shared_aligner(tmp_path_factory)
    with served_page(app, browser, api_key, permissions=["microphone"]) as page_driver:
        yield page_driver


def test_a_voice_recorded_from_the_microphone_becomes_a_voice(driver) -> None:
    from playwright.sync_api import expect

    page = driver.page
    if page.locator("#upload-section").get_attribute("open") is None:
        page.locator("#upload-section summary").click()
    page.locator("#voice-name").fill("مسجل")
    driver.trace()
    page.locator("#record").click()
    expect(page.locator("#record")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(RECORD_S * 1000)
    page.locator("#record").click()
    expect(page.locator("#status")).to_contain_text("أضيف", timeout=30_000)
    assert page.locator("#voice option:checked").inner_text().startswith("مسجل")
    marks = {e["what"]: e["at"] for e in driver.trace()[0]}
    held = (marks["recorder-stop"] - marks["recorder-start"]) / 1000
    recorded = [v for v in driver.app.state.natiq.voices.list() if v.name == "مسجل"]
    print(f"recorded for {held:.3f} s: {recorded}")
    # the voice is a WAV of what was recorded: as long as the recorder ran
    assert len(recorded) == 1 and recorded[0].duration == pytest.approx(held, abs=0.15)
    assert driver.errors == []


def test_playback_starts_before_the_response_ends_and_the_highlight_follows_it(driver) -> None:
    spoken = driver.speak("1", follow_playback=True)
    lead = spoken["end_at"] - spoken["sources"][0]["sounds_at"]
    print(f"speed 1: audio sounding {lead:.0f} ms before the end event; {spoken}")
    assert spoken["words"] == WORDS
    sources = spoken["sources"]
    # the audio is scheduled as it arrives, the first piece to sound before the response ended
    assert len(sources) > 2 and sources[0]["sounds_at"] < spoken["end_at"]
    assert sum(s["seconds"] for s in sources) == pytest.approx(spoken["duration"], abs=2e-3)
    # each piece is played after the one before, never over it (on the audio clock)
    for before, after in itertools.pairwise(sources):
        assert after["when"] >= before["when"] + before["seconds"] - 1e-6
    # the highlight moves forward, and each word is highlighted while it is heard: at
    # that moment the audio clock is inside the word's timing (the first word sounds at t0)
    t0 = sources[0]["sounds_at"]
    changes = [
        (index, at)
        for n, (index, at) in enumerate(spoken["highlights"])
        if n == 0 or spoken["highlights"][n - 1][0] != index
    ]
    highlighted = [index for index, _ in changes]
    assert len(highlighted) >= 2 and highlighted == sorted(set(highlighted))
    assert changes[0][1] < spoken["end_at"]  # a word was highlighted while the response came
    for index, at in changes:
        start, end = spoken["spans"][index]
        assert start - 0.05 <= (at - t0) / 1000 <= end + 0.05, (index, (at - t0) / 1000, start, end)
    assert driver.errors == []


def test_the_speed_control_changes_the_duration(driver) -> None:
    normal = driver.speak("1", follow_playback=False)
    fast = driver.speak("2", follow_playback=False)
    print(
        f"speed 1: {normal['duration']} s {normal['spans']}; speed 2: {fast['duration']} s {fast['spans']}"
    )
    assert fast["words"] == WORDS
    # twice the speed, half the duration (the tiny model's sentences are cut at the same length)
    assert normal["duration"] / fast["duration"] == pytest.approx(2.0, rel=0.05)
    # the words are timed on the audio as it is played: inside it at either speed
    for spoken in (normal, fast):
        assert 0 < spoken["spans"][-1][1] <= spoken["duration"], spoken["spans"]
    assert driver.errors == []


def test_without_a_timing_model_the_page_speaks_without_the_highlight(
    tmp_path_factory, synthesizer, api_key, browser, clip_bytes
) -> None:
    """The server answers ``timings_unavailable``: the page asks again without timings, once."""
    from playwright.sync_api import expect

    folder = tmp_path_factory.mktemp("page_no_timings")
    missing = str(folder / "no-whisper-here")
    app = app_with_a_voice(folder, synthesizer, clip_bytes, timings_model=missing)
    with served_page(app, browser, api_key) as page_driver:
        first = page_driver.speak("1", follow_playback=False)
        expect(page_driver.page.locator("#status")).to_contain_text("توقيت الكلمات غير متاح")
        second = page_driver.speak("1", follow_playback=False)
        errors = list(page_driver.errors)
    print(f"without timings: {first['duration']} s then {second['duration']} s")
    for spoken in (first, second):
        assert spoken["words"] == [] and spoken["highlights"] == []
    assert first["duration"] == pytest.approx(second["duration"], abs=2e-3)
    # the second request asked without timings from the start: one attempt, played whole
    assert sum(s["seconds"] for s in second["sources"]) == pytest.approx(
        second["duration"], abs=2e-3
    )
    assert errors == []
