"""Turning one utterance's raw samples into training-ready audio, or rejecting it.

Steps, in order: mono float32, silence and clipping checks on the raw signal,
resampling to the target rate (soxr), optional silence trimming (silero-vad),
duration limits, optional loudness normalization (pyloudnorm, ITU-R BS.1770)
with a peak guard. A rejected utterance raises ``ItemRejected`` with a reason
from ``natiq.data.rejects``; nothing here writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from natiq.data.audio import resample, to_mono
from natiq.data.rejects import ItemRejected, Reason

VAD_SAMPLE_RATE = 16000
PEAK_LIMIT = 0.98


@dataclass(frozen=True)
class AudioOptions:
    """How ``prepare`` processes audio; every field is one CLI flag."""

    sample_rate: int = 24000
    min_duration: float = 0.5
    max_duration: float = 30.0
    loudness: float | None = None
    trim_silence: bool = False
    trim_padding: float = 0.1
    silence_dbfs: float = -60.0
    clip_level: float = 0.999
    max_clip_fraction: float = 0.001


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (-inf for digital silence)."""
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def clipped_fraction(samples: np.ndarray, level: float) -> float:
    """Fraction of samples at or beyond ``level`` of full scale."""
    if samples.size == 0:
        return 0.0
    return float(np.count_nonzero(np.abs(samples) >= level)) / samples.size


@cache
def _vad_model() -> Any:
    """Load silero-vad once per process (its weights ship inside the wheel)."""
    import torch
    from silero_vad import load_silero_vad

    torch.set_num_threads(1)
    return load_silero_vad()


def speech_span(samples: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
    """First and last speech sample found by silero-vad, or None when there is no speech."""
    import torch
    from silero_vad import get_speech_timestamps

    at_16k = resample(samples, sample_rate, VAD_SAMPLE_RATE)
    stamps = get_speech_timestamps(
        torch.from_numpy(at_16k), _vad_model(), sampling_rate=VAD_SAMPLE_RATE
    )
    if not stamps:
        return None
    scale = sample_rate / VAD_SAMPLE_RATE
    return int(stamps[0]["start"] * scale), int(np.ceil(stamps[-1]["end"] * scale))


def trim_to_speech(samples: np.ndarray, sample_rate: int, padding: float) -> np.ndarray:
    """Cut leading and trailing non-speech, keeping ``padding`` seconds around speech."""
    span = speech_span(samples, sample_rate)
    if span is None:
        raise ItemRejected(Reason.SILENT, "silero-vad found no speech")
    pad = round(padding * sample_rate)
    start, end = max(0, span[0] - pad), min(samples.size, span[1] + pad)
    return samples[start:end]


def normalize_loudness(samples: np.ndarray, sample_rate: int, target_lufs: float) -> np.ndarray:
    """Scale to ``target_lufs`` integrated loudness, then keep peaks under ``PEAK_LIMIT``."""
    import pyloudnorm

    meter = pyloudnorm.Meter(sample_rate)
    measured = meter.integrated_loudness(samples.astype(np.float64))
    if not np.isfinite(measured):
        raise ItemRejected(Reason.SILENT, "loudness cannot be measured (no signal above the gate)")
    gained = samples * np.float32(10.0 ** ((target_lufs - measured) / 20.0))
    peak = float(np.max(np.abs(gained)))
    if peak > PEAK_LIMIT:
        gained = gained * np.float32(PEAK_LIMIT / peak)
    return gained.astype(np.float32, copy=False)


def process_audio(samples: np.ndarray, sample_rate: int, options: AudioOptions) -> np.ndarray:
    """Return mono float32 samples at ``options.sample_rate``, or raise ``ItemRejected``."""
    try:
        mono = to_mono(np.asarray(samples)).astype(np.float32, copy=False)
    except Exception as exc:
        raise ItemRejected(Reason.UNREADABLE_AUDIO, str(exc)) from None
    if mono.size == 0:
        raise ItemRejected(Reason.UNREADABLE_AUDIO, "no samples")
    if not np.all(np.isfinite(mono)):
        raise ItemRejected(Reason.UNREADABLE_AUDIO, "samples contain NaN or infinity")
    level = rms_dbfs(mono)
    if level < options.silence_dbfs:
        raise ItemRejected(Reason.SILENT, f"level {level:.1f} dBFS < {options.silence_dbfs:g} dBFS")
    clipped = clipped_fraction(mono, options.clip_level)
    if clipped > options.max_clip_fraction:
        raise ItemRejected(
            Reason.CLIPPED,
            f"{clipped:.2%} of samples at full scale (limit {options.max_clip_fraction:.2%})",
        )
    audio = resample(mono, sample_rate, options.sample_rate)
    if options.trim_silence:
        audio = trim_to_speech(audio, options.sample_rate, options.trim_padding)
    duration = audio.size / options.sample_rate
    if duration < options.min_duration:
        raise ItemRejected(Reason.TOO_SHORT, f"{duration:.2f} s < {options.min_duration:g} s")
    if duration > options.max_duration:
        raise ItemRejected(Reason.TOO_LONG, f"{duration:.2f} s > {options.max_duration:g} s")
    if options.loudness is not None:
        audio = normalize_loudness(audio, options.sample_rate, options.loudness)
    return np.ascontiguousarray(audio, dtype=np.float32)
