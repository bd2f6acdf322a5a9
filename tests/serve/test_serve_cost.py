"""The cost of one request is bounded: text is measured after verbalization and
refused above the limit, reaches the model in model-sized pieces, stops at the
next frame when its client leaves, and waits behind no batch item."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from natiq import Synthesizer
from natiq.backends.base import SynthesisOptions, VoicePrompt
from natiq.serve.engine import SpeechEngine
from natiq.serve.lanes import ModelLanes, SynthesisCancelled, Ticket
from natiq.serve.metrics import Metrics

FRAME = 1920  # samples per Pocket frame at 24 kHz
WS_URL = "ws://127.0.0.1:8000/v1/stream"
EXPANDING = "ﷺ" * 100  # 100 characters, 21 times longer once verbalized, without a space


@pytest.fixture(scope="module")
def endless(tiny_yaml: Path) -> Synthesizer:
    """The tiny model with end-of-speech disabled: it speaks until its frame cap."""
    return Synthesizer.load("pocket", model=str(tiny_yaml), device="cpu", eos_threshold=np.inf)


@pytest.fixture(scope="module")
def voice(voice_clip: Path, endless: Synthesizer) -> object:
    return endless.prepare_voice(VoicePrompt(audio=voice_clip))


def generation_threads() -> list[threading.Thread]:
    """pocket-tts' own frame loop and decoder threads."""
    return [
        t for t in threading.enumerate() if "run_generation" in t.name or "_decode_audio" in t.name
    ]


# ----- measured after normalization
def test_expanding_text_is_refused_by_its_length_after_verbalization(api, api_key):
    speech = api.client.post(
        "/v1/audio/speech", json={"input": EXPANDING, "voice": api.voice_id, "model": "x"}
    )
    assert speech.status_code == 422
    detail = speech.json()["detail"]
    assert detail.startswith("once numbers, dates and abbreviations are spelled out this text is ")
    assert detail.endswith(
        "characters for the model; this server's limit is 900: send a shorter text"
    )
    digits = api.client.post("/v1/audio/speech", json={"input": "1" * 200, "voice": api.voice_id})
    assert digits.status_code == 422 and "limit is 900" in digits.json()["detail"]
    batch = api.client.post(
        "/v1/batch",
        content="\n".join(json.dumps({"input": text}) for text in ("مرحبا", EXPANDING)).encode(),
    )
    assert batch.status_code == 422
    assert batch.json()["detail"].startswith("batch item 1: once numbers")
    with api.client.websocket_connect(
        WS_URL, subprotocols=["natiq", f"bearer.{api_key}"], headers={"Authorization": ""}
    ) as socket:
        socket.send_text(json.dumps({"text": EXPANDING, "voice": api.voice_id}))
        error = socket.receive_json()
    assert error["status"] == 422 and "limit is 900" in error["detail"]


