"""Word timings of real generated audio and ``natiq speak --timings`` (Higgs: tests/higgs).

The tiny random models do not say the words (their audio is noise-like), so
what is pinned here is what must hold for any audio: one timing per word the
user wrote, in order, never overlapping, inside the sentence that says it and
inside the whole output, at any speed. Accuracy against known boundaries is
tests/eval/test_eval_alignment.py.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import soundfile as sf
from typer.testing import CliRunner

from natiq.backends.base import SynthesisOptions
from support.alignment import natiq_cache, shared_aligner

TEXT = "ذهب الطالب إلى المكتبة، وقرأ 3 كتب. ثم عاد إلى البيت!"
WORDS = ["ذهب", "الطالب", "إلى", "المكتبة", "وقرأ", "3", "كتب", "ثم", "عاد", "إلى", "البيت"]


@pytest.fixture(scope="module")
def aligner(tmp_path_factory):
    return shared_aligner(tmp_path_factory)


def check_timings(words: list, sentences: list, audio_s: float) -> None:
    assert [word.text for word in words] == WORDS
    times = [t for word in words for t in (word.start, word.end)]
    assert times == sorted(times)  # monotonic, and no word overlaps the next
    assert times[0] >= 0.0 and times[-1] <= audio_s + 1e-9
    first, second = sentences
    assert all(
        first.start_s <= w.start and w.end <= first.start_s + first.duration_s for w in words[:7]
    )
    assert all(
        second.start_s <= w.start and w.end <= second.start_s + second.duration_s for w in words[7:]
    )
    assert words[7].start >= words[6].end  # the second sentence after the first


def test_pocket_audio_gets_ordered_timings_inside_it(synth, voice_wav, aligner) -> None:
    speed = 1.5
    sentences: list = []
    result = synth.speak(
        TEXT,
        voice=voice_wav,
        options=SynthesisOptions(seed=1, max_seconds=1.0),
        speed=speed,
        on_sentence=sentences.append,
    )
    words = [w for s in sentences for w in aligner.sentence_timings(s)]
    check_timings(words, sentences, result.audio.size / result.sample_rate)
    assert [s.rate for s in sentences] == [speed, speed]
    # the same model audio, unstretched and at the start: every time is the
    # stretched sentence's start plus the unstretched time divided by the speed
    # (two runs of the model differ in the last float bits, and Whisper's
    # alignment of the tiny model's noise with them: the same audio is aligned here)
    for sentence in sentences:
        stretched = aligner.sentence_timings(sentence)
        plain = aligner.sentence_timings(dataclasses.replace(sentence, start_s=0.0, rate=1.0))
        expected = [
            min(sentence.start_s + t / speed, sentence.start_s + sentence.duration_s)
            for w in plain
            for t in (w.start, w.end)
        ]
        assert [t for w in stretched for t in (w.start, w.end)] == pytest.approx(expected, abs=1e-9)


def test_speak_writes_timings_beside_the_audio(
    tiny_yaml, voice_wav, tmp_path: Path, tmp_path_factory, monkeypatch
) -> None:
    from natiq.cli.main import app

    shared_aligner(tmp_path_factory)  # the packaged model is joined once per session
    monkeypatch.setenv("NATIQ_CACHE_DIR", str(natiq_cache(tmp_path_factory)))
    out, timings = tmp_path / "out.wav", tmp_path / "out.json"
    args = ["speak", "--text", TEXT, "--model", tiny_yaml, "--voice", voice_wav, "--output", out,
            "--seed", "0", "--max-seconds", "0.5", "--device", "cpu", "--speed", "2",
            "--timings", timings]  # fmt: skip
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    info = sf.info(str(out))
    record = json.loads(timings.read_text(encoding="utf-8"))
    assert record["duration"] == round(info.frames / info.samplerate, 3)
    assert [w["text"] for w in record["words"]] == WORDS
    assert {w["type"] for w in record["words"]} == {"word"}
    assert record["words"][-1]["end"] <= record["duration"]
    # two sentences of at most 0.5 s each at twice the speed, and the pause halved
    assert info.frames <= 2 * 6000 + 1800 + 1


def test_speak_batch_writes_timings_per_line_with_its_own_speed(
    tiny_yaml, voice_wav, tmp_path: Path, aligner, monkeypatch
) -> None:
    from natiq.cli import speak as speak_cli
    from natiq.cli.main import app

    # the aligner the previous test loaded through the CLI, not loaded again
    monkeypatch.setattr(speak_cli, "load_aligner", lambda config: aligner)
    batch = tmp_path / "texts.jsonl"
    batch.write_text(
        json.dumps({"id": "slow", "text": "مرحبا بكم", "speed": 0.5}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "same", "text": "مرحبا بكم"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    args = ["speak", "--input-file", batch, "--output-dir", tmp_path / "out", "--model", tiny_yaml,
            "--voice", voice_wav, "--seed", "0", "--max-seconds", "0.4", "--device", "cpu",
            "--timings", tmp_path / "words"]  # fmt: skip
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    frames = {
        name: sf.info(str(tmp_path / "out" / f"{name}.wav")).frames for name in ("slow", "same")
    }
    assert frames["slow"] == 2 * frames["same"]  # both capped at 0.4 s by the model, then 0.5x
    for name in frames:
        record = json.loads((tmp_path / "words" / f"{name}.json").read_text(encoding="utf-8"))
        assert [w["text"] for w in record["words"]] == ["مرحبا", "بكم"]
        assert record["duration"] == round(frames[name] / 24000, 3)
