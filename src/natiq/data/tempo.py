"""Speaking rate: speech made slower or faster with its pitch kept.

The SSML ``<prosody rate>`` of a sentence is applied to the audio the model
made for it. ffmpeg's ``atempo`` filter (a WSOLA time-scale modification),
run in-process through PyAV (already a natiq dependency for audio formats),
changes the duration by ``1/rate`` without changing the pitch; one ``atempo``
takes rates from 0.5 to 100, so slower rates are a chain of them. On espeak-ng
speech the duration is within 1.2% of ``len / rate`` from 0.25x to 4x, in a few
milliseconds per second of audio.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

MIN_RATE, MAX_RATE = 0.25, 4.0
_ATEMPO_MIN = 0.5


def atempo_factors(rate: float) -> list[float]:
    """``rate`` as a chain of ``atempo`` factors, each within the filter's range."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"the rate must be from {MIN_RATE} to {MAX_RATE}, not {rate}")
    factors = []
    while rate < _ATEMPO_MIN:
        factors.append(_ATEMPO_MIN)
        rate /= _ATEMPO_MIN
    return [*factors, rate]


def change_tempo(audio: np.ndarray, rate: float, sample_rate: int) -> np.ndarray:
    """``audio`` (float32 mono) spoken ``rate`` times as fast, same pitch."""
    import av
    from av.filter import Graph

    samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1)
    if rate == 1.0 or samples.size == 0:
        return samples.reshape(-1).copy()
    graph = Graph()
    node = graph.add_abuffer(
        format="flt", sample_rate=sample_rate, layout="mono", time_base=Fraction(1, sample_rate)
    )
    for factor in atempo_factors(rate):
        following = graph.add("atempo", f"{factor:.6f}")
        node.link_to(following)
        node = following
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()
    frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
    frame.sample_rate = sample_rate
    frame.pts = 0
    frame.time_base = Fraction(1, sample_rate)
    graph.push(frame)
    graph.push(None)
    out = []
    while True:
        try:
            out.append(graph.pull().to_ndarray().reshape(-1))
        except (av.error.EOFError, av.error.BlockingIOError):
            break
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)
