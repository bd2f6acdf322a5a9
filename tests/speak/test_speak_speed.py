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
from natiq.data.tempo import change_tempo, stretch_available, stretched_length

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
    out = change_tempo(espeak_clip, speed, RATE)
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
def test_synthesizer_speed_stretches_each_sentence_and_its_pauses(synth, voice_wav) -> None:
    text = "ذهب الطالب إلى المكتبة. ثم عاد إلى البيت."
    options = SynthesisOptions(seed=3, max_seconds=0.8)
    normal: list = []
    synth.speak(text, voice=voice_wav, options=options, on_sentence=normal.append)
    heard: list = []
    chunks = list(
        synth.stream(text, voice=voice_wav, options=options, speed=2.0, on_sentence=heard.append)
    )
    said = [segment.audio for segment in heard]
    assert [a.size for a in said] == [segment.audio.size for segment in normal]
    assert [segment.rate for segment in heard] == [2.0, 2.0]
    # the output is exactly: each sentence faded out then stretched whole, the pause halved
    fade = round(synth.join.fade_s * RATE)

    def faded(audio: np.ndarray) -> np.ndarray:
        audio = audio.copy()
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        return audio

    pause = np.zeros(round(synth.join.pause_s / 2 * RATE), dtype=np.float32)
    expected = [
        change_tempo(faded(said[0]), 2.0, RATE),
        pause,
        change_tempo(faded(said[1]), 2.0, RATE),
    ]
    assert np.array_equal(np.concatenate(chunks), np.concatenate(expected))
    assert [chunk.size for chunk in chunks] == [part.size for part in expected]
    assert [part.size for part in expected[::2]] == [stretched_length(a.size, 2.0) for a in said]
    assert [segment.start_s for segment in heard] == [0.0, (expected[0].size + pause.size) / RATE]
    assert heard[1].duration_s == expected[2].size / RATE


@pytest.mark.parametrize("speed", [0.2, 4.5, float("nan"), True, "2"])
def test_a_speed_outside_the_range_fails_before_any_work(synth, speed) -> None:
    with pytest.raises(OptionError, match=r"speed must be .*from 0\.25 to 4\.0"):
        synth.speak("مرحبا", speed=speed)
