"""The server's audio formats: size, encoding speed and first-byte delay, in one run.

Why this exists: every OpenAI ``response_format`` is encoded while the model
speaks (``natiq.serve.audio_formats.Encoder``, PyAV's ffmpeg). This prints,
for 10 s of espeak-ng Arabic fed in 80 ms chunks (one Pocket frame each):

- ``KiB``: the size of the file;
- ``xRT``: seconds of audio encoded per second of wall time (best of 3);
- ``first``: how much audio was fed before the first bytes came out;
- ``ref KiB``, ``ref xRT``: the same audio written whole by libsndfile
  (``soundfile``), the reference, for the formats it writes (wav, flac, mp3
  at its default bit rate, Ogg Opus; it has no AAC).

    PYTHONPATH=src .venv/bin/python benchmarks/audio_formats.py
"""

from __future__ import annotations

import io
import subprocess
import time

import numpy as np

RATE = 24000
CHUNK = 1920  # 80 ms at 24 kHz
TEXT = "ذهب الطالب إلى المكتبة صباحا ليقرأ كتابا جديدا عن تاريخ العلوم في بلاد العرب"
SOUNDFILE = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "opus": ("OGG", "OPUS"),
}


def speech(seconds: float = 10.0) -> np.ndarray:
    import soundfile as sf

    from natiq.data.audio import resample

    wav = subprocess.run(
        ["espeak-ng", "-v", "ar", "--stdout", TEXT], check=True, capture_output=True
    ).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    samples = resample(samples, rate, RATE)
    return np.tile(samples, int(np.ceil(seconds * RATE / samples.size)))[: round(seconds * RATE)]


def natiq_encode(audio: np.ndarray, fmt: str) -> tuple[bytes, float]:
    """The streamed file and the seconds of audio fed before its first bytes."""
    from natiq.serve.audio_formats import Encoder

    encoder = Encoder(fmt, RATE)
    parts, first = [], None
    for start in range(0, audio.size, CHUNK):
        data = encoder.add(audio[start : start + CHUNK])
        if data and first is None:
            first = (start + CHUNK) / RATE
        parts.append(data)
    parts.append(encoder.finish())
    return b"".join(parts), first if first is not None else audio.size / RATE


def soundfile_encode(audio: np.ndarray, fmt: str) -> bytes:
    import soundfile as sf

    container, subtype = SOUNDFILE[fmt]
    out = io.BytesIO()
    sf.write(out, audio, RATE, format=container, subtype=subtype)
    return out.getvalue()


def best_time(work, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    from natiq.serve.audio_formats import available_formats

    audio = speech()
    seconds = audio.size / RATE
    print(
        f"{seconds:.0f} s of espeak-ng Arabic at {RATE} Hz, fed in {CHUNK / RATE * 1000:.0f} ms chunks"
    )
    print(f"{'format':<8}{'KiB':>8}{'xRT':>9}{'first':>9}{'ref KiB':>10}{'ref xRT':>10}")
    for fmt in available_formats():
        data, first = natiq_encode(audio, fmt)
        speed = seconds / best_time(lambda fmt=fmt: natiq_encode(audio, fmt))
        ref_size = ref_speed = "-"
        if fmt in SOUNDFILE:
            try:
                ref_size = f"{len(soundfile_encode(audio, fmt)) / 1024:.1f}"
                ref_speed = (
                    f"{seconds / best_time(lambda fmt=fmt: soundfile_encode(audio, fmt)):.0f}"
                )
            except Exception as exc:  # a libsndfile built without that codec
                ref_speed = f"({type(exc).__name__})"
        print(
            f"{fmt:<8}{len(data) / 1024:>8.1f}{speed:>9.0f}{first:>8.2f}s"
            f"{ref_size:>10}{ref_speed:>10}"
        )


if __name__ == "__main__":
    main()
