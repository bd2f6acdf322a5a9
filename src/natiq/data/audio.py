"""Reading, resampling and writing audio, the same way everywhere.

All of natiq works on float32 mono numpy arrays. Reading goes through
soundfile, resampling through soxr (high quality), writing is atomic.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from natiq.common.errors import AudioInputError
from natiq.common.files import atomic_path


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average channels: ``(frames, channels)`` -> ``(frames,)``."""
    if samples.ndim == 1:
        return samples
    if samples.ndim == 2:
        return samples.mean(axis=1)
    raise AudioInputError(f"expected 1-D or 2-D audio, got shape {samples.shape}")


def resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (soxr 'HQ'); a no-op when the rates already match."""
    if orig_sr <= 0 or target_sr <= 0:
        raise AudioInputError(f"invalid sample rates {orig_sr} -> {target_sr}")
    samples = np.asarray(samples, dtype=np.float32)
    if orig_sr == target_sr:
        return samples
    return soxr.resample(samples, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def load_audio(
    path: str | os.PathLike[str], target_sr: int | None = None, *, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Read an audio file as float32, downmixed to mono and resampled if asked.

    Returns ``(samples, sample_rate)``. Raises ``AudioInputError`` naming the
    file when it is missing, unreadable or empty.
    """
    source = Path(path)
    if not source.is_file():
        raise AudioInputError(f"{source}: audio file not found")
    try:
        samples, sr = sf.read(str(source), dtype="float32", always_2d=False)
    except Exception as exc:  # soundfile raises several types for corrupt files
        raise AudioInputError(f"{source}: unreadable audio ({exc})") from None
    if mono:
        samples = to_mono(samples)
    if samples.size == 0:
        raise AudioInputError(f"{source}: the audio file is empty")
    if target_sr is not None and sr != target_sr:
        samples = resample(samples, sr, target_sr)
        sr = target_sr
    return np.ascontiguousarray(samples, dtype=np.float32), int(sr)


def save_wav(
    path: str | os.PathLike[str],
    samples: np.ndarray,
    sample_rate: int,
    *,
    subtype: str = "PCM_16",
    durable: bool = True,
) -> Path:
    """Write a mono wav atomically (16-bit PCM by default); returns the path.

    ``durable=False`` skips the fsync (see ``natiq.common.files.atomic_path``).
    """
    target = Path(path)
    data = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    with atomic_path(target, durable=durable) as tmp:
        sf.write(str(tmp), data, sample_rate, subtype=subtype, format="WAV")
    return target


def duration_seconds(path: str | os.PathLike[str]) -> float:
    """Duration from the file header, without decoding the samples."""
    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise AudioInputError(f"{path}: unreadable audio ({exc})") from None
    return info.frames / float(info.samplerate)
