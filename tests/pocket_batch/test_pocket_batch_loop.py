"""The batched loop reproduces each stream's stock audio while streams join, leave and park.

Every test compares each stream with pocket-tts's own ``generate_audio_stream``
for the same voice, text and seed, on the same tiny model: same length,
samples equal up to float rounding of batched products. Join points are
made deterministic with ``held()`` (no step while held: streams that arrive
meanwhile warm up and join together at the next frame).
"""

from __future__ import annotations

import faulthandler
import threading

import numpy as np
import pytest
import torch

from natiq.backends.pocket.batched import BatchedGeneration
from natiq.backends.pocket.packed_linear import packing_available

TOLERANCE = 2e-5  # audio peaks ~0.1; batched float32 products differ from batch 1 by ~1e-7

# 92, 59 and 38 frames with the tiny model's tokenizer (Mimi's attention context is 16 frames)
LONG = "one two three four."
MEDIUM = "the cat sat."
SHORT = "hi."


class Listener:
    """Consumes one stream on its own thread and keeps its chunks."""

    def __init__(self, loop, name, text, voice, *, seed, interactive=True, stop=None):
        self.name = name
        self.chunks: list[np.ndarray] = []
        self.first = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._iterator = loop.stream(text, voice, seed=seed, interactive=interactive, stop=stop)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for chunk in self._iterator:
                self.chunks.append(chunk)
                self.first.set()
        except BaseException as exc:
            self.error = exc
        finally:
            self.first.set()
            self.done.set()

    def wait_chunks(self, count: int, timeout: float = 60) -> None:
        for _ in range(int(timeout * 100)):
            if len(self.chunks) >= count or self.done.is_set():
                return
            self.done.wait(0.01)
        raise AssertionError(f"{self.name}: fewer than {count} chunks in {timeout} s")

    def audio(self, timeout: float = 60) -> np.ndarray:
        if not self.done.wait(timeout):
            faulthandler.dump_traceback(all_threads=True)  # where the loop's threads are
            raise AssertionError(f"{self.name} did not finish in {timeout} s")
        if self.error is not None:
            raise self.error
        return np.concatenate(self.chunks)


def assert_same(audio: np.ndarray, reference: np.ndarray, name: str) -> None:
    assert audio.shape == reference.shape, f"{name}: {audio.shape} vs stock {reference.shape}"
    gap = float(np.abs(audio - reference).max())
    assert gap <= TOLERANCE, f"{name}: max difference {gap:.2e} from the stock stream"


@pytest.mark.parametrize("decoder_threads", [1, 2])
def test_rows_of_different_lengths_join_and_leave_with_stock_audio(
    decoder_threads, tiny_model, voice, stock, make_loop
):
    references = {
        "a": stock(SHORT, 11),
        "b": stock(MEDIUM, 12),
        "c": stock(LONG, 13),
        "d": stock(SHORT, 14),
    }
    loop = make_loop(tiny_model, max_batch=4, decoder_threads=decoder_threads)
    assert len(loop.decoders) == decoder_threads
    a = Listener(loop, "a", SHORT, voice, seed=11)
    a.wait_chunks(4)
    with loop.held():  # b and c warm up meanwhile and join a at the same frame, mid-stream
        b = Listener(loop, "b", MEDIUM, voice, seed=12)
        c = Listener(loop, "c", LONG, voice, seed=13)
        assert b.first.wait(30) and c.first.wait(30)
    # a leaves first, from the first row of the FlowLM and of its Mimi decoder (which c shares):
    # the last rows move into its place
    a_audio = a.audio()
    d = Listener(loop, "d", SHORT, voice, seed=14)  # joins b and c, mid-stream
    outputs = {"a": a_audio, "b": b.audio(), "c": c.audio(), "d": d.audio()}
    for name, audio in outputs.items():
        assert_same(audio, references[name], name)
    assert loop.stats.max_rows == 3
    assert loop.stats.joins == 4
    # with three rows the FlowLM's products went through MKL's packed weights (every Linear packed)
    if packing_available("cpu"):
        linears = sum(type(m) is torch.nn.Linear for m in tiny_model.flow_lm.modules())
        assert loop.packed.count == linears and loop.packed.products > 0
    assert loop._taken == 0


def test_interactive_stream_parks_a_batch_row_that_resumes_exactly(
    tiny_model, voice, stock, make_loop
):
    references = {"a": stock(MEDIUM, 21), "b": stock(MEDIUM, 22), "c": stock(SHORT, 23)}
    loop = make_loop(tiny_model, max_batch=2)
    with loop.held():
        a = Listener(loop, "a", MEDIUM, voice, seed=21, interactive=False)
        b = Listener(loop, "b", MEDIUM, voice, seed=22, interactive=False)
        assert a.first.wait(30)
        assert b.first.wait(30)
    a.wait_chunks(3)
    b.wait_chunks(3)
    with loop.held():
        c = Listener(loop, "c", SHORT, voice, seed=23, interactive=True)
        assert c.first.wait(30)
    outputs = {"a": a.audio(), "b": b.audio(), "c": c.audio()}
    for name, audio in outputs.items():
        assert_same(audio, references[name], name)
    assert loop.stats.parks == 1
    assert loop.stats.max_rows == 2
    assert loop._taken == 0


