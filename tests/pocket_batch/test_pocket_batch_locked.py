"""The locked path (``--max-batch 1``, the batched loop's reference) leaves nothing running when a stream stops.

pocket-tts generates on a thread of its own that sees a stop only at its next
frame and draws its noise from torch's global generator. If the lock were
released before that thread ends, the next caller's ``torch.manual_seed``
could be followed by one more draw of the stopped stream, and the next
stream would no longer be the one its seed promises (the benchmark showed
it: a stopped stream moved the next one's audio by 7.5e-3).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from natiq.backends.base import SynthesisOptions

LONG = "one two three four."  # 92 frames with the tiny model
SHORT = "hi."


@pytest.fixture(scope="module")
def locked(tiny_yaml):
    from natiq.backends.pocket.synthesis import PocketBackend

    return PocketBackend.load(model=str(tiny_yaml), device="cpu", eos_threshold=float("inf"))


def test_a_stopped_stream_leaves_the_next_seeded_stream_as_its_seed_makes_it(locked):
    t = torch.arange(24000) / 24000
    voice = locked.model.get_state_for_audio_prompt(torch.sin(2 * torch.pi * 220 * t)[None] * 0.1)
    options = SynthesisOptions(seed=7)
    alone = np.concatenate(list(locked.generate(SHORT, voice, options)))
    # each way a stream ends early: its reader closes it, its stop event, its max_seconds
    for attempt, how in enumerate(["closed", "stop event", "max_seconds", "closed"]):
        stop = threading.Event()
        seconds = 0.2 if how == "max_seconds" else None
        cap = SynthesisOptions(seed=100 + attempt, max_seconds=seconds)
        stopped = locked.generate_scheduled(LONG, voice, cap, interactive=True, stop=stop)
        first = next(stopped)
        if how == "closed":
            stopped.close()
        else:
            if how == "stop event":
                stop.set()
            heard = first.size + sum(chunk.size for chunk in stopped)
            assert heard < 20 * locked.model.mimi.frame_size  # it did stop, well short of 92 frames
        after = np.concatenate(list(locked.generate(SHORT, voice, options)))
        assert after.shape == alone.shape
        gap = float(np.abs(after - alone).max())  # pocket-tts groups queued frames by timing: ~1e-7
        assert gap <= 1e-5, (
            f"{how} (attempt {attempt}): the stopped stream moved the next by {gap:.1e}"
        )
