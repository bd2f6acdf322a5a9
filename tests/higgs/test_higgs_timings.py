"""Word timings of Higgs Audio v2 output (the tiny random model): one per word,
ordered, inside the audio (the same checks as tests/speak/test_speak_timings.py)."""

from __future__ import annotations

from pathlib import Path

from natiq.backends.base import SynthesisOptions, VoicePrompt
from support.alignment import shared_aligner

TEXT = "ذهب الطالب إلى المكتبة. ثم عاد إلى البيت!"
WORDS = ["ذهب", "الطالب", "إلى", "المكتبة", "ثم", "عاد", "إلى", "البيت"]


def test_higgs_audio_gets_ordered_timings_inside_it(
    tiny_model_dir: Path, speech_dir: Path, tmp_path_factory
) -> None:
    from natiq.synthesizer import Synthesizer

    aligner = shared_aligner(tmp_path_factory)
    synth = Synthesizer.load("higgs", model=str(tiny_model_dir), device="cpu")
    sentences: list = []
    result = synth.speak(
        TEXT,
        voice=VoicePrompt(audio=speech_dir / "ref1.wav", text="مرحبا"),
        options=SynthesisOptions(temperature=0.0, max_seconds=0.6),
        speed=1.25,
        on_sentence=sentences.append,
    )
    per_sentence = [aligner.sentence_timings(s) for s in sentences]
    words = [w for timings in per_sentence for w in timings]
    assert [w.text for w in words] == WORDS
    times = [t for w in words for t in (w.start, w.end)]
    assert times == sorted(times)
    assert times[0] >= 0.0 and times[-1] <= result.audio.size / result.sample_rate + 1e-9
    for segment, timings in zip(sentences, per_sentence, strict=True):
        assert segment.start_s <= timings[0].start
        assert timings[-1].end <= segment.start_s + segment.duration_s + 1e-9