def test_batch_items_running_and_queued_do_not_hold_back_an_interactive_stream(
    tiny_model, voice, stock, make_loop
):
    references = {"queued": stock(SHORT, 52), "interactive": stock(SHORT, 53)}
    loop = make_loop(tiny_model, max_batch=2)
    stops = [threading.Event(), threading.Event()]
    with loop.held():
        batch = [
            Listener(loop, f"batch{i}", LONG, voice, seed=50 + i, interactive=False, stop=stops[i])
            for i in range(2)
        ]
        assert batch[0].first.wait(30) and batch[1].first.wait(30)
    # every slot holds a batch item and another one waits, in line before any interactive stream
    queued = Listener(loop, "queued", SHORT, voice, seed=52, interactive=False)
    for _ in range(3000):
        if loop._waiting:
            break
        queued.done.wait(0.01)
    assert len(loop._waiting) == 1
    batch[0].wait_chunks(4)
    interactive = Listener(loop, "interactive", SHORT, voice, seed=53)
    assert interactive.first.wait(30)
    # it waited at most for the frame being stepped when it asked; waiting for a free slot
    # instead would have taken the ~85 frames a batch row has left
    assert loop.stats.max_interactive_wait <= 1
    interactive_audio = interactive.audio()
    assert queued.chunks == []  # the older batch item still waits (behind the parked row too)
    assert loop.stats.parks == 1
    for stop in stops:  # the batch rows (92 frames) leave early: the queued item gets its slot
        stop.set()
    outputs = {"interactive": interactive_audio, "queued": queued.audio()}
    for name, audio in outputs.items():
        assert_same(audio, references[name], name)
    for listener in batch:
        listener.audio()
    assert loop._taken == 0


def test_each_row_stops_on_its_own_eos_and_long_text_goes_chunk_by_chunk(
    tiny_yaml, voice, stock, make_loop
):
    from natiq.backends.pocket.batched import plan_segments
    from natiq.backends.pocket.tiny import load_tiny_tts

    # EOS fires on every frame: each chunk stops after the minimum frames plus its frames after EOS
    model = load_tiny_tts(tiny_yaml, eos_threshold=-1e9)
    two_chunks = " ".join(["one two three four five six seven eight nine ten eleven twelve."] * 2)
    assert len(plan_segments(model, two_chunks)) >= 2
    references = {"long": stock(two_chunks, 31, model), "short": stock(SHORT, 32, model)}
    loop = make_loop(model, max_batch=2)
    with loop.held():
        first = Listener(loop, "long", two_chunks, voice, seed=31)
        second = Listener(loop, "short", SHORT, voice, seed=32)
        assert first.first.wait(30)
        assert second.first.wait(30)
    outputs = {"long": first.audio(), "short": second.audio()}
    for name, audio in outputs.items():
        assert_same(audio, references[name], name)
    frame = model.mimi.frame_size
    assert outputs["short"].size == (6 + 3 + 2) * frame  # minimum, then 3 + 2 frames after EOS
    assert loop._taken == 0


def test_a_stream_that_leaves_early_frees_its_row_and_others_go_on(
    tiny_model, voice, stock, make_loop
):
    reference = stock(SHORT, 41)
    loop = make_loop(tiny_model, max_batch=1)
    leaving_stop = threading.Event()
    with loop.held():
        leaving = Listener(loop, "leaving", LONG, voice, seed=40, stop=leaving_stop)
        assert leaving.first.wait(30)
        staying = Listener(loop, "staying", SHORT, voice, seed=41)  # waits: one slot
    leaving.wait_chunks(3)
    leaving_stop.set()
    assert_same(staying.audio(), reference, "staying")
    leaving.audio()  # ended without an error, well short of its 92 frames
    assert sum(c.size for c in leaving.chunks) < 40 * tiny_model.mimi.frame_size
    # a stream stopped while it waits for a slot ends at once, with nothing
    blocker_stop = threading.Event()
    blocker = Listener(loop, "blocker", LONG, voice, seed=42, stop=blocker_stop)
    assert blocker.first.wait(30)
    waiting_stop = threading.Event()
    waiting = Listener(loop, "waiting", SHORT, voice, seed=43, stop=waiting_stop)
    waiting_stop.set()
    assert waiting.done.wait(10)
    assert waiting.chunks == [] and waiting.error is None
    blocker_stop.set()
    blocker.audio()
    assert loop._taken == 0


def test_max_batch_must_be_a_positive_whole_number(tiny_model):
    from natiq.common.errors import OptionError

    for bad in (0, -1, 2.5, True):
        with pytest.raises(OptionError, match="max_batch"):
            BatchedGeneration(tiny_model, max_batch=bad)


@pytest.mark.parametrize(("cpus", "threads"), [(1, 1), (2, 1), (3, 2), (16, 2)])
def test_decoder_threads_leave_one_core_to_the_flow_thread(monkeypatch, cpus, threads):
    from natiq.backends.pocket import batched

    monkeypatch.setattr(batched.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert batched.default_decoder_threads() == threads


def test_decoder_threads_must_be_positive(tiny_model):
    from natiq.common.errors import OptionError

    with pytest.raises(OptionError, match="decoder_threads"):
        BatchedGeneration(tiny_model, max_batch=2, decoder_threads=0)
