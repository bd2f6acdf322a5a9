"""The one interface every speech backend implements.

The CLI, the server and evaluation talk to a ``SpeechBackend`` and never to a
model class, so that Pocket TTS and Higgs Audio v2 are interchangeable. A
backend receives text that the natiq text front-end has already prepared with
the settings recorded in the model's checkpoint (``backend.frontend``), and
returns float32 mono audio at ``backend.sample_rate``.

This module must not import torch or any model library.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class VoicePrompt:
    """What a user gives to choose a voice.

    ``audio`` is a path to a reference clip (any rate, mono or stereo) or to an
    exported voice state (``.safetensors``, Pocket TTS); ``text`` is the
    transcript of the reference clip, which Higgs voice cloning needs and
    Pocket TTS ignores.
    """

    audio: Path
    text: str | None = None


@dataclass
class SynthesisOptions:
    """Sampling settings shared by all backends; ``None`` means the model's default."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_new_frames: int | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SpeechBackend(ABC):
    """A loaded speech model, ready to speak many times.

    Implementations load weights once in ``__init__`` (or a ``load`` classmethod)
    and keep per-voice state cached by ``prepare_voice``.
    """

    name: ClassVar[str]

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """Sample rate of the audio this backend returns."""

    @property
    @abstractmethod
    def frontend(self) -> Any:
        """The ``natiq.text.TextFrontend`` recorded with the model (never re-specified by hand)."""

    @abstractmethod
    def prepare_voice(self, prompt: VoicePrompt | None) -> Any:
        """Turn a voice prompt into the backend's reusable voice state.

        ``None`` selects the backend's default voice, if it has one. Raises
        ``natiq.common.errors.AudioInputError`` for unreadable or silent audio.
        """

    @abstractmethod
    def stream(
        self, model_text: str, voice: Any, options: SynthesisOptions | None = None
    ) -> Iterator[np.ndarray]:
        """Yield float32 mono chunks for one piece of already-prepared text."""

    def synthesize(
        self, model_text: str, voice: Any, options: SynthesisOptions | None = None
    ) -> np.ndarray:
        """Whole utterance at once (the chunks of ``stream`` joined)."""
        chunks = list(self.stream(model_text, voice, options))
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)
