"""The one interface every speech backend implements.

The CLI, the server and evaluation talk to a ``SpeechBackend`` and never to a
model class, so that Pocket TTS and Higgs Audio v2 are interchangeable. A
backend receives text that the natiq text front-end has already prepared with
the settings recorded in the model's checkpoint (``backend.frontend``), and
returns float32 mono audio at ``backend.sample_rate``.

What differs between backends is declared, not hidden: each names the extra
keywords its ``load`` takes (``load_options``) and the ``SynthesisOptions``
it honours (``sampling_options``). Both are checked here, once, for every
backend, so an option a backend would ignore is an ``OptionError``
with the same wording whichever backend it is. Lengths are in seconds of
audio (``max_seconds``), never in a model's frames (12.5 per second for
Pocket latents, 25 for Higgs codes).

This module must not import torch or any model library.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from natiq.common.errors import OptionError

# The keywords every backend's ``load`` takes; anything else is a declared load option.
COMMON_LOAD_OPTIONS = ("model", "checkpoint", "device", "quantize")


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


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-call sampling settings; ``None`` means the model's default.

    ``max_seconds`` caps the audio generated for one piece of text (the
    ``Synthesizer`` passes one sentence at a time): a guard against a model
    that does not stop. A backend that does not honour a set option refuses it
    (``SpeechBackend.check_options``).
    """

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_seconds: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.temperature is not None and not (
            math.isfinite(self.temperature) and self.temperature >= 0
        ):
            problems.append(f"temperature must be a finite number >= 0, got {self.temperature}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            problems.append(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k is not None and self.top_k < 1:
            problems.append(f"top_k must be at least 1, got {self.top_k}")
        if self.max_seconds is not None and not (
            math.isfinite(self.max_seconds) and self.max_seconds > 0
        ):
            problems.append(f"max_seconds must be a positive number, got {self.max_seconds}")
        if problems:
            raise OptionError("; ".join(problems))

    def given(self) -> tuple[str, ...]:
        """The names of the options that are set."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)


class SpeechBackend(ABC):
    """A loaded speech model, ready to speak many times.

    ``load`` loads the weights once; ``prepare_voice`` turns a prompt into a
    reusable voice state; ``stream`` checks the options and yields audio
    produced by the backend's ``generate``.
    """

    name: ClassVar[str]
    # keywords of ``load`` beyond COMMON_LOAD_OPTIONS
    load_options: ClassVar[tuple[str, ...]] = ()
    # the SynthesisOptions fields this backend honours
    sampling_options: ClassVar[tuple[str, ...]] = ()

    @classmethod
    @abstractmethod
    def load(
        cls,
        *,
        model: str | None = None,
        checkpoint: str | Path | None = None,
        device: str = "auto",
        quantize: bool = False,
        **options: Any,
    ) -> Self:
        """Load a base model (``model``: a name, config path or hub id) or a natiq
        ``checkpoint`` on ``device`` ("auto", "cpu", "cuda"); ``options`` are the
        backend's ``load_options``."""

    @classmethod
    def check_load_options(cls, options: Mapping[str, Any]) -> None:
        """Raise ``OptionError`` for a ``load`` keyword this backend does not declare."""
        unknown = sorted(set(options) - set(COMMON_LOAD_OPTIONS) - set(cls.load_options))
        if unknown:
            takes = ", ".join(cls.load_options) or "none"
            raise OptionError(
                f"the {cls.name} backend has no load option(s) {', '.join(unknown)} "
                f"(its own options: {takes})"
            )

    @classmethod
    def check_options(cls, options: SynthesisOptions | None) -> SynthesisOptions:
        """The options, or ``OptionError`` naming each one this backend would ignore."""
        options = options or SynthesisOptions()
        unsupported = [name for name in options.given() if name not in cls.sampling_options]
        if unsupported:
            raise OptionError(
                f"the {cls.name} backend does not support the sampling option(s) "
                f"{', '.join(unsupported)} (it supports: {', '.join(cls.sampling_options)})"
            )
        return options

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
    def generate(
        self, model_text: str, voice: Any, options: SynthesisOptions
    ) -> Iterator[np.ndarray]:
        """Yield float32 mono chunks for ``model_text``; ``options`` are already checked.

        At most ``max_seconds * sample_rate`` samples in all when ``max_seconds`` is set.
        """

    @property
    def max_batch(self) -> int:
        """Streams this loaded model generates together (a shared batched loop); 1: one at a time."""
        return 1

    def generate_scheduled(
        self,
        model_text: str,
        voice: Any,
        options: SynthesisOptions,
        *,
        interactive: bool,
        stop: threading.Event,
    ) -> Iterator[np.ndarray]:
        """``generate`` as one of several concurrent streams (a server's).

        A backend whose ``max_batch`` is above 1 lets ``interactive`` streams
        go before batch items itself, and ends the stream at its next frame
        once ``stop`` is set. The default is plain ``generate``: the caller
        gives such a backend one stream at a time.
        """
        return self.generate(model_text, voice, options)

    def stream(
        self, model_text: str, voice: Any, options: SynthesisOptions | None = None
    ) -> Iterator[np.ndarray]:
        """Float32 mono chunks for one piece of already-prepared text (options checked at the call)."""
        return self.generate(model_text, voice, self.check_options(options))

    def synthesize(
        self, model_text: str, voice: Any, options: SynthesisOptions | None = None
    ) -> np.ndarray:
        """Whole utterance at once (the chunks of ``stream`` joined)."""
        chunks = list(self.stream(model_text, voice, options))
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)


def max_samples(options: SynthesisOptions, sample_rate: int) -> int | None:
    """The sample cap of ``options.max_seconds`` at ``sample_rate`` (``None``: no cap)."""
    if options.max_seconds is None:
        return None
    return max(1, round(options.max_seconds * sample_rate))
