"""Runs the synchronous ``Synthesizer`` for the async server: bounded, prioritized, stoppable.

A request goes through four steps:

1. ``plan``: the model's text front-end prepares the text (on a thread, never
   the event loop) and the cost is measured after normalization: the
   characters the model will read (``TextPlan.model_chars``). Above
   ``max_model_chars`` the request is refused (422) before it costs anything.
2. admission (``AdmissionGate``): a running or queued place, or ``ServerBusy``
   (429) at once. Batch items are not admitted here; the job store bounds them.
3. synthesis on a worker thread (interactive: a pool of ``max_concurrency``;
   batch: the job worker's own thread). The ``Synthesizer`` hands the model
   one model-sized piece at a time and each piece waits for its turn in
   ``ModelLanes``: interactive requests before batch items. A backend that
   steps concurrent streams together (``max_batch`` above 1: Pocket's shared
   loop) takes no turns (``SharedLoopBackend``): every piece joins its loop
   at once with the ticket's priority and stop event, and the loop lets
   interactive streams go first (a batch item's row waits, parked, and
   resumes where it stopped: nothing is generated twice).
4. streaming: chunks cross back to the event loop through an asyncio queue as
   they are produced. A client that goes away stops its ticket: the model's
   generation loop stops at the next frame.

A stream may ask for a ``speed`` (the Synthesizer stretches each sentence)
and for word timings: each finished sentence is then aligned on the worker
thread (``word_timer``, set by the server state) and its words follow its
audio through the same queue (``AudioStream.take_words``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from natiq.backends.base import SynthesisOptions, VoicePrompt
from natiq.common.errors import InputTextError
from natiq.serve.lanes import ModelLanes, ScheduledBackend, SynthesisCancelled, Ticket
from natiq.serve.limits import AdmissionGate
from natiq.serve.metrics import Metrics
from natiq.synthesizer import SentenceAudio, SentenceHook, Synthesizer, TextPlan

WordTimer = Callable[[SentenceAudio], list[Any]]


@dataclass(frozen=True)
class Timings:
    first_chunk_s: float
    total_s: float
    audio_s: float
    rtf: float

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 4) for key, value in asdict(self).items()}


class AudioStream:
    """Async iterator over one interactive synthesis' float32 chunks; ``timings`` is set when it ends."""

    def __init__(
        self,
        engine: SpeechEngine,
        plan: TextPlan,
        voice: VoicePrompt | None,
        *,
        speed: float = 1.0,
        timings: bool = False,
    ) -> None:
        self._engine = engine
        self._plan = plan
        self._voice = voice
        self._speed = speed
        self._timed = timings
        self._words: list[Any] = []
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self.ticket = Ticket(interactive=True)
        self.timings: Timings | None = None
        self._loop.run_in_executor(engine.executor, self._produce)

    def _put(self, item: tuple[str, Any]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop closed while we were synthesizing (shutdown)
            self.ticket.stop.set()

    def _produce(self) -> None:
        started = False
        try:
            if self.ticket.stop.is_set():
                return
            self._engine.gate.started()
            started = True
            on_sentence = self._words_of if self._timed else None
            timings = self._engine.run(
                self._plan,
                self._voice,
                lambda chunk: self._put(("chunk", chunk)),
                self.ticket,
                speed=self._speed,
                on_sentence=on_sentence,
            )
            self._put(("end", timings))
        except BaseException as exc:  # delivered to the awaiting request, which maps it to a status
            self._put(("error", exc))
        finally:
            self._engine.gate.finished(started=started)

    def _words_of(self, segment: SentenceAudio) -> None:
        self._put(("words", self._engine.word_times(segment)))

    def __aiter__(self) -> AudioStream:
        return self

    async def __anext__(self) -> np.ndarray:
        while True:
            kind, item = await self._queue.get()
            if kind == "words":  # kept for take_words, in order with the audio
                self._words.extend(item)
                continue
            if kind == "chunk":
                return item
            if kind == "end":
                self.timings = item
                raise StopAsyncIteration
            raise item

    def take_words(self) -> list[Any]:
        """The word timings that arrived since the last call (sentences whose audio was read)."""
        words, self._words = self._words, []
        return words

    def close(self) -> None:
        """Stop producing: the model stops at its next frame (or never starts)."""
        self._engine.lanes.cancel(self.ticket)


class SharedLoopBackend(ScheduledBackend):
    """A backend that batches concurrent streams itself: no turns, the ticket goes to its loop.

    ``prepare_voice`` still takes a turn (``ScheduledBackend``); ``generate``
    hands the thread's ticket (priority, stop event) to the backend's
    ``generate_scheduled``, whose loop admits interactive streams first and
    ends a stopped stream at its next frame.
    """

    def generate(self, model_text: str, voice: Any, options: Any) -> Iterator[np.ndarray]:
        ticket = self.lanes.current()
        if ticket.stop.is_set():
            raise SynthesisCancelled
        chunks = self.backend.generate_scheduled(
            model_text, voice, options, interactive=ticket.interactive, stop=ticket.stop
        )
        with closing(chunks):
            for chunk in chunks:
                if ticket.stop.is_set():
                    raise SynthesisCancelled
                yield chunk
        if ticket.stop.is_set():
            raise SynthesisCancelled


class SpeechEngine:
    def __init__(
        self,
        synthesizer: Synthesizer,
        *,
        max_concurrency: int,
        max_queue: int,
        max_model_chars: int,
        metrics: Metrics,
        options: SynthesisOptions | None = None,
    ) -> None:
        self.lanes = ModelLanes(slots=max_concurrency)
        wrapper = SharedLoopBackend if synthesizer.backend.max_batch > 1 else ScheduledBackend
        scheduled = wrapper(synthesizer.backend, self.lanes, metrics.preempted.inc)
        self.synthesizer = synthesizer.over(scheduled)
        self.sample_rate = int(synthesizer.sample_rate)
        self.max_model_chars = max_model_chars
        self.options = options
        self.gate = AdmissionGate(max_concurrency, max_queue)
        self.metrics = metrics
        self.executor = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="natiq-synth"
        )
        self.word_timer: WordTimer | None = None

    def word_times(self, segment: SentenceAudio) -> list[Any]:
        """Word timings of one spoken sentence (``word_timer``; runs on the synthesis thread)."""
        if self.word_timer is None:
            raise RuntimeError("this engine has no word_timer")
        return self.word_timer(segment)

    def plan(self, text: str) -> TextPlan:
        """What the model would read for ``text``; ``InputTextError`` if nothing, or too much."""
        plan = self.synthesizer.prepare_text(text)
        if plan.model_chars > self.max_model_chars:
            raise InputTextError(
                f"once numbers, dates and abbreviations are spelled out this text is "
                f"{plan.model_chars} characters for the model; this server's limit is "
                f"{self.max_model_chars}: send a shorter text"
            )
        return plan

    def open_stream(
        self,
        plan: TextPlan,
        voice: VoicePrompt | None,
        *,
        speed: float = 1.0,
        timings: bool = False,
    ) -> AudioStream:
        """Admit (or raise ``ServerBusy``) and start synthesizing; call from the event loop."""
        self.gate.admit()
        return AudioStream(self, plan, voice, speed=speed, timings=timings)

    def run(
        self,
        plan: TextPlan,
        voice: VoicePrompt | None,
        emit: Callable[[np.ndarray], None],
        ticket: Ticket,
        *,
        speed: float = 1.0,
        on_sentence: SentenceHook | None = None,
    ) -> Timings:
        """Synthesize on the calling thread under ``ticket``, handing each chunk to ``emit``.

        Raises ``SynthesisCancelled`` if the ticket is stopped.
        """
        start = time.perf_counter()
        first = None
        samples = 0
        try:
            with self.lanes.serving(ticket):
                chunks = self.synthesizer.stream(
                    plan, voice=voice, options=self.options, speed=speed, on_sentence=on_sentence
                )
                with closing(chunks):
                    for chunk in chunks:
                        array = np.asarray(chunk, dtype=np.float32).reshape(-1)
                        if first is None:
                            first = time.perf_counter() - start
                        samples += array.size
                        emit(array)
                        if ticket.stop.is_set():
                            raise SynthesisCancelled
        except SynthesisCancelled:
            self.metrics.cancelled.inc()
            raise
        total = time.perf_counter() - start
        audio_s = samples / self.sample_rate
        self.metrics.record_synthesis(audio_s=audio_s, total_s=total, first_chunk_s=first)
        return Timings(
            first_chunk_s=first if first is not None else total,
            total_s=total,
            audio_s=audio_s,
            rtf=total / audio_s if audio_s > 0 else 0.0,
        )

    def synthesize_batch_item(
        self,
        text: str,
        voice: VoicePrompt | None,
        stop: threading.Event,
        *,
        speed: float = 1.0,
        on_sentence: SentenceHook | None = None,
    ) -> tuple[np.ndarray, Timings]:
        """A whole utterance on the calling thread (the batch worker), behind interactive requests."""
        plan = self.plan(text)
        parts: list[np.ndarray] = []
        ticket = Ticket(interactive=False, stop=stop)
        timings = self.run(plan, voice, parts.append, ticket, speed=speed, on_sentence=on_sentence)
        audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return audio, timings

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
