"""Encoding float32 mono audio into the formats the API offers.

``wav`` and ``pcm`` (raw 16-bit little-endian) are streamed chunk by chunk as
the model produces them; a streamed wav header carries the "unknown length"
size 0xFFFFFFFF, which players and libsndfile read to the end of the stream.
``flac`` and ``mp3`` need the whole signal and are sent once it is done;
``mp3`` is offered only when the installed libsndfile can encode it.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf

MEDIA_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac", "mp3": "audio/mpeg"}
STREAMABLE = frozenset({"wav", "pcm"})
_UNKNOWN_SIZE = 0xFFFFFFFF


def available_formats() -> tuple[str, ...]:
    formats = ["wav", "pcm", "flac"]
    if "MP3" in sf.available_formats():
        formats.append("mp3")
    return tuple(formats)


def pcm16(samples: np.ndarray) -> bytes:
    """Clip to [-1, 1] and convert to 16-bit little-endian PCM bytes."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return (clipped * 32767.0).round().astype("<i2").tobytes()


def wav_header(sample_rate: int, num_samples: int | None = None) -> bytes:
    """A 44-byte PCM16 mono header; ``num_samples=None`` writes the streaming "unknown length"."""
    if num_samples is None:
        riff_size = data_size = _UNKNOWN_SIZE
    else:
        data_size = num_samples * 2
        riff_size = 36 + data_size
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (
        struct.pack("<4sI4s", b"RIFF", riff_size, b"WAVE")
        + fmt
        + struct.pack("<4sI", b"data", data_size)
    )


def encode(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """The whole signal as one file in ``fmt`` (wav with exact sizes)."""
    if fmt == "pcm":
        return pcm16(samples)
    if fmt == "wav":
        data = pcm16(samples)
        return wav_header(sample_rate, len(data) // 2) + data
    if fmt not in available_formats():
        raise ValueError(f"unsupported audio format {fmt!r}")
    buffer = io.BytesIO()
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    sf.write(buffer, clipped, sample_rate, format=fmt.upper())
    return buffer.getvalue()
