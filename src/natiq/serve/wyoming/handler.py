"""One Wyoming connection: events in, answers out in the order they were asked.

The handler reads events and turns each into an answer that a single worker
task sends, one after another, so audio, ``info`` and ``error`` events never
interleave and always come in the order of the questions. At most
``MAX_WAITING`` answers wait; past that the handler stops reading and TCP
holds the client back.

- ``describe`` -> ``info`` (``natiq.serve.wyoming.info``).
- ``synthesize`` -> ``audio-start``, ``audio-chunk``s as the model makes them
  (16-bit mono PCM at the model's rate), ``audio-stop``: one HTTP speech
  request's path (``state.check_text``, ``start_stream``: the same limits,
  text front-end, admission queue and priority lane).
- ``synthesize-start``, ``synthesize-chunk``s, ``synthesize-stop``: the text
  is cut into sentences as it arrives (``sentence_stream``, the splitter Home
  Assistant's own Wyoming servers use) and each complete sentence is spoken
  at once, as one ``audio-start``/``audio-chunk``/``audio-stop`` cycle that
  begins with the silence the synthesizer puts after the previous sentence
  in a whole text (``JoinPolicy``: a question, an exclamation, ...);
  ``synthesize-stopped`` follows the last one. An SSML stream
  (``text_format: ssml``) is one document, spoken whole at
  ``synthesize-stop``. A ``synthesize`` sent inside a stream repeats the
  stream's text for older servers and is ignored, as the protocol asks.
- ``ping`` -> ``pong``; every other event is dropped, as the protocol asks of
  servers.

A request that cannot be served (unknown voice, text over the limits,
nothing speakable, server busy) is answered with an ``error`` event and the
connection stays open for the next one. Every ``synthesize`` answer ends with
``audio-stop``, a refused one too (``error``, ``audio-stop``): Home
Assistant reads a ``synthesize`` answer until ``audio-stop`` and a stream's
until ``synthesize-stopped``, ignoring ``error``, so neither waits forever. A voice is a stored voice's id or
name, or ``default`` (the model's voice, as when no voice is named).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import HTTPException
from sentence_stream import SentenceBoundaryDetector
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from natiq.backends.base import VoicePrompt
from natiq.common.errors import NatiqError
from natiq.serve import audio_formats
from natiq.serve.engine import AudioStream
from natiq.serve.limits import ServerBusy
from natiq.serve.state import ServerState, UnknownVoice, error_status
from natiq.serve.streaming import start_stream
from natiq.serve.wyoming.events import BadEvent, EventTooLarge, read_event
from natiq.serve.wyoming.info import describe
from natiq.text.pauses import split_at_pauses

log = logging.getLogger("natiq.serve")

MAX_WAITING = 32
SAMPLE_WIDTH = 2  # bytes: 16-bit PCM
CHANNELS = 1
TEXT_FORMATS = (None, "text", "ssml")
CODES = {422: "invalid-input", 429: "busy", 503: "unavailable", 507: "storage-full"}
ROUTE = "wyoming"


class Refusal(Exception):
    """A request answered with an ``error`` event: a Wyoming ``code``, a message, an HTTP-like status."""

    def __init__(self, code: str, text: str, status: int = 422) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.status = status


def refusal_of(exc: BaseException) -> Refusal:
    """What a client is told about ``exc`` (never a traceback; unexpected errors are logged)."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, UnknownVoice):
        return Refusal(
            "unknown-voice",
            f"unknown voice {exc.ref[:80]!r}: use a voice name from this server's info (describe)",
        )
    if isinstance(exc, HTTPException):
        return Refusal(CODES.get(exc.status_code, "refused"), str(exc.detail), exc.status_code)
    if isinstance(exc, ServerBusy):
        return Refusal("busy", str(exc), 429)
    if isinstance(exc, NatiqError):
        status = error_status(exc)
        return Refusal(CODES.get(status, "refused"), str(exc), status)
    log.error("internal error in a Wyoming request", exc_info=exc)
    return Refusal("internal", "internal server error; see the server log", 500)


@dataclass
class TextStream:
    """An open ``synthesize-start``: its voice, its sentence splitter, the last sentence queued.

    An SSML stream (``text_format: ssml``) is one document: it is kept whole
    (``document``) and spoken at ``synthesize-stop``.
    """

    voice: VoicePrompt | None
    failed: bool = False
    previous: str | None = None
    splitter: SentenceBoundaryDetector = field(default_factory=SentenceBoundaryDetector)
    document: list[str] | None = None

    @property
    def pending_chars(self) -> int:
        """Characters received that are not yet part of a complete sentence (or document)."""
        if self.document is not None:
            return sum(len(part) for part in self.document)
        return len(self.splitter.remaining_text) + len(self.splitter.current_sentence)


