"""Audio processing of one utterance: resampling, checks, loudness and silence trimming."""

from __future__ import annotations

import numpy as np
import pytest

from natiq.data.audio import load_audio
from natiq.data.mini_corpus import MINI_CORPUS_DIR
from natiq.data.processing import AudioOptions, clipped_fraction, process_audio, rms_dbfs
from natiq.data.rejects import ItemRejected, Reason


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    return load_audio(MINI_CORPUS_DIR / "audio" / "spk1_000.wav")


def test_process_audio_resamples_to_target_rate(speech):
    samples, rate = speech
    out = process_audio(samples, rate, AudioOptions(sample_rate=24000))
    assert out.dtype == np.float32 and out.ndim == 1
    assert out.size == pytest.approx(samples.size * 24000 / rate, abs=2)


def test_stereo_input_is_downmixed(speech):
    samples, rate = speech
    stereo = np.stack([samples, samples], axis=1)
    out = process_audio(stereo, rate, AudioOptions(sample_rate=rate))
    np.testing.assert_allclose(out, samples, atol=1e-6)


@pytest.mark.parametrize(
    ("signal", "options", "reason"),
    [
        (np.zeros(32000), AudioOptions(), Reason.SILENT),
        (np.full(32000, 1e-5), AudioOptions(), Reason.SILENT),
        (np.sign(np.sin(np.arange(32000) * 0.01)), AudioOptions(), Reason.CLIPPED),
        (0.1 * np.sin(np.arange(3200) * 0.1), AudioOptions(min_duration=0.5), Reason.TOO_SHORT),
        (0.1 * np.sin(np.arange(160000) * 0.1), AudioOptions(max_duration=5.0), Reason.TOO_LONG),
        (np.array([0.1, np.nan] * 16000), AudioOptions(), Reason.UNREADABLE_AUDIO),
        (np.zeros(0), AudioOptions(), Reason.UNREADABLE_AUDIO),
    ],
    ids=["zeros", "near-silent", "clipped", "too-short", "too-long", "nan", "empty"],
)
def test_bad_audio_is_rejected_with_its_reason(signal, options, reason):
    with pytest.raises(ItemRejected) as caught:
        process_audio(signal, 16000, options)
    assert caught.value.reason == reason


def test_levels_are_measured_in_dbfs():
    assert rms_dbfs(np.full(100, 0.1)) == pytest.approx(-20.0)
    assert clipped_fraction(np.array([1.0, -1.0, 0.5, 0.0]), 0.999) == 0.5


def test_loudness_normalization_reaches_target(speech):
    import pyloudnorm

    samples, rate = speech
    out = process_audio(samples * 0.05, rate, AudioOptions(sample_rate=24000, loudness=-23.0))
    measured = pyloudnorm.Meter(24000).integrated_loudness(out.astype(np.float64))
    assert measured == pytest.approx(-23.0, abs=0.5)
    assert np.max(np.abs(out)) <= 0.98 + 1e-6


def test_trim_silence_removes_padding_but_keeps_speech(speech):
    samples, rate = speech
    rng = np.random.default_rng(0)
    pad = (rng.standard_normal(rate * 2) * 1e-4).astype(np.float32)
    padded = np.concatenate([pad, samples, pad])
    out = process_audio(padded, rate, AudioOptions(sample_rate=rate, trim_silence=True))
    speech_seconds = samples.size / rate
    assert out.size / rate < speech_seconds + 0.6
    assert out.size / rate > speech_seconds - 0.6


def test_trim_silence_rejects_noise_without_speech():
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(32000) * 0.01).astype(np.float32)
    with pytest.raises(ItemRejected) as caught:
        process_audio(noise, 16000, AudioOptions(sample_rate=16000, trim_silence=True))
    assert caught.value.reason == Reason.SILENT
