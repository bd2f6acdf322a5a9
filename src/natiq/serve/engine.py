"""Runs the synchronous ``Synthesizer`` in worker threads for the async server.

The event loop never runs model code: each synthesis runs on a thread of a
pool with ``max_concurrency`` workers, and its chunks cross back to the loop
through an asyncio queue as they are produced, so streaming starts with the
first chunk. Admission is decided up front (``AdmissionGate``): a request
either gets a running or queued place, or ``ServerBusy`` (429) at once.
A client that goes away stops its synthesis at the next chunk.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from natiq.backends.base import SynthesisOptions, VoicePrompt
from natiq.serve.limits import AdmissionGate
from natiq.serve.metrics import Metrics


@dataclass(frozen=True)
class Timings:
    first_chunk_s: float
    total_s: float
    audio_s: float
    rtf: float

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 4) for key, value in asdict(self).items()}


class AudioStream:
    """Async iterator over one synthesis' float32 chunks; ``timings`` is set when it ends."""

    def __init__(
        self,
        engine: SpeechEngine,
        text: str,
        voice: VoicePrompt | None,
        options: SynthesisOptions | None,
    ):
        self._engine = engine
        self._text = text
        self._voice = voice
        self._options = options
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self.timings: Timings | None = None
        self._loop.run_in_executor(engine.executor, self._produce)

    def _put(self, item: tuple[str, Any]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop closed while we were synthesizing (shutdown)
            self._stop.set()

    def _produce(self) -> None:
        started = False
        try:
            if self._stop.is_set():
                return
            self._engine.gate.started()
            started = True
            timings = self._engine.run(
                self._text, self._voice, self._options, self._put, self._stop
            )
            self._put(("end", timings))
        except BaseException as exc:  # delivered to the awaiting request, which maps it to a status
            self._put(("error", exc))
        finally:
            self._engine.gate.finished(started=started)

    def __aiter__(self) -> AudioStream:
        return self

    async def __anext__(self) -> np.ndarray:
        kind, item = await self._queue.get()
        if kind == "chunk":
            return item
        if kind == "end":
            self.timings = item
            raise StopAsyncIteration
        raise item

    def close(self) -> None:
        """Stop producing (the synthesis thread notices at its next chunk)."""
        self._stop.set()


class SpeechEngine:
    def __init__(
        self, synthesizer: Any, *, max_concurrency: int, max_queue: int, metrics: Metrics
    ) -> None:
        self.synthesizer = synthesizer
        self.sample_rate = int(synthesizer.sample_rate)
        self.gate = AdmissionGate(max_concurrency, max_queue)
        self.metrics = metrics
        self.executor = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="natiq-synth"
        )

    def open_stream(
        self, text: str, voice: VoicePrompt | None, options: SynthesisOptions | None = None
    ) -> AudioStream:
        """Admit (or raise ``ServerBusy``) and start synthesizing; call from the event loop."""
        self.gate.admit()
        return AudioStream(self, text, voice, options)

    def run(
        self,
        text: str,
        voice: VoicePrompt | None,
        options: SynthesisOptions | None,
        emit: Callable[[tuple[str, Any]], None],
        stop: threading.Event,
    ) -> Timings:
        """Synthesize on the calling thread, handing each chunk to ``emit(("chunk", array))``."""
        start = time.perf_counter()
        first = None
        samples = 0
        chunks = self.synthesizer.stream(text, voice=voice, options=options)
        try:
            for chunk in chunks:
                array = np.asarray(chunk, dtype=np.float32).reshape(-1)
                if first is None:
                    first = time.perf_counter() - start
                samples += array.size
                emit(("chunk", array))
                if stop.is_set():
                    break
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        total = time.perf_counter() - start
        audio_s = samples / self.sample_rate
        timings = Timings(
            first_chunk_s=first if first is not None else total,
            total_s=total,
            audio_s=audio_s,
            rtf=total / audio_s if audio_s > 0 else 0.0,
        )
        self.metrics.record_synthesis(audio_s=audio_s, total_s=total, first_chunk_s=first)
        return timings

    def synthesize_blocking(
        self, text: str, voice: VoicePrompt | None, options: SynthesisOptions | None = None
    ) -> tuple[np.ndarray, Timings]:
        """Whole utterance on a pool thread, waited for by the caller (used by the batch worker)."""
        parts: list[np.ndarray] = []

        def task() -> Timings:
            self.gate.started()
            try:
                return self.run(
                    text, voice, options, lambda item: parts.append(item[1]), threading.Event()
                )
            finally:
                self.gate.finished(started=True)

        self.gate.admit_always()

        timings = self.executor.submit(task).result()
        audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return audio, timings

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
