"""Decoding what the server sends, with the same ffmpeg libraries a player uses (PyAV)."""

from __future__ import annotations

import io

import numpy as np


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Any container PyAV reads (wav, flac, mp3, Ogg Opus, ADTS AAC) -> float32 mono, rate."""
    import av

    parts, rate = [], 0
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            array = frame.to_ndarray()
            if array.dtype.kind == "i":
                array = array / float(np.iinfo(array.dtype).max)
            parts.append(array.astype(np.float32).mean(axis=0) if array.ndim == 2 else array)
    if not parts:
        return np.zeros(0, dtype=np.float32), rate
    # packed formats come as (1, samples * channels); mono here, so one row
    return np.concatenate([p.reshape(-1) for p in parts]), rate


def dominant_hz(audio: np.ndarray, rate: int) -> float:
    """The strongest frequency of ``audio`` (Hann window), in Hz."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.argmax(spectrum)) * rate / audio.size
