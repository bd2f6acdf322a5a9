"""Where speech ends and where an utterance pauses: measured once, at latent time.

Two rules of pocket-tts' training examples need them:

- a target ends ``trail_seconds`` (0.2 s) after the last speech, so the EOS
  position is learned from the end of the words, not from however much
  silence a recording happens to keep (the reference trims at the last aligned
  word; natiq has no aligner and uses silero-vad, falling back to frame energy);
- a voice prompt ends in a pause between words. natiq has no word alignment,
  so a pause is a run of quiet audio: 10 ms frames ``pause_db`` below the
  utterance's loud level (its 95th-percentile frame energy) lasting at least
  ``min_pause_seconds``. A prompt is the start of an utterance up to a Mimi
  frame boundary whose last ``min_pause_seconds`` are such a pause, after the
  first speech. The end of speech is one such pause.

Mimi's encoder is causal, so the latents of a prompt cut at a frame boundary
equal the first frames of the whole utterance's latents: a prompt sliced from
the stored latents *is* the prompt encoded on its own (``extract_latents``
checks this once per run). Pure numpy except the VAD model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from natiq.backends.pocket.recipe import SpeechTrimSettings

FRAME_SECONDS = 0.01
LOUD_PERCENTILE = 95.0
VAD_SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class SpeechMarks:
    """What one utterance's audio says about itself (seconds, and Mimi frame counts).

    ``duration``: the whole recording; ``speech_end``: end of the last speech;
    ``end``: where the training target stops (``speech_end + trail``, or the
    whole recording when trimming is off); ``prompt_cuts``: frame counts ``k``
    such that the first ``k`` Mimi frames end in a pause (sorted).
    """

    duration: float
    speech_end: float
    end: float
    prompt_cuts: tuple[int, ...]

    def to_record(self) -> dict[str, Any]:
        return {
            "duration": self.duration,
            "speech_end": self.speech_end,
            "end": self.end,
            "prompt_cuts": list(self.prompt_cuts),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> SpeechMarks:
        return cls(
            duration=float(data["duration"]),
            speech_end=float(data["speech_end"]),
            end=float(data["end"]),
            prompt_cuts=tuple(int(k) for k in data["prompt_cuts"]),
        )


def frame_levels(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Energy in dB of consecutive 10 ms frames (a last partial frame is dropped)."""
    hop = max(1, round(sample_rate * FRAME_SECONDS))
    count = len(samples) // hop
    if count == 0:
        return np.zeros(0)
    frames = np.asarray(samples[: count * hop], dtype=np.float64).reshape(count, hop)
    return 10.0 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)


def quiet_frames(samples: np.ndarray, sample_rate: int, pause_db: float) -> np.ndarray:
    """Boolean per 10 ms frame: ``pause_db`` below the utterance's loud level."""
    levels = frame_levels(samples, sample_rate)
    if levels.size == 0:
        return np.zeros(0, dtype=bool)
    loud = float(np.percentile(levels, LOUD_PERCENTILE))
    return levels < loud + pause_db


def vad_speech_end(samples: np.ndarray, sample_rate: int) -> float | None:
    """End (seconds) of the last speech silero-vad finds, or None when it finds none."""
    import torch
    from silero_vad import get_speech_timestamps

    from natiq.data.audio import resample

    audio = resample(np.asarray(samples, dtype=np.float32), sample_rate, VAD_SAMPLE_RATE)
    with torch.inference_mode():
        stamps = get_speech_timestamps(
            torch.from_numpy(np.ascontiguousarray(audio)),
            _vad_model(),
            sampling_rate=VAD_SAMPLE_RATE,
            speech_pad_ms=0,
            return_seconds=True,
        )
    return float(stamps[-1]["end"]) if stamps else None


def analyze(
    samples: np.ndarray,
    sample_rate: int,
    settings: SpeechTrimSettings,
    *,
    frame_samples: int,
) -> SpeechMarks:
    """Speech end, target end and prompt cut points of one utterance (see the module docstring).

    ``frame_samples``: samples per Mimi frame at ``sample_rate`` (1920 at 24 kHz).
    """
    duration = len(samples) / sample_rate
    quiet = quiet_frames(samples, sample_rate, settings.pause_db)
    loud_idx = np.flatnonzero(~quiet)
    energy_end = (loud_idx[-1] + 1) * FRAME_SECONDS if loud_idx.size else duration
    speech_end = vad_speech_end(samples, sample_rate)
    if speech_end is None:
        speech_end = energy_end
    # silero's windows are 32 ms: never let its end fall inside the last loud frames
    speech_end = min(duration, max(speech_end, energy_end))
    end = min(duration, speech_end + settings.trail_seconds)
    if not settings.trim_trailing_silence:
        end = duration
    cuts = _pause_cuts(quiet, loud_idx, settings, sample_rate, frame_samples, end)
    return SpeechMarks(duration=duration, speech_end=speech_end, end=end, prompt_cuts=cuts)


def _pause_cuts(
    quiet: np.ndarray,
    loud_idx: np.ndarray,
    settings: SpeechTrimSettings,
    sample_rate: int,
    frame_samples: int,
    end: float,
) -> tuple[int, ...]:
    if loud_idx.size == 0:
        return ()
    first_loud = int(loud_idx[0])
    tail = max(1, round(settings.min_pause_seconds / FRAME_SECONDS))
    last_frame = int(end * sample_rate) // frame_samples
    cuts = []
    for k in range(1, last_frame + 1):
        boundary = k * frame_samples / sample_rate  # seconds
        stop = int(boundary / FRAME_SECONDS + 1e-6)  # 10 ms frames wholly before the boundary
        start = stop - tail
        if start <= first_loud or stop > quiet.size:
            continue
        if bool(quiet[start:stop].all()):
            cuts.append(k)
    return tuple(cuts)


@functools.lru_cache(maxsize=1)
def _vad_model() -> Any:
    from silero_vad import load_silero_vad

    return load_silero_vad()
