"""Encoding float32 mono audio into the formats the OpenAI speech API offers.

Every format is streamed: an ``Encoder`` takes the chunks as the model
produces them and hands back the bytes of one audio file as soon as the
format has them, so a player starts before the synthesis ends.

- ``pcm``: raw 16-bit little-endian samples; ``wav``: the same behind a
  44-byte header whose sizes are the "unknown length" 0xFFFFFFFF, which
  players and libsndfile read to the end of the stream.
- ``mp3`` (LAME), ``opus`` (libopus in Ogg, pages of at most 100 ms),
  ``aac`` (ffmpeg's AAC in ADTS frames) and ``flac``: encoded in-process by
  the ffmpeg libraries that PyAV ships (no system ffmpeg). A streamed FLAC
  header cannot know the length; ``encode`` (a whole file, e.g. a batch
  result) writes exact headers for every format.

Bit rates are for speech: 64 kbit/s mp3 and aac, 32 kbit/s opus (mono).
"""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np

MEDIA_TYPES = {
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
}
FORMATS = tuple(MEDIA_TYPES)
# format -> (PyAV container, codec, bit rate or None, container options)
_CODECS: dict[str, tuple[str, str, int | None, dict[str, str]]] = {
    "mp3": ("mp3", "libmp3lame", 64_000, {}),
    "opus": ("ogg", "libopus", 32_000, {"page_duration": "100000"}),  # microseconds
    "aac": ("adts", "aac", 64_000, {}),
    "flac": ("flac", "flac", None, {}),
}
_UNKNOWN_SIZE = 0xFFFFFFFF


def available_formats() -> tuple[str, ...]:
    """The formats this installation can encode (PyAV's ffmpeg must have each codec)."""
    import av

    found = ["wav", "pcm"]
    for fmt, (_container, codec, _rate, _options) in _CODECS.items():
        try:
            av.codec.Codec(codec, "w")
        except Exception:  # PyAV raises UnknownCodecError (a ValueError) or FFmpegError
            continue
        found.append(fmt)
    return tuple(sorted(found, key=FORMATS.index))


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


class _Collect:
    """A write-only (so not seekable) file for the muxer; ``take`` empties it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


class Encoder:
    """One audio file in ``fmt``, made incrementally: ``add`` chunks, then ``finish``.

    Each call returns the bytes that are ready; all of them in order are the
    file. Not thread-safe: one encoder per response.
    """

    def __init__(self, fmt: str, sample_rate: int, *, whole: bool = False) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown audio format {fmt!r}; formats: {', '.join(FORMATS)}")
        self.fmt = fmt
        self.sample_rate = sample_rate
        self._started = False
        self._container: Any = None
        if fmt in _CODECS:
            import av

            container, codec, bit_rate, options = _CODECS[fmt]
            # a seekable buffer lets the muxer go back and write exact headers
            self._sink: Any = io.BytesIO() if whole else _Collect()
            self._container = av.open(self._sink, mode="w", format=container, options=options)
            self._stream = self._container.add_stream(codec, rate=sample_rate, layout="mono")
            if bit_rate is not None:
                self._stream.bit_rate = bit_rate
            self._whole = whole

    def add(self, samples: np.ndarray) -> bytes:
        """Encode one chunk; returns the bytes ready so far (maybe none)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self._container is None:
            head = b""
            if self.fmt == "wav" and not self._started:
                head = wav_header(self.sample_rate)
            self._started = True
            return head + pcm16(samples)
        if samples.size:
            import av

            frame = av.AudioFrame.from_ndarray(
                np.clip(samples, -1.0, 1.0).reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = self.sample_rate
            self._mux(frame)
        return self._ready()

    def finish(self) -> bytes:
        """Flush the encoder and close the file; returns the last bytes."""
        if self._container is None:
            return b"" if self._started or self.fmt == "pcm" else wav_header(self.sample_rate)
        self._mux(None)
        self._container.close()
        if self._whole:
            return self._sink.getvalue()
        return self._sink.take()

    def _mux(self, frame: Any) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def _ready(self) -> bytes:
        return b"" if self._whole else self._sink.take()


def encode(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """The whole signal as one file in ``fmt``, with exact headers (wav sizes, flac length)."""
    if fmt == "pcm":
        return pcm16(samples)
    if fmt == "wav":
        data = pcm16(samples)
        return wav_header(sample_rate, len(data) // 2) + data
    encoder = Encoder(fmt, sample_rate, whole=True)
    encoder.add(samples)
    return encoder.finish()
