"""``HiggsBackend``: Higgs Audio v2 voice cloning behind the common backend interface.

``natiq speak --backend higgs`` and the server reach Higgs through this
class. A voice is a reference clip plus its transcript (``VoicePrompt.text``).
When a caller passes only a clip (``natiq speak --voice ref.wav``), the
transcript is read from ``ref.txt`` beside it. A model folder that holds
``default_voice.wav`` (+ ``default_voice.txt``, written by a natiq recipe's
merge stage) speaks in that voice when none is given; other models have no
default voice, because Higgs cloning needs one. The
``checkpoint`` option is an adapter dir from ``natiq higgs train`` (its
front-end settings and system prompt are used) or ``None`` for the base
model; the ``system_prompt`` load option overrides the recorded prompt. A
runaway generation (the frame cap reached before the stream EOS) is logged
as a warning.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from natiq.backends.base import SpeechBackend, SynthesisOptions, VoicePrompt, max_samples
from natiq.backends.higgs.audio_codes import decode_codes
from natiq.backends.higgs.cloning import CloneOptions, HiggsCloner, Reference
from natiq.common.errors import AudioInputError, InputTextError

log = logging.getLogger(__name__)
# A model folder's default voice; its transcript is the sidecar default_voice.txt.
DEFAULT_VOICE_CLIP = "default_voice.wav"


def reference_transcript(audio: Path) -> str:
    """The transcript of a reference clip kept beside it as ``<clip>.txt`` (for ``--voice ref.wav``)."""
    sidecar = audio.with_suffix(".txt")
    if not sidecar.is_file():
        raise InputTextError(
            f"{audio}: Higgs cloning needs the reference transcript; pass it as the voice's text "
            f"or write it to {sidecar}"
        )
    return sidecar.read_text(encoding="utf-8").strip()


class HiggsBackend(SpeechBackend):
    name: ClassVar[str] = "higgs"
    load_options: ClassVar[tuple[str, ...]] = ("audio_tokenizer", "system_prompt")
    sampling_options: ClassVar[tuple[str, ...]] = (
        "temperature",
        "top_p",
        "top_k",
        "max_seconds",
        "seed",
    )

    def __init__(
        self,
        cloner: HiggsCloner,
        defaults: CloneOptions | None = None,
        *,
        default_voice: Path | None = None,
    ) -> None:
        self.cloner = cloner
        self.defaults = defaults or CloneOptions()
        self.default_voice = default_voice

    @classmethod
    def load(
        cls,
        *,
        model: str | None = None,
        checkpoint: str | Path | None = None,
        device: str = "auto",
        quantize: bool | str = False,
        audio_tokenizer: str | None = None,
        system_prompt: str | None = None,
    ) -> HiggsBackend:
        """The base model (or the one an adapter records) with the adapter ``checkpoint``.

        ``quantize``: ``True`` or ``"8bit"``, ``"4bit"`` (bitsandbytes, GPU) or off.
        ``system_prompt``: instead of the one recorded with the adapter.
        """
        mode = quantize if isinstance(quantize, str) else ("8bit" if quantize else "none")
        cloner = HiggsCloner.load(
            model=model,
            adapter=checkpoint,
            audio_tokenizer=audio_tokenizer,
            device=device,
            quantize=mode,
            system_prompt=system_prompt,
        )
        folder = Path(model) if model is not None else None
        default = folder / DEFAULT_VOICE_CLIP if folder is not None else None
        return cls(cloner, default_voice=default if default and default.is_file() else None)

    @property
    def sample_rate(self) -> int:
        return self.cloner.sample_rate

    @property
    def frontend(self) -> Any:
        return self.cloner.frontend

    def prepare_voice(self, prompt: VoicePrompt | None) -> Reference:
        if prompt is None:
            if self.default_voice is None:
                raise AudioInputError(
                    "Higgs has no default voice: give a reference clip and its transcript"
                )
            prompt = VoicePrompt(audio=self.default_voice)
        text = prompt.text if prompt.text is not None else reference_transcript(Path(prompt.audio))
        return self.cloner.prepare_reference(
            prompt.audio, text, max_seconds=self.defaults.max_ref_seconds
        )

    def _clone_options(self, options: SynthesisOptions) -> CloneOptions:
        """The cloner's settings: the defaults overridden by each option given."""
        base = self.defaults
        max_new_tokens = base.max_new_tokens
        if options.max_seconds is not None:
            max_new_tokens = self.tokens_for(options.max_seconds)
        return dataclasses.replace(
            base,
            temperature=base.temperature if options.temperature is None else options.temperature,
            top_p=base.top_p if options.top_p is None else options.top_p,
            top_k=base.top_k if options.top_k is None else options.top_k,
            seed=base.seed if options.seed is None else options.seed,
            max_new_tokens=max_new_tokens,
        )

    def tokens_for(self, seconds: float) -> int:
        """Generation steps that can produce ``seconds`` of audio.

        One step yields one frame of every codebook; the delay pattern adds
        one step per codebook after the first, plus the stream BOS and EOS.
        """
        frames = math.ceil(seconds * float(self.cloner.audio_tokenizer.config.frame_rate))
        return frames + self.cloner.ids.num_codebooks + 1

    def generate(
        self, model_text: str, voice: Any, options: SynthesisOptions
    ) -> Iterator[np.ndarray]:
        settings = self._clone_options(options)
        generated = self.cloner.generate_codes(voice, model_text, settings)
        if not generated.stopped:
            log.warning(
                "Higgs generation hit its cap of %d steps without the stream EOS (runaway)",
                settings.max_new_tokens,
            )
        audio = decode_codes(self.cloner.audio_tokenizer, generated.codes)
        limit = max_samples(options, self.sample_rate)
        if limit is not None:
            audio = audio[:limit]
        if audio.size:
            yield audio.astype(np.float32, copy=False)
