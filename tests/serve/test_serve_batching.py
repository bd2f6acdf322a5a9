"""With a backend that batches (Pocket, ``max_batch`` > 1), the server's requests share one loop.

They take no turns from ``ModelLanes``; their tickets' priority and stop
event reach the loop, and each request gets the audio it would get alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from natiq import Synthesizer
from natiq.backends.base import SynthesisOptions, VoicePrompt
from natiq.common.errors import NatiqError, OptionError
from natiq.serve.engine import SharedLoopBackend, SpeechEngine
from natiq.serve.lanes import SynthesisCancelled, Ticket
from natiq.serve.metrics import Metrics
from natiq.serve.settings import ServeSettings

OPTIONS = SynthesisOptions(seed=5)
TEXTS = ["مرحبا", "السلام عليكم ورحمة الله", "كيف حالك", "شكرا"]


@pytest.fixture(scope="module")
def batched(tiny_yaml: Path) -> Iterator[Synthesizer]:
    synthesizer = Synthesizer.load(
        "pocket", model=str(tiny_yaml), device="cpu", eos_threshold=np.inf, max_batch=3
    )
    yield synthesizer
    synthesizer.backend._loop.close()  # its threads end with the module


def make_engine(synthesizer: Synthesizer) -> SpeechEngine:
    return SpeechEngine(
        synthesizer,
        max_concurrency=3,
        max_queue=1,
        max_model_chars=10_000,
        metrics=Metrics(),
        options=OPTIONS,
    )


def test_concurrent_requests_step_together_and_each_gets_its_own_audio(
    batched, tiny_yaml, voice_clip
):
    engine = make_engine(batched)
    assert isinstance(engine.synthesizer.backend, SharedLoopBackend)
    voice = VoicePrompt(audio=voice_clip)
    tickets = [Ticket(interactive=i != 1) for i in range(len(TEXTS))]  # request 1: a batch item
    outputs: dict[int, np.ndarray] = {}
    started = [threading.Event() for _ in TEXTS]

    def request(index: int) -> None:
        parts: list[np.ndarray] = []

        def emit(chunk: np.ndarray) -> None:
            parts.append(chunk)
            started[index].set()

        engine.run(engine.plan(TEXTS[index]), voice, emit, tickets[index])
        outputs[index] = np.concatenate(parts)

    loop = batched.backend._loop
    threads = [threading.Thread(target=request, args=(i,)) for i in range(len(TEXTS))]
    with loop.held():  # no frame is stepped until all four have their first chunk
        for thread in threads[:3]:
            thread.start()
        for event in started[:3]:
            assert event.wait(30)
        threads[3].start()  # all 3 rows taken: the batch item's row is parked for this one
        assert started[3].wait(30)
    for thread in threads:
        thread.join(60)
    assert loop.stats.parks == 1 and loop.stats.max_rows == 3
    assert engine.lanes._free == 3  # no turn was taken
    locked = Synthesizer.load("pocket", model=str(tiny_yaml), device="cpu", eos_threshold=np.inf)
    for index, text in enumerate(TEXTS):
        alone = locked.speak(text, voice=voice, options=OPTIONS).audio
        assert outputs[index].shape == alone.shape
        assert float(np.abs(outputs[index] - alone).max()) <= 2e-5


def test_a_cancelled_ticket_leaves_the_loop_at_its_next_frame(batched, voice_clip):
    engine = make_engine(batched)
    ticket = Ticket(interactive=True)
    frames: list[np.ndarray] = []

    def leave_after_first(chunk: np.ndarray) -> None:
        frames.append(chunk)
        engine.lanes.cancel(ticket)

    plan = engine.plan("مرحبا بكم " * 20)
    with pytest.raises(SynthesisCancelled):
        engine.run(plan, VoicePrompt(audio=voice_clip), leave_after_first, ticket)
    assert len(frames) == 1
    loop = batched.backend._loop
    for _ in range(1000):  # the row leaves at the loop's next frame
        if loop._taken == 0 and not loop.flow.rows:
            break
        threading.Event().wait(0.01)
    assert loop._taken == 0 and loop.flow.rows == []
    assert engine.metrics.cancelled._value.get() == 1


def test_max_batch_follows_max_concurrency_for_a_backend_that_batches():
    assert ServeSettings(max_concurrency=4).backend_load_options() == {"max_batch": 4}
    assert ServeSettings(max_concurrency=4, max_batch=2).backend_load_options() == {"max_batch": 2}
    assert ServeSettings(backend="higgs", max_concurrency=4).backend_load_options() == {}
    given = ServeSettings(backend="higgs", max_batch=2).backend_load_options()
    with pytest.raises(OptionError, match="max_batch"):
        from natiq.backends.registry import backend_class

        backend_class("higgs").check_load_options(given)
    with pytest.raises(NatiqError, match="--max-batch"):
        ServeSettings(max_batch=0)
