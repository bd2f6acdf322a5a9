"""Speed: the tempo changes by the factor asked for and the pitch stays.

The acceptance figures are checked on real speech (espeak-ng Arabic): the
duration scales by 1/speed within 5% and the median F0 moves by less than 5%
at 0.5, 1.5 and 2.0. The Synthesizer's arithmetic is pinned exactly: every
sentence lasts ``round(n / speed)`` samples, pauses shrink by the same factor,
the streamed chunks add up to ``speak``'s waveform, and each sentence's
``start_s`` is where it begins in the output.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from natiq.backends.base import SynthesisOptions
from natiq.common.errors import OptionError
from natiq.data.tempo import stretch_available, stretched_length, time_stretch

RATE = 24000
needs_rubberband = pytest.mark.skipif(
    not stretch_available(), reason="the Rubber Band tool is not installed (rubberband-cli)"
)


@pytest.fixture(scope="module")
def espeak_clip() -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is required (apt-get install espeak-ng)")
    wav = subprocess.run(
        ["espeak-ng", "-v", "ar", "--stdout", "ذهب الطالب إلى المكتبة صباحا ليقرأ كتابا"],
        check=True,
        capture_output=True,
    ).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    from natiq.data.audio import resample

    return resample(samples, rate, RATE)


def median_f0(audio: np.ndarray) -> float:
    """Median YIN F0 over the loud frames (voiced speech), in Hz."""
    import librosa

    frame, hop = 1024, 256
    f0 = librosa.yin(audio, fmin=60, fmax=400, sr=RATE, frame_length=frame, hop_length=hop)
    rms = librosa.feature.rms(y=audio, frame_length=frame, hop_length=hop)[0]
    loud = rms > rms.max() * 10 ** (-20 / 20)
    return float(np.median(f0[: loud.size][loud[: f0.size]]))


@needs_rubberband
@pytest.mark.parametrize("speed", [0.5, 1.5, 2.0])
def test_speed_scales_duration_and_keeps_pitch(espeak_clip: np.ndarray, speed: float) -> None:
    out = time_stretch(espeak_clip, RATE, speed)
    assert abs(out.size / (espeak_clip.size / speed) - 1) < 0.05
    # and the speech is there, not padding: the loud part scales as well
    loud_in = np.flatnonzero(np.abs(espeak_clip) > 0.05)
    loud_out = np.flatnonzero(np.abs(out) > 0.05)
    span_ratio = (loud_out[-1] - loud_out[0]) / (loud_in[-1] - loud_in[0])
    assert abs(span_ratio * speed - 1) < 0.05
    base = median_f0(espeak_clip)
    assert 80 < base < 200  # espeak-ng's Arabic male voice
    assert abs(median_f0(out) / base - 1) < 0.05


@needs_rubberband
@pytest.mark.parametrize("samples", [1, 100, 2400, 24_000])
@pytest.mark.parametrize("speed", [0.25, 4.0])
def test_output_length_is_exact_even_for_tiny_clips(samples: int, speed: float) -> None:
    audio = np.random.default_rng(samples).standard_normal(samples).astype(np.float32) * 0.1
    assert time_stretch(audio, RATE, speed).size == stretched_length(samples, speed)


@pytest.mark.parametrize("speed", [0.2, 4.5, float("nan"), float("inf"), True, "2"])
def test_speed_outside_the_range_is_an_option_error(speed) -> None:
    with pytest.raises(OptionError, match="speed"):
        time_stretch(np.zeros(10, dtype=np.float32), RATE, speed)


def test_speed_one_returns_the_samples_unchanged() -> None:
    audio = np.linspace(-1, 1, 500, dtype=np.float32)
    assert np.array_equal(time_stretch(audio, RATE, 1.0), audio)


@needs_rubberband
def test_synthesizer_speed_stretches_each_sentence_and_its_pauses(synth, voice_wav) -> None:
    text = "ذهب الطالب إلى المكتبة. ثم عاد إلى البيت."
    options = SynthesisOptions(seed=3, max_seconds=0.8)
    heard: dict[float, list] = {1.0: [], 2.0: []}
    normal = synth.speak(text, voice=voice_wav, options=options, on_sentence=heard[1.0].append)
    fast = synth.speak(
        text, voice=voice_wav, options=options, speed=2.0, on_sentence=heard[2.0].append
    )
    said = [segment.audio.size for segment in heard[1.0]]
    assert [segment.audio.size for segment in heard[2.0]] == said  # the model said the same
    pause = round(synth.join.pause_s * RATE)
    assert normal.audio.size == sum(said) + pause
    assert fast.audio.size == sum(stretched_length(n, 2.0) for n in said) + round(pause / 2)
    starts = [segment.start_s for segment in heard[2.0]]
    assert starts == [0.0, (stretched_length(said[0], 2.0) + round(pause / 2)) / RATE]
    assert heard[2.0][1].duration_s == pytest.approx(stretched_length(said[1], 2.0) / RATE, abs=1e-4)
    streamed = list(synth.stream(text, voice=voice_wav, options=options, speed=2.0))
    assert np.array_equal(np.concatenate(streamed), fast.audio)
    # each sentence is stretched whole: its body, then its 10 ms fade-out; the pause between
    assert len(streamed) == 5


def test_unknown_speed_fails_before_any_work(synth) -> None:
    with pytest.raises(OptionError, match="speed"):
        synth.speak("مرحبا", speed=8.0)
