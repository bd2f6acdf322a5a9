"""The default-voice rule: the training speaker's clean clip nearest to its mean embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from natiq.common.errors import DataFormatError
from natiq.data.manifest import UtteranceRecord, read_manifest
from natiq.data.mini_corpus import mini_corpus_manifest
from natiq.eval.voice_choice import (
    Candidate,
    VoiceChoiceConfig,
    candidate_clips,
    choose_voice_clip,
    nearest_to_mean,
    training_speaker,
)


def record(uid: str, speaker: str = "s", duration: float = 5.0, split: str = "train"):
    return UtteranceRecord(
        id=uid,
        audio=Path(f"/x/{uid}.wav"),
        text="نص",
        speaker=speaker,
        duration=duration,
        split=split,
    )


def test_nearest_to_mean_picks_the_most_typical_embedding_and_breaks_ties_by_id() -> None:
    scored = [
        (Candidate(record("c"), 5.0, 40.0), np.array([1.0, 0.0, 0.0])),
        (Candidate(record("a"), 5.0, 40.0), np.array([0.0, 1.0, 0.0])),
        (Candidate(record("b"), 5.0, 40.0), np.array([2.0, 2.0, 0.1])),  # between the two
    ]
    chosen, similarity = nearest_to_mean(scored)
    assert chosen.record.id == "b"
    units = [e / np.linalg.norm(e) for _, e in scored]
    mean = sum(units) / 3
    assert similarity == pytest.approx(float(units[2] @ mean / np.linalg.norm(mean)))
    assert similarity > max(float(u @ mean / np.linalg.norm(mean)) for u in units[:2])
    tie = [(Candidate(record(i), 5.0, 40.0), np.array([1.0, 0.0])) for i in ("z", "m")]
    assert nearest_to_mean(tie)[0].record.id == "m"


def test_the_speaker_is_the_one_with_most_train_clips() -> None:
    clips = [record("1", "b"), record("2", "b"), record("3", "a"), record("4", "a")]
    assert training_speaker(clips) == "a"  # a tie goes to the first name
    assert training_speaker([*clips, record("5", "b")]) == "b"
    assert training_speaker(clips, "b") == "b"
    with pytest.raises(DataFormatError, match="speaker 'c' has no training clip"):
        training_speaker(clips, "c")


def test_candidates_are_the_speakers_train_clips_within_the_duration_range() -> None:
    clips = [
        record("short", duration=1.0),
        record("ok1", duration=4.0),
        record("ok2", duration=11.0),
        record("long", duration=20.0),
        record("val", duration=5.0, split="val"),
        record("other", speaker="t", duration=5.0),
    ]
    speaker, found, notes = candidate_clips(clips, VoiceChoiceConfig())
    assert speaker == "s" and notes == []
    assert sorted(r.id for r, _ in found) == ["ok1", "ok2"]
    limited = candidate_clips(clips, VoiceChoiceConfig(max_candidates=1))[1]
    assert len(limited) == 1 and limited == found[:1]  # a fixed (hash) order, not file order
    _, relaxed, notes = candidate_clips(clips, VoiceChoiceConfig(min_seconds=30, max_seconds=40))
    assert len(relaxed) == 4 and "all its clips were candidates" in notes[0]


def test_a_noisy_clip_is_never_the_default_voice(tmp_path: Path) -> None:
    speaker = [r for r in read_manifest(mini_corpus_manifest()) if r.speaker == "spk1"][:5]
    samples, rate = sf.read(str(speaker[0].audio), dtype="float32")
    noise = np.random.default_rng(0).normal(0, 0.3, samples.size).astype(np.float32)
    noisy_path = tmp_path / "noisy.wav"
    sf.write(str(noisy_path), np.clip(samples + noise, -1, 1), rate)
    noisy = speaker[0].model_copy(update={"id": "spk1_noisy", "audio": noisy_path})
    config = VoiceChoiceConfig(min_seconds=0.5, min_snr_db=20.0)
    choice = choose_voice_clip([*speaker, noisy], config)
    assert (choice.speaker, choice.candidates, choice.clean) == ("spk1", 6, 5)
    assert choice.record.id != "spk1_noisy" and choice.snr_db >= 20.0
    assert 0.5 < choice.similarity_to_mean <= 1.0
    facts = choice.describe()
    assert facts["clip_id"] == choice.record.id and "/" not in str(facts["clip_id"])
