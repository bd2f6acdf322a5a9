"""natiq's Wyoming server (Home Assistant, Rhasspy) driven by the ``wyoming``
library's own client, ``AsyncTcpClient``.

The server runs in the application's lifespan beside the HTTP routes
(``create_app`` with ``--wyoming tcp://127.0.0.1:0`` under FastAPI's
TestClient), over the tiny random Pocket model decoding greedily
(temperature 0) with a default voice of its own. Greedy decoding makes the
audio a function of text and voice, so the tests compare Wyoming's audio
with the HTTP route's for the same text: the same front-end, voices, default
voice and limits, not a parallel copy. The voice 'espeak' is uploaded over
HTTP and spoken over Wyoming: one voice store.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from natiq.serve.app import create_app
from natiq.synthesizer import JoinPolicy
from support.serve import BASE_URL, VOICE_TEXT, make_settings

RATE = 24000
FRAME = 1920  # samples in one Pocket frame (80 ms)
PAUSE = round(0.15 * RATE)  # the synthesizer's pause after a sentence
QUESTION_PAUSE_S = 0.3  # and after a question, on these tests' server (--pause question=0.3)
TIMEOUT_S = 30.0  # per event: a server that never answers fails the test, never hangs it
FIRST, SECOND, THIRD = "السلام عليكم.", "كيف حالك اليوم؟", "أنا بخير."
TEXT = f"{FIRST} {SECOND}"


@pytest.fixture(scope="module")
def greedy_synthesizer(tmp_path_factory, tiny_yaml: Path, synthesizer, voice_clip: Path):
    """The tiny model, decoding greedily, with a default voice (an export's default_voice.safetensors)."""
    from natiq import Synthesizer
    from natiq.backends.pocket.default_voice import write_default_voice

    folder = tmp_path_factory.mktemp("tiny_with_default_voice")
    shutil.copy(tiny_yaml, folder / tiny_yaml.name)  # its weight and tokenizer paths are absolute
    write_default_voice(folder, voice_clip, model=synthesizer.backend.model, info={"rule": "test"})
    return Synthesizer.load(
        "pocket",
        model=str(folder / tiny_yaml.name),
        device="cpu",
        temperature=0.0,
        join=JoinPolicy(question_s=QUESTION_PAUSE_S),
    )


@dataclass
class Served:
    client: TestClient
    port: int
    voice_id: str

    @property
    def state(self):
        return self.client.app.state.natiq

    def http_pcm(self, text: str, voice: str = "alloy") -> np.ndarray:
        """The HTTP route's audio for ``text`` (an OpenAI preset name means the default voice)."""
        body = {"model": "x", "input": text, "voice": voice, "response_format": "pcm"}
        response = self.client.post("/v1/audio/speech", json=body)
        assert response.status_code == 200, response.text
        return np.frombuffer(response.content, dtype="<i2")


@pytest.fixture(scope="module")
def served(tmp_path_factory, greedy_synthesizer, clip_bytes: bytes) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("wyoming")
    # the shortest pieces pocket-tts makes (six frames): the tests compare audio, not length
    settings = make_settings(folder, key=False, wyoming="tcp://127.0.0.1:0", max_seconds=0.48)
    app = create_app(settings, greedy_synthesizer)
    with TestClient(app, base_url=BASE_URL) as client:
        upload = client.post(
            "/v1/voices",
            files={"file": ("reference.wav", clip_bytes, "audio/wav")},
            data={"text": VOICE_TEXT, "name": "espeak"},
        )
        assert upload.status_code == 201, upload.text
        yield Served(client, app.state.wyoming.port, upload.json()["id"])


class Talk:
    """One Wyoming connection: send events, read until an event of a given type."""

    def __init__(self, client: AsyncTcpClient) -> None:
        self.client = client

    async def send(self, *events) -> None:
        for event in events:
            await self.client.write_event(event.event())

    async def until(self, *types: str) -> list[Event]:
        events = []
        while True:
            event = await self.client.read_event()
            assert event is not None, f"the server closed the connection before {types}"
            events.append(event)
            if event.type in types:
                return events


def talk(port: int, scenario) -> None:
    async def run() -> None:
        async with AsyncTcpClient("127.0.0.1", port, read_timeout=TIMEOUT_S) as client:
            await scenario(Talk(client))

    asyncio.run(run())


def cycles(events: list[Event]) -> list[np.ndarray]:
    """The samples of each audio-start ... audio-stop cycle, checking every format field."""
    found: list[np.ndarray] = []
    parts: list[bytes] | None = None
    for event in events:
        if AudioStart.is_type(event.type):
            start = AudioStart.from_event(event)
            assert (start.rate, start.width, start.channels) == (RATE, 2, 1)
            assert parts is None, "audio-start inside a cycle"
            parts = []
        elif AudioChunk.is_type(event.type):
            chunk = AudioChunk.from_event(event)
            assert (chunk.rate, chunk.width, chunk.channels) == (RATE, 2, 1)
            assert parts is not None, "audio-chunk outside a cycle"
            parts.append(chunk.audio)
        elif event.type == "audio-stop":
            assert parts is not None, "audio-stop outside a cycle"
            found.append(np.frombuffer(b"".join(parts), dtype="<i2"))
            parts = None
    assert parts is None, "a cycle was not closed"
    return found


def error_of(events: list[Event], *, then: tuple[str, ...] = ()) -> Error:
    """The one error in ``events``, which must be followed by exactly ``then``."""
    assert [event.type for event in events] == ["error", *then], [event.type for event in events]
    return Error.from_event(events[0])


def same_audio(wyoming: np.ndarray, http: np.ndarray) -> None:
    """Equal up to float noise: the model's float32 output differs by ~1e-7 between runs."""
    assert wyoming.size == http.size
    assert np.abs(wyoming.astype(np.int32) - http.astype(np.int32)).max() <= 1


def test_describe_offers_the_default_voice_and_the_voices_uploaded_over_http(served):
    async def scenario(talk: Talk) -> None:
        await talk.send(Describe())
        (event,) = await talk.until("info")
        program = Info.from_event(event).tts[0]
        assert (program.name, program.installed, program.supports_synthesize_streaming) == (
            "natiq",
            True,
            True,
        )
        assert program.attribution.url == "https://github.com/kyutai-labs/pocket-tts"
        voices = [(v.name, v.description, v.languages, v.installed) for v in program.voices]
        assert voices == [
            ("default", "default (the model's own voice)", ["ar"], True),
            (served.voice_id, "espeak", ["ar"], True),
        ]

    talk(served.port, scenario)


def test_synthesize_streams_the_http_routes_audio_as_16_bit_mono_24k(served):
    spoken: dict[str, list[np.ndarray]] = {}
    chunk_sizes: list[int] = []

    async def scenario(talk: Talk) -> None:
        for voice in ("default", "espeak", served.voice_id):
            request = Synthesize(TEXT, SynthesizeVoice(voice) if voice else None)
            await talk.send(request)
            events = await talk.until("audio-stop", "error")
            spoken[str(voice)] = cycles(events)
            chunk_sizes.extend(len(e.payload) // 2 for e in events if e.type == "audio-chunk")

    talk(served.port, scenario)
    default, espeak = served.http_pcm(TEXT), served.http_pcm(TEXT, "espeak")
    (by_default,), (by_name,), (by_id,) = spoken.values()
    same_audio(by_default, default)
    same_audio(by_name, espeak)
    same_audio(by_id, espeak)
    assert not np.array_equal(default, espeak)  # the voice is really chosen
    assert default.size >= 2 * 6 * FRAME + PAUSE  # two sentences of at least six frames each
    # sent as the model makes it (a few frames at a time), never the whole utterance at once
    assert max(chunk_sizes) < default.size / 2 and len(chunk_sizes) >= 3 * 4
    metrics = served.client.get("/metrics").text
    assert 'natiq_requests_total{method="synthesize",route="wyoming",status="200"} 3.0' in metrics


def test_refused_requests_get_error_events_and_the_connection_stays_open(served):
    limit = served.state.settings.max_text_chars
    refusals: list[Error] = []
    gate = served.state.engine.gate

    async def scenario(talk: Talk) -> None:
        requests = [
            Synthesize(FIRST, SynthesizeVoice("nobody")),
            Synthesize("ب" * (limit + 1)),
            Synthesize("   "),
            Synthesize("!!! ???"),
            Synthesize(FIRST, SynthesizeVoice(language="en")),
            Synthesize(FIRST, text_format="markdown"),
            SynthesizeChunk(FIRST),
            SynthesizeStop(),
        ]
        for request in requests:
            await talk.send(request)
            if isinstance(request, Synthesize):  # its answer always ends with audio-stop
                refusals.append(error_of(await talk.until("audio-stop"), then=("audio-stop",)))
            else:
                refusals.append(error_of(await talk.until("error")))
        assert wait_for(lambda: gate.queued == gate.running == 0)  # earlier requests all done
        for _ in range(gate.capacity):  # every run slot and queue place taken
            gate.admit()
        try:
            await talk.send(Synthesize(FIRST))
            refusals.append(error_of(await talk.until("audio-stop"), then=("audio-stop",)))
        finally:
            for _ in range(gate.capacity):
                gate.finished(started=False)
        await talk.send(Describe())
        assert [e.type for e in await talk.until("info")] == ["info"]
        await talk.send(Synthesize(FIRST))
        (audio,) = cycles(await talk.until("audio-stop", "error"))
        same_audio(audio, served.http_pcm(FIRST))

    talk(served.port, scenario)
    assert [(r.code, r.text) for r in refusals] == [
        ("unknown-voice", "unknown voice 'nobody': use a voice name from this server's info (describe)"),
        ("invalid-input", f"the text has {limit + 1} characters; this server's limit is {limit}"),
        ("invalid-input", "the text is empty; give some Arabic text to speak"),
        ("invalid-input", refusals[3].text),
        ("invalid-input", "this server speaks Arabic (ar), not 'en'"),
        ("invalid-input", "text_format 'markdown': use text or ssml"),
        ("bad-event", "send synthesize-start before synthesize-chunk"),
        ("bad-event", "send synthesize-start before synthesize-stop"),
        ("busy", refusals[8].text),
    ]  # fmt: skip
    assert refusals[3].text.startswith("nothing speakable in '!!! ???'")
    assert refusals[8].text.startswith("the server is busy")


def test_streamed_text_is_spoken_sentence_by_sentence_while_it_arrives(served):
    heard: list[list[np.ndarray]] = []

    async def scenario(talk: Talk) -> None:
        await talk.send(SynthesizeStart(SynthesizeVoice("espeak")), SynthesizeChunk("السلام "))
        await talk.send(SynthesizeChunk("عليكم. كيف"))
        # the first sentence is spoken before the rest of the text exists
        heard.append(cycles(await talk.until("audio-stop")))
        await talk.send(SynthesizeChunk(" حالك اليوم؟ أنا"), SynthesizeChunk(" بخير."))
        await talk.send(Synthesize(TEXT), SynthesizeStop())  # the whole text, for old servers
        events = await talk.until("synthesize-stopped")
        heard.append(cycles(events))
        assert events[-1].type == "synthesize-stopped"

    talk(served.port, scenario)
    # one cycle per sentence (the repeated whole text is ignored), each after the silence that
    # follows the sentence before it in a whole text: together, the whole text's audio
    ((first,), (second, third)) = heard
    question_pause = round(QUESTION_PAUSE_S * RATE)
    assert not second[:PAUSE].any() and not third[:question_pause].any()
    whole = served.http_pcm(f"{FIRST} {SECOND} {THIRD}", "espeak")
    same_audio(np.concatenate([first, second, third]), whole)


def test_an_ssml_stream_is_spoken_as_one_document(served):
    document = '<speak>السلام <break time="400ms"/>عليكم. كيف حالك اليوم؟</speak>'

    async def scenario(talk: Talk) -> list[Event]:
        await talk.send(SynthesizeStart(text_format="ssml"))
        await talk.send(SynthesizeChunk(document[:20]), SynthesizeChunk(document[20:]))
        await talk.send(SynthesizeStop())
        heard.extend(cycles(await talk.until("synthesize-stopped")))

    heard: list[np.ndarray] = []
    talk(served.port, scenario)
    (audio,) = heard
    same_audio(audio, served.http_pcm(document))


def test_a_refused_stream_still_ends_with_synthesize_stopped(served):
    limit = served.state.settings.max_text_chars

    async def scenario(talk: Talk) -> None:
        await talk.send(SynthesizeStart(SynthesizeVoice("nobody")))
        assert error_of(await talk.until("error")).code == "unknown-voice"
        await talk.send(SynthesizeChunk(TEXT + " "), SynthesizeStop())
        assert [e.type for e in await talk.until("synthesize-stopped")] == ["synthesize-stopped"]

        await talk.send(SynthesizeStart(), SynthesizeChunk("ب " * (limit // 2 + 1)))
        refusal = error_of(await talk.until("error"))
        assert (refusal.code, refusal.text) == (
            "invalid-input",
            f"the streamed text without a sentence end has {limit + 2} characters; "
            f"this server's limit is {limit}",
        )
        await talk.send(SynthesizeChunk(FIRST + " "), SynthesizeStop())
        assert [e.type for e in await talk.until("synthesize-stopped")] == ["synthesize-stopped"]

        await talk.send(SynthesizeStart(), SynthesizeStart())
        refusal = error_of(await talk.until("error"))
        assert refusal.text == "a text stream is already open; send synthesize-stop first"
        await talk.send(SynthesizeChunk(FIRST), SynthesizeStop())
        events = await talk.until("synthesize-stopped")
        (audio,) = cycles(events)
        same_audio(audio, served.http_pcm(FIRST))

    talk(served.port, scenario)


def test_malformed_events_are_answered_and_oversized_ones_end_the_connection(served):
    limit = served.state.settings.max_body_bytes

    async def scenario() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)

        async def answer() -> Event | None:  # read with the library's own parser
            return await asyncio.wait_for(async_read_event(reader), TIMEOUT_S)

        writer.write(b"this is not json\n" + b'{"type": "describe"}\n')
        refusal = error_of([await answer()])
        assert (refusal.code, refusal.text) == ("bad-event", "an event header is not valid JSON")
        assert (await answer()).type == "info"
        header = {"type": "synthesize", "data_length": limit + 1}
        writer.write(json.dumps(header).encode() + b"\n")
        refusal = error_of([await answer()])
        assert (
            refusal.text == f"an event of {limit + 1} bytes is over this server's limit of {limit}"
        )
        assert await answer() is None  # closed: there is no event boundary to resume from
        writer.close()

    asyncio.run(scenario())


def test_a_client_that_leaves_stops_the_model(served):
    metrics = served.state.metrics
    cancelled = metrics.cancelled._value.get()

    async def scenario(talk: Talk) -> None:
        await talk.send(Synthesize(" ".join([FIRST, SECOND] * 8)))
        await talk.until("audio-start")

    talk(served.port, scenario)  # leaves after the first event
    assert wait_for(lambda: metrics.cancelled._value.get() == cancelled + 1), (
        "the synthesis went on after the client left"
    )


def wait_for(condition, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