class RecordingBackend:
    """The real backend, noting every text it is given."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.texts: list[str] = []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def generate(self, model_text, voice, options):
        self.texts.append(model_text)
        return self.backend.generate(model_text, voice, options)


def test_long_unpunctuated_text_reaches_the_model_in_bounded_pieces(synthesizer, voice_clip):
    recording = RecordingBackend(synthesizer.backend)
    bounded = Synthesizer(recording, max_chunk_chars=120)
    plan = bounded.prepare_text("مرحبا" * 60)  # one 300-letter word: no space, no mark
    (sentence,) = plan.sentences
    size = len(sentence.model_text)
    assert plan.model_chars == size and size > 240 and " " not in sentence.model_text
    voice = VoicePrompt(audio=voice_clip)
    result = bounded.speak(plan, voice=voice, options=SynthesisOptions(max_seconds=FRAME / 24000))
    expected = [120] * (size // 120) + ([size % 120] if size % 120 else [])
    assert [len(text) for text in recording.texts] == expected
    assert "".join(recording.texts) == sentence.model_text  # cut anywhere, nothing lost
    assert result.audio.size == len(expected) * FRAME  # one frame per piece, one sentence


# ----- cancellation reaches the frame loop
def test_a_client_that_leaves_stops_the_generation_loop_at_the_next_frame(endless, voice):
    engine = SpeechEngine(
        Synthesizer(endless.backend, max_chunk_chars=1000),
        max_concurrency=1,
        max_queue=1,
        max_model_chars=10_000,
        metrics=Metrics(),
    )
    plan = engine.plan("مرحبا بكم " * 80)  # ~800 characters in one piece: thousands of frames
    ticket = Ticket(interactive=True)
    frames: list[np.ndarray] = []

    def leave_after_first(chunk: np.ndarray) -> None:
        frames.append(chunk)
        engine.lanes.cancel(ticket)  # the client goes away

    with pytest.raises(SynthesisCancelled):
        engine.run(plan, voice, leave_after_first, ticket)
    assert len(frames) == 1
    deadline = time.monotonic() + 10  # the full piece would take minutes
    while generation_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert generation_threads() == []
    assert engine.metrics.cancelled._value.get() == 1
    assert engine.lanes._free == 1  # the turn was given back


def test_a_stopped_batch_item_ends_its_generation_loop_at_the_next_frame(endless, voice):
    engine = SpeechEngine(
        Synthesizer(endless.backend, max_chunk_chars=1000),
        max_concurrency=1,
        max_queue=1,
        max_model_chars=10_000,
        metrics=Metrics(),
    )
    stop = threading.Event()  # a deleted job, or a shutdown
    outcome: list[BaseException] = []

    def batch_item() -> None:
        try:
            engine.synthesize_batch_item("مرحبا بكم " * 80, voice, stop)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=batch_item)
    worker.start()
    while not generation_threads():  # the piece is generating (its frames are held back)
        time.sleep(0.005)
    stop.set()
    worker.join(10)  # the whole piece would take minutes
    assert not worker.is_alive() and [type(e) for e in outcome] == [SynthesisCancelled]
    deadline = time.monotonic() + 10
    while generation_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert generation_threads() == []


def test_a_ticket_stopped_while_waiting_for_its_turn_never_starts():
    lanes = ModelLanes(slots=1)
    holder = Ticket(interactive=True)
    lanes.acquire(holder)
    waiting = Ticket(interactive=True)
    outcome: list[str] = []

    def wait_for_turn() -> None:
        try:
            lanes.acquire(waiting)
            outcome.append("started")
        except SynthesisCancelled:
            outcome.append("cancelled")

    thread = threading.Thread(target=wait_for_turn)
    thread.start()
    while not lanes.interactive_waiting():
        time.sleep(0.001)
    lanes.cancel(waiting)
    thread.join(5)
    assert outcome == ["cancelled"] and not lanes.interactive_waiting()
    lanes.release()


# ----- interactive before batch
def test_a_free_turn_goes_to_an_interactive_request_before_an_earlier_batch_item():
    lanes = ModelLanes(slots=1)
    lanes.acquire(Ticket(interactive=True))
    order: list[str] = []

    def take(ticket: Ticket, name: str) -> None:
        with lanes.turn(ticket):
            order.append(name)

    batch = threading.Thread(target=take, args=(Ticket(interactive=False), "batch"))
    batch.start()
    time.sleep(0.05)  # the batch item has been waiting first
    interactive = threading.Thread(target=take, args=(Ticket(interactive=True), "interactive"))
    interactive.start()
    while not lanes.interactive_waiting():
        time.sleep(0.001)
    lanes.release()
    batch.join(5)
    interactive.join(5)
    assert order == ["interactive", "batch"]


def test_interactive_requests_run_ahead_of_a_batch_item_that_is_generating(endless, voice):
    metrics = Metrics()
    engine = SpeechEngine(
        endless,
        max_concurrency=1,
        max_queue=1,
        max_model_chars=10_000,
        metrics=metrics,
        options=SynthesisOptions(max_seconds=8.0),  # 100 frames
    )
    finished: dict[str, float] = {}
    batch_audio: list[np.ndarray] = []

    def batch_item() -> None:
        audio, _ = engine.synthesize_batch_item(
            "كتب الطالب الدرس على السبورة في الصباح", voice, threading.Event()
        )
        batch_audio.append(audio)
        finished["batch"] = time.monotonic()

    batch = threading.Thread(target=batch_item)
    batch.start()
    while engine.lanes._free:  # the batch item holds the model
        time.sleep(0.001)
    frames: list[np.ndarray] = []
    engine.run(engine.plan("مرحبا"), voice, frames.append, Ticket(interactive=True))
    finished["interactive"] = time.monotonic()
    batch.join(60)
    assert finished["interactive"] < finished["batch"]
    assert metrics.preempted._value.get() == 1  # the batch piece was set aside once
    # and made again whole: exactly its 100 frames, none lost or doubled
    assert batch_audio[0].size == 100 * FRAME
    assert 0 < sum(f.size for f in frames) < 100 * FRAME  # "مرحبا" ends before the cap
