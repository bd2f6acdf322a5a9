"""``HiggsBackend``: Higgs Audio v2 voice cloning behind the common backend interface.

``natiq speak --backend higgs`` and the server reach Higgs through this
class. A voice is a reference clip plus its transcript (``VoicePrompt.text``);
there is no default voice, because Higgs cloning needs one. When a caller
passes only a clip (``natiq speak --voice ref.wav``), the transcript is read
from ``ref.txt`` beside it. The
``checkpoint`` option is an adapter dir from ``natiq higgs train`` (its
front-end settings and system prompt are used) or ``None`` for the base
model; ``system_prompt`` overrides the recorded prompt. A runaway generation
(the frame cap reached before the stream EOS) is logged as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from natiq.backends.base import SpeechBackend, SynthesisOptions, VoicePrompt
from natiq.backends.higgs.audio_codes import decode_codes
from natiq.backends.higgs.cloning import CloneOptions, HiggsCloner, Reference
from natiq.common.errors import AudioInputError, InputTextError

log = logging.getLogger(__name__)


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

    def __init__(self, cloner: HiggsCloner, defaults: CloneOptions | None = None) -> None:
        self.cloner = cloner
        self.defaults = defaults or CloneOptions()

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
        **_: Any,
    ) -> HiggsBackend:
        mode = quantize if isinstance(quantize, str) else ("8bit" if quantize else "none")
        cloner = HiggsCloner.load(
            model=model,
            adapter=checkpoint,
            audio_tokenizer=audio_tokenizer,
            device=device,
            quantize=mode,
            system_prompt=system_prompt,
        )
        return cls(cloner)

    @property
    def sample_rate(self) -> int:
        return self.cloner.sample_rate

    @property
    def frontend(self) -> Any:
        return self.cloner.frontend

    def prepare_voice(self, prompt: VoicePrompt | None) -> Reference:
        if prompt is None:
            raise AudioInputError(
                "Higgs has no default voice: give a reference clip and its transcript"
            )
        text = prompt.text if prompt.text is not None else reference_transcript(Path(prompt.audio))
        return self.cloner.prepare_reference(
            prompt.audio, text, max_seconds=self.defaults.max_ref_seconds
        )

    def _options(self, options: SynthesisOptions | None) -> CloneOptions:
        base = self.defaults
        if options is None:
            return base
        max_new = (
            options.max_new_frames if options.max_new_frames is not None else base.max_new_tokens
        )
        return CloneOptions(
            temperature=options.temperature
            if options.temperature is not None
            else base.temperature,
            top_p=options.top_p if options.top_p is not None else base.top_p,
            top_k=options.top_k if options.top_k is not None else base.top_k,
            max_new_tokens=max_new,
            ras_window=base.ras_window,
            ras_max_repeats=base.ras_max_repeats,
            seed=options.seed if options.seed is not None else base.seed,
            max_ref_seconds=base.max_ref_seconds,
        )

    def stream(
        self, model_text: str, voice: Any, options: SynthesisOptions | None = None
    ) -> Iterator[np.ndarray]:
        settings = self._options(options)
        generated = self.cloner.generate_codes(voice, model_text, settings)
        if not generated.stopped:
            log.warning(
                "Higgs generation hit its cap of %d frames without the stream EOS (runaway)",
                settings.max_new_tokens,
            )
        audio = decode_codes(self.cloner.audio_tokenizer, generated.codes)
        if audio.size:
            yield audio.astype(np.float32, copy=False)
