"""Fixtures of the batched-generation tests: the tiny model, a voice state, stock references.

The reference of a stream is pocket-tts's own ``generate_audio_stream`` on
the same model object, seeded with ``torch.manual_seed(seed)``: what the
batched loop must reproduce for each of its rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def tiny_model(tiny_yaml: Path):
    """A fresh tiny model per test module (the loop relays its weights; a test may change its EOS)."""
    from natiq.backends.pocket.tiny import load_tiny_tts

    logging.getLogger("pocket_tts").setLevel(logging.ERROR)
    return load_tiny_tts(tiny_yaml, eos_threshold=float("inf"))


@pytest.fixture(scope="module")
def voice(tiny_model):
    """A voice state from a deterministic clip (a second of harmonics)."""
    t = torch.arange(24000) / 24000
    clip = sum(torch.sin(2 * torch.pi * 150 * k * t) / k for k in range(1, 6)) * 0.1
    return tiny_model.get_state_for_audio_prompt(clip[None].float())


@pytest.fixture(scope="module")
def stock(tiny_model, voice):
    """``stock(text, seed)``: pocket-tts's own stream for ``text``, seeded as the stock path is."""

    def run(text: str, seed: int, model=None) -> np.ndarray:
        model = model or tiny_model
        torch.manual_seed(seed)
        chunks = model.generate_audio_stream(voice, text, copy_state=True)
        return torch.cat(list(chunks)).numpy()

    return run


@pytest.fixture
def make_loop():
    """``make_loop(model, max_batch)``: a ``BatchedGeneration`` whose threads end with the test.

    Two decoder threads unless told (the default follows the machine's cores):
    the tests move rows between and within both decoders' shares.
    """
    from natiq.backends.pocket.batched import BatchedGeneration

    loops = []

    def make(model, max_batch: int, decoder_threads: int = 2):
        loops.append(BatchedGeneration(model, max_batch=max_batch, decoder_threads=decoder_threads))
        return loops[-1]

    yield make
    for loop in loops:  # stops its streams (they get an error) and joins its threads
        loop.close()
