"""Speaker similarity: cosine between embeddings of generated and reference audio.

The default encoder is resemblyzer (GE2E d-vectors, weights inside the wheel,
runs offline). A WavLM x-vector model (``WavLMForXVector``, e.g. a local copy
of ``microsoft/wavlm-base-plus-sv``) can be chosen with ``wavlm:<dir or id>``;
it is loaded from disk only when Hugging Face is offline, and a missing model
is a clear error, never a silent switch to another encoder.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from natiq.common.errors import AudioInputError, ModelLoadError

SPEAKER_SAMPLE_RATE = 16000
DEFAULT_SPEAKER_MODEL = "resemblyzer"
WAVLM_PREFIX = "wavlm:"


class SpeakerEncoder(Protocol):
    """Anything that maps 16 kHz mono audio to a fixed-size embedding."""

    name: str

    def embed(self, samples: np.ndarray) -> np.ndarray: ...


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two embeddings, in [-1, 1]."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0.0:
        raise AudioInputError("cannot compare a zero speaker embedding (silent audio?)")
    return float(np.dot(a, b) / norm)


class ResemblyzerEncoder:
    """resemblyzer's VoiceEncoder with its own preprocessing (volume, long silences trimmed)."""

    name = "resemblyzer"

    def __init__(self, device: str = "cpu") -> None:
        from resemblyzer import VoiceEncoder

        self._encoder = VoiceEncoder(device=device, verbose=False)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        from resemblyzer import preprocess_wav

        wav = preprocess_wav(np.asarray(samples, dtype=np.float32))
        if wav.size < SPEAKER_SAMPLE_RATE // 10:
            raise AudioInputError("too little voiced audio for a speaker embedding (under 0.1 s)")
        return self._encoder.embed_utterance(wav)


class WavLMXVectorEncoder:
    """A transformers ``WavLMForXVector`` checkpoint (local folder or cached hub id)."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        import torch
        from transformers import AutoFeatureExtractor, WavLMForXVector

        from natiq.common.hub import fail_fast_when_offline, resolve_model_reference

        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        source = str(resolve_model_reference(model))  # hf://owner/repo -> cached snapshot
        try:
            local = Path(source).is_dir()
            with contextlib.nullcontext() if local else fail_fast_when_offline():
                self._extractor = AutoFeatureExtractor.from_pretrained(
                    source, local_files_only=offline
                )
                self._model = WavLMForXVector.from_pretrained(source, local_files_only=offline)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"cannot load the WavLM speaker model {model!r} ({exc}). Download it first "
                f"(e.g. huggingface-cli download microsoft/wavlm-base-plus-sv) and pass "
                f"--speaker-model wavlm:<its folder>, or use --speaker-model resemblyzer"
            ) from None
        self._device = torch.device(device)
        self._model.to(self._device).eval()
        self.name = f"{WAVLM_PREFIX}{model}"

    def embed(self, samples: np.ndarray) -> np.ndarray:
        import torch

        inputs = self._extractor(
            np.asarray(samples, dtype=np.float32),
            sampling_rate=SPEAKER_SAMPLE_RATE,
            return_tensors="pt",
        )
        with torch.inference_mode():
            output = self._model(**{k: v.to(self._device) for k, v in inputs.items()})
        return output.embeddings[0].float().cpu().numpy()


def load_speaker_encoder(name: str = DEFAULT_SPEAKER_MODEL, device: str = "auto") -> SpeakerEncoder:
    """``resemblyzer`` or ``wavlm:<folder or hub id>``; anything else is a ModelLoadError."""
    if device == "auto":
        from natiq.common.runtime import select_device

        device = select_device("auto").type
    if name == "resemblyzer":
        return ResemblyzerEncoder(device=device)
    if name.startswith(WAVLM_PREFIX) and len(name) > len(WAVLM_PREFIX):
        return WavLMXVectorEncoder(name[len(WAVLM_PREFIX) :], device=device)
    if "ecapa" in name.lower():
        raise ModelLoadError(
            f"speaker model {name!r}: ECAPA-TDNN needs speechbrain, which natiq does not use; "
            f"pass --speaker-model wavlm:<folder> (a local WavLMForXVector) or resemblyzer"
        )
    raise ModelLoadError(
        f"unknown speaker model {name!r}: use 'resemblyzer' (offline default) or "
        f"'wavlm:<folder or hub id>' for a WavLMForXVector checkpoint available locally"
    )
