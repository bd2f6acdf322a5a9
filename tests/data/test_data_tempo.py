"""Speaking rate: the duration scales by 1/rate and the pitch stays."""

from __future__ import annotations

import numpy as np
import pytest

from natiq.data.tempo import change_tempo, stretch_available, stretched_length

RATE = 24000


def dominant_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.argmax(spectrum)) * RATE / audio.size


needs_rubberband = pytest.mark.skipif(
    not stretch_available(), reason="the Rubber Band tool is not installed (rubberband-cli)"
)


@needs_rubberband
@pytest.mark.parametrize("rate", [0.25, 0.5, 0.75, 1.5, 2.0, 4.0])
def test_the_duration_scales_by_one_over_the_rate_and_the_pitch_stays(rate: float) -> None:
    time = np.arange(2 * RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * time)).astype(np.float32)
    out = change_tempo(tone, rate, RATE)
    assert out.dtype == np.float32
    assert out.size / RATE == pytest.approx(2 / rate, rel=0.02)
    assert dominant_hz(out) == pytest.approx(220, rel=0.01)


def test_out_of_range_is_refused_and_nothing_stays_nothing() -> None:
    with pytest.raises(ValueError, match=r"from 0\.25 to 4\.0"):
        change_tempo(np.zeros(10, dtype=np.float32), 5.0, RATE)
    silence = np.zeros(0, dtype=np.float32)
    assert change_tempo(silence, 2.0, RATE).size == 0


@needs_rubberband
@pytest.mark.parametrize("samples", [1, 100, 2400, 24_000])
@pytest.mark.parametrize("rate", [0.25, 4.0])
def test_the_length_is_exact_even_for_tiny_clips(samples: int, rate: float) -> None:
    audio = np.random.default_rng(samples).standard_normal(samples).astype(np.float32) * 0.1
    assert change_tempo(audio, rate, RATE).size == stretched_length(samples, rate)
