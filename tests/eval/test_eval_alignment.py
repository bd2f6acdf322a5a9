"""Word timings by forced alignment (``natiq.eval.alignment``).

Accuracy is measured on espeak-ng Arabic words spoken one at a time and
joined with known gaps, so every true boundary is known to the sample; the
mean boundary error must stay under 80 ms (measured: about 25 ms; Whisper's
cross-attention alone is about 180 ms, the silence snapping makes the
difference). Whatever the audio, timings are monotonic and inside it, and
they name the user's words, not their verbalization.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from natiq.data.audio import resample
from natiq.eval.alignment import group_spoken, original_words
from natiq.synthesizer import SentenceAudio
from natiq.text import TextFrontend
from support.alignment import shared_aligner

WORDS = [
    "ذهب",
    "الطالب",
    "إلى",
    "المكتبة",
    "صباحا",
    "ليقرأ",
    "كتابا",
    "جديدا",
    "عن",
    "تاريخ",
    "العلوم",
    "في",
    "بلاد",
    "العرب",
]


@pytest.fixture(scope="module")
def aligner(tmp_path_factory):
    return shared_aligner(tmp_path_factory)


def espeak_word(word: str) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", "ar", "--stdout", word], check=True, capture_output=True
    ).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    samples = resample(samples, rate, 16000)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1]


@pytest.fixture(scope="module")
def words_with_gaps() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The words one by one with gaps of 50-400 ms, and each word's true (start, end)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is required (apt-get install espeak-ng)")
    rng = np.random.default_rng(0)
    parts, truth, cursor = [np.zeros(4800, dtype=np.float32)], [], 4800
    for word in WORDS:
        clip = espeak_word(word)
        truth.append((cursor / 16000, (cursor + clip.size) / 16000))
        gap = np.zeros(int(rng.uniform(0.05, 0.4) * 16000), dtype=np.float32)
        parts += [clip, gap]
        cursor += clip.size + gap.size
    return np.concatenate(parts), truth


def test_word_boundaries_are_within_80_ms_on_average(aligner, words_with_gaps) -> None:
    audio, truth = words_with_gaps
    spans = aligner.align(audio, WORDS)
    errors = [
        abs(a - b)
        for span, true in zip(spans, truth, strict=True)
        for a, b in zip(span, true, strict=True)
    ]
    mean_error = float(np.mean(errors))
    print(f"mean word boundary error: {mean_error * 1000:.1f} ms over {len(errors)} boundaries")
    assert mean_error < 0.08
    assert max(errors) < 0.5


def test_timings_are_monotonic_inside_the_audio_and_never_overlap(aligner) -> None:
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(16000) * 0.1).astype(np.float32)  # nothing like speech
    spans = aligner.align(noise, WORDS[:6])
    assert len(spans) == 6
    flat = [t for span in spans for t in span]
    assert flat == sorted(flat)
    assert flat[0] >= 0.0 and flat[-1] <= 1.0


def test_the_words_are_the_users_own_even_when_read_out_differently(aligner) -> None:
    """A number spoken as two words is one timed word "25"; punctuation is not a word."""
    frontend = TextFrontend()
    prepared = frontend.prepare("اشترى أحمد 25 كتابا، ثم عاد.")
    assert "25" not in prepared.spoken  # verbalized
    parts = [espeak_word(word) for word in prepared.spoken.split()]
    gap = np.zeros(3200, dtype=np.float32)
    audio16 = np.concatenate([x for part in parts for x in (part, gap)])
    audio = resample(audio16, 16000, 24000)
    segment = SentenceAudio(prepared, start_s=1.5, audio=audio, sample_rate=24000, rate=2.0)
    timings = aligner.sentence_timings(segment)
    assert [t.text for t in timings] == ["اشترى", "أحمد", "25", "كتابا", "ثم", "عاد"]
    # in the output: after 1.5 s, and played at twice the speed
    assert timings[0].start >= 1.5
    assert timings[-1].end <= 1.5 + segment.duration_s + 1e-9
    starts = [t.start for t in timings]
    assert starts == sorted(starts)
    number = timings[2]
    spoken_words = prepared.spoken.split()
    assert len(spoken_words) > 6  # "25" became more than one word
    assert number.end - number.start > timings[1].end - timings[1].start  # it lasts longer
    assert timings[0].as_dict() == {
        "type": "word",
        "text": "اشترى",
        "start": round(timings[0].start, 3),
        "end": round(timings[0].end, 3),
    }


def test_original_words_drop_markup_and_end_punctuation() -> None:
    assert original_words("<speak>مرحبا، <break time='1s'/> بكم!</speak> — 3") == [
        "مرحبا",
        "بكم",
        "3",
    ]


@pytest.mark.parametrize(
    ("original", "spoken", "groups"),
    [
        (["ذهب", "5", "طلاب"], ["ذهب", "خمسة", "طلاب"], [[0], [1], [2]]),
        (["في", "2024"], ["في", "ألفين", "وأربعة", "وعشرين"], [[0], [1, 2, 3]]),
        (["أحمد", "ﷺ"], ["أحمد", "صلى", "الله", "عليه", "وسلم"], [[0], [1, 2, 3, 4]]),
        (["مَرْحَبًا", "بِكُم"], ["مرحبا", "بكم"], [[0], [1]]),  # diacritics do not matter
        (
            ["ا", "ب"],
            ["ا", "ب", "زائدة"],
            [[0], [1, 2]],
        ),  # an extra spoken word joins the one before
        (["—", "كلمة"], ["كلمة"], [[], [0]]),  # an unspoken word gets nothing
    ],
)
def test_spoken_words_are_grouped_under_the_original_words(original, spoken, groups) -> None:
    assert group_spoken(original, spoken) == groups