class ConnectionHandler(AsyncEventHandler):
    """Answers one client's events in order (see the module docstring)."""

    def __init__(
        self, state: ServerState, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer)
        self.state = state
        self._answers: asyncio.Queue[Callable[[], Awaitable[None]] | None] = asyncio.Queue(
            maxsize=MAX_WAITING
        )
        self._stream: TextStream | None = None
        self._worker: asyncio.Task[None] | None = None

    # ----- reading
    async def run(self) -> None:
        """Read events until the client closes, then send what was asked and close."""
        self._worker = asyncio.create_task(self._answer_in_order())
        try:
            while not self._worker.done():
                try:
                    event = await read_event(self.reader, self.state.settings.max_body_bytes)
                except BadEvent as exc:
                    await self._later(self._error, Refusal("bad-event", str(exc)))
                    continue
                except EventTooLarge as exc:
                    await self._later(self._error, Refusal("bad-event", str(exc), 413))
                    break
                if event is None:
                    break
                await self.handle_event(event)
            if not self._worker.done():
                await self._answers.put(None)
            await self._worker
        except (ConnectionError, OSError):
            pass  # the client went away: what it asked for is no longer wanted
        finally:
            if not self._worker.done():
                self._worker.cancel()
            with contextlib.suppress(BaseException):
                await self._worker
            self.writer.close()

    async def stop(self) -> None:
        """Stop at once (server shutdown): the running synthesis stops at its next frame."""
        if self._worker is not None:
            self._worker.cancel()
        await super().stop()

    async def handle_event(self, event: Event) -> bool:
        try:
            if Describe.is_type(event.type):
                await self._later(self._send_info)
            elif Ping.is_type(event.type):
                await self._later(self.write_event, Pong(Ping.from_event(event).text).event())
            elif Synthesize.is_type(event.type):
                await self._on_synthesize(event)
            elif SynthesizeStart.is_type(event.type):
                await self._on_start(event)
            elif SynthesizeChunk.is_type(event.type):
                await self._on_chunk(event)
            elif SynthesizeStop.is_type(event.type):
                await self._on_stop()
        except Exception as exc:  # a Refusal, or a bug: answered, logged, the connection kept
            await self._later(self._error, refusal_of(exc))
        return True

    async def _on_synthesize(self, event: Event) -> None:
        if self._stream is not None:
            return  # the whole text of the open stream, sent for servers without streaming
        try:
            try:
                request = Synthesize.from_event(event)
            except (KeyError, TypeError, AttributeError):
                raise Refusal(
                    "bad-event", 'synthesize needs data {"text": "...", "voice": {"name": "..."}}'
                ) from None
            if not isinstance(request.text, str):
                raise Refusal("bad-event", "synthesize's text must be a string")
            voice = self._voice(request.voice, request.text_format)
        except Refusal as refusal:
            await self._later(self._refuse_synthesize, refusal)
            return
        await self._later(self._speak, request.text, voice, "synthesize", 0.0)

    async def _on_start(self, event: Event) -> None:
        if self._stream is not None:
            raise Refusal("bad-event", "a text stream is already open; send synthesize-stop first")
        try:
            request = SynthesizeStart.from_event(event)
        except (KeyError, TypeError, AttributeError):
            raise Refusal(
                "bad-event", 'synthesize-start takes data {"voice": {"name": "..."}}'
            ) from None
        ssml = request.text_format == "ssml"
        self._stream = TextStream(voice=None, document=[] if ssml else None)
        try:
            self._stream.voice = self._voice(request.voice, request.text_format)
        except Refusal:
            self._stream.failed = True  # its chunks are dropped; synthesize-stop still answers
            raise

    async def _on_chunk(self, event: Event) -> None:
        stream = self._stream
        if stream is None:
            raise Refusal("bad-event", "send synthesize-start before synthesize-chunk")
        text = event.data.get("text")
        if not isinstance(text, str):
            raise Refusal("bad-event", 'synthesize-chunk needs data {"text": "..."}')
        if stream.failed:
            return
        if stream.document is not None:
            stream.document.append(text)
        else:
            for sentence in stream.splitter.add_chunk(text):
                await self._queue_sentence(stream, sentence)
        limit = self.state.settings.max_text_chars
        if stream.pending_chars > limit:
            stream.failed = True
            what = "SSML document" if stream.document is not None else "text without a sentence end"
            raise Refusal(
                "invalid-input",
                f"the streamed {what} has {stream.pending_chars} characters; "
                f"this server's limit is {limit}",
            )

    async def _on_stop(self) -> None:
        stream = self._stream
        if stream is None:
            raise Refusal("bad-event", "send synthesize-start before synthesize-stop")
        self._stream = None
        if not stream.failed:
            if stream.document is not None:
                document = "".join(stream.document)
                await self._later(self._speak, document, stream.voice, "synthesize-chunk", 0.0)
            elif last := stream.splitter.finish():
                await self._queue_sentence(stream, last)
        await self._later(self.write_event, SynthesizeStopped().event())

    async def _queue_sentence(self, stream: TextStream, sentence: str) -> None:
        if not any(char.isalnum() for char in sentence):
            return  # stray marks between sentences: nothing to say, nothing to refuse
        pause_s = self._pause_after(stream.previous) if stream.previous is not None else 0.0
        stream.previous = sentence
        await self._later(self._speak, sentence, stream.voice, "synthesize-chunk", pause_s)

    def _pause_after(self, sentence: str) -> float:
        """The silence the synthesizer puts after ``sentence`` in a whole text (``--pause``)."""
        join = self.state.engine.synthesizer.join
        boundary = split_at_pauses(sentence, clauses=join.clauses)[-1].boundary
        return join.seconds(boundary or "sentence")

    def _voice(self, voice: SynthesizeVoice | None, text_format: Any) -> VoicePrompt | None:
        """The voice a request names (``None``: the server's default voice); ``Refusal`` if none."""
        if text_format not in TEXT_FORMATS:
            raise Refusal(
                "invalid-input", f"text_format {str(text_format)[:40]!r}: use text or ssml"
            )
        name = voice.name if voice is not None else None
        language = voice.language if voice is not None else None
        if name is not None and not isinstance(name, str):
            raise Refusal("bad-event", "a voice name must be a string")
        if name is None and language is not None and not str(language).lower().startswith("ar"):
            raise Refusal("invalid-input", f"this server speaks Arabic (ar), not {language!r}")
        try:
            return self.state.resolve_voice(name)
        except NatiqError as exc:
            raise refusal_of(exc) from None

    # ----- answering
    async def _later(self, answer: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Queue ``answer(*args)`` behind the answers already waiting."""
        await self._answers.put(lambda: answer(*args))

    async def _answer_in_order(self) -> None:
        try:
            while (answer := await self._answers.get()) is not None:
                await answer()
        except (ConnectionError, OSError):
            self.writer.close()  # the client is gone: the reader sees the end too

    async def _send_info(self) -> None:
        await self.write_event(describe(self.state).event())

    async def _error(self, refusal: Refusal) -> None:
        if refusal.status == 429:
            self.state.metrics.record_busy()
        await self.write_event(Error(text=refusal.text, code=refusal.code).event())

    async def _refuse_synthesize(self, refusal: Refusal) -> None:
        """``error``, then the ``audio-stop`` that ends every ``synthesize`` answer: a client
        that reads until ``audio-stop`` (Home Assistant's) never waits forever."""
        await self._error(refusal)
        await self.write_event(AudioStop().event())

    async def _speak(
        self, text: str, voice: VoicePrompt | None, request: str, pause_s: float
    ) -> None:
        """One utterance as one audio cycle, or an ``error`` event if it cannot be spoken
        (and ``audio-stop`` after it for a ``synthesize``)."""
        started = time.perf_counter()
        status = 200
        try:
            try:
                self.state.check_text(text)
                stream, first = await start_stream(self.state, text, voice)
            except Exception as exc:
                refusal = refusal_of(exc)
                status = refusal.status
                if request == "synthesize":
                    await self._refuse_synthesize(refusal)
                else:
                    await self._error(refusal)
                return
            try:
                status = await self._play(stream, first, pause_s)
            finally:
                stream.close()
        finally:
            self.state.metrics.record_request(ROUTE, request, status, time.perf_counter() - started)

    async def _play(self, stream: AudioStream, first: np.ndarray | None, pause_s: float) -> int:
        """Send the stream's audio; a failure of the synthesis itself becomes an ``error``
        before ``audio-stop``. Returns the request's status."""
        rate = self.state.engine.sample_rate
        await self.write_event(AudioStart(rate=rate, width=SAMPLE_WIDTH, channels=CHANNELS).event())
        if pause_s > 0:
            await self._chunk(np.zeros(round(pause_s * rate), dtype=np.float32))
        if first is not None:
            await self._chunk(first)
        status = 200
        while True:
            try:
                chunk = await anext(stream)
            except StopAsyncIteration:
                break
            except Exception as exc:
                refusal = refusal_of(exc)
                status = refusal.status
                await self._error(refusal)
                break
            await self._chunk(chunk)
        await self.write_event(AudioStop().event())
        return status

    async def _chunk(self, samples: np.ndarray) -> None:
        rate = self.state.engine.sample_rate
        audio = audio_formats.pcm16(samples)
        await self.write_event(
            AudioChunk(rate=rate, width=SAMPLE_WIDTH, channels=CHANNELS, audio=audio).event()
        )
