"""pocket-tts' example rules on the bundled mini-corpus.

Targets end shortly after speech; voice prompts are the start of another
utterance of the speaker, end in a pause and equal their own encoding; the
prompt tail trim stays within its bounds; the diacritization level and the
final punctuation vary across epochs with the configured shares; an over-long
text is skipped and listed; length buckets keep similar lengths together.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

PAD_SECONDS = 1.5
PADDED_ID = "spk1_006"


@pytest.fixture(scope="session")
def latents_dir(tmp_path_factory: pytest.TempPathFactory, tiny_yaml: Path) -> Path:
    """Latents of the mini-corpus (tiny Mimi), one utterance given 1.5 s of extra silence."""
    from natiq.backends.pocket.latents import extract_latents
    from natiq.backends.pocket.tiny import load_tiny_tts
    from natiq.common.files import read_jsonl, write_jsonl
    from natiq.data.audio import load_audio, save_wav
    from natiq.data.mini_corpus import mini_corpus_manifest

    work = tmp_path_factory.mktemp("examples")
    source = mini_corpus_manifest()
    records = []
    for _, record in read_jsonl(source):
        audio = (source.parent / record["audio"]).resolve()
        if record["id"] == PADDED_ID:
            samples, rate = load_audio(audio)
            noise = np.random.default_rng(0).normal(0, 1e-4, int(PAD_SECONDS * rate))
            audio = save_wav(work / "padded.wav", np.concatenate([samples, noise]), rate)
        records.append({**record, "audio": str(audio)})
    write_jsonl(work / "metadata.jsonl", records)
    extract_latents(
        work / "metadata.jsonl", work / "latents", base=str(tiny_yaml),
        tts_model=load_tiny_tts(tiny_yaml),
    )  # fmt: skip
    return work / "latents"


def _records(latents_dir: Path) -> dict[str, dict]:
    """The latents manifest's rows, audio paths made absolute."""
    lines = (latents_dir / "metadata_latents.jsonl").read_text(encoding="utf-8").splitlines()
    rows = {r["id"]: r for r in map(json.loads, lines)}
    for row in rows.values():
        row["audio"] = str((latents_dir / row["audio"]).resolve())
    return rows


def _speech_end(samples: np.ndarray, rate: int) -> float:
    """Independent measure: end of the last 10 ms frame within 35 dB of the loud level."""
    hop = rate // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    db = 10 * np.log10((frames**2).mean(1) + 1e-12)
    loud = np.flatnonzero(db > np.percentile(db, 95) - 35)
    return (loud[-1] + 1) / 100


class CharText:
    """A text encoder with one id per character (what the dataset tokenizes with)."""

    def model_text(self, text: str) -> str:
        return text

    def ids(self, model_text: str, *, final_punctuation: bool = True) -> list[int]:
        text = model_text if not final_punctuation or model_text.endswith(".") else model_text + "."
        return [ord(char) for char in text]


def _data(latents_dir: Path, max_text_tokens: int = 512, **settings):
    from natiq.backends.pocket.dataset import PocketTrainData, read_utterances
    from natiq.backends.pocket.recipe import ExampleSettings

    utterances = read_utterances(latents_dir / "metadata_latents.jsonl", precomputed=True)
    return PocketTrainData(
        utterances, CharText(), settings=ExampleSettings(**settings), seed=3,
        max_text_tokens=max_text_tokens,
    )  # fmt: skip


def test_targets_end_shortly_after_the_last_speech(latents_dir: Path) -> None:
    from natiq.data.audio import load_audio

    for record in _records(latents_dir).values():
        samples, rate = load_audio(record["audio"], target_sr=24_000)
        speech_end = _speech_end(samples, rate)
        target_end = record["num_frames"] * 0.08
        assert target_end >= speech_end - 0.02, record["id"]  # no speech is cut
        assert target_end <= speech_end + 0.2 + 0.08 + 0.05, record["id"]  # 0.2 s trail, a frame
    padded = _records(latents_dir)[PADDED_ID]
    samples, rate = load_audio(padded["audio"])
    assert len(samples) / rate - padded["num_frames"] * 0.08 >= PAD_SECONDS - 0.3


def test_prompts_are_another_utterance_ending_in_a_pause(latents_dir: Path, tiny_yaml) -> None:
    from natiq.backends.pocket.latents import encode_audio
    from natiq.backends.pocket.tiny import load_tiny_tts
    from natiq.data.audio import load_audio

    data = _data(latents_dir, prompt_trim_max_seconds=0.0)
    records = _records(latents_dir)
    model = load_tiny_tts(tiny_yaml)
    seen = 0
    for epoch in range(3):
        for index in range(len(data)):
            example = data[(epoch, index)]
            source = example.prompt_source
            assert source is not None and source != index
            target, prompt_from = data.utterances[index], data.pool[source]
            assert prompt_from.speaker == target.speaker
            frames = example.prompt.shape[0]
            assert 1.0 <= frames * 0.08 <= 5.0
            samples, rate = load_audio(records[prompt_from.id]["audio"], target_sr=24_000)
            loud = np.percentile(_levels(samples, rate), 95)
            tail = samples[frames * 1920 - int(0.04 * rate) : frames * 1920]
            assert 10 * np.log10((tail**2).mean() + 1e-12) < loud - 35, (prompt_from.id, frames)
            if seen < 3:  # the slice is the prompt encoded on its own (Mimi is causal)
                alone = encode_audio(model, samples[: frames * 1920])
                assert torch.allclose(alone, example.prompt, atol=1e-5)
                seen += 1


def _levels(samples: np.ndarray, rate: int) -> np.ndarray:
    hop = rate // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    return 10 * np.log10((frames**2).mean(1) + 1e-12)


def test_prompt_tails_are_trimmed_by_at_most_half_a_second_keeping_one(latents_dir: Path) -> None:
    untrimmed = _data(latents_dir, prompt_trim_max_seconds=0.0)
    trimmed = _data(latents_dir)  # reference: up to 0.5 s
    dropped = []
    for epoch in range(4):
        for index in range(len(untrimmed)):
            full = untrimmed[(epoch, index)].prompt
            short = trimmed[(epoch, index)].prompt
            assert torch.equal(short, full[: short.shape[0]])
            assert short.shape[0] >= min(full.shape[0], 12)
            dropped.append(full.shape[0] - short.shape[0])
    assert max(dropped) <= 6 and min(dropped) == 0 and len(set(dropped)) >= 4


def test_a_speaker_with_one_utterance_gets_no_prompt_from_itself(latents_dir: Path) -> None:
    from natiq.backends.pocket.dataset import PocketTrainData, read_utterances

    utterances = read_utterances(latents_dir / "metadata_latents.jsonl", precomputed=True)
    alone = [u for u in utterances if u.id == "spk1_000"] + [
        u for u in utterances if u.speaker == "spk2"
    ]
    data = PocketTrainData(alone, CharText(), seed=0)
    example = data[(0, 0)]
    assert example.prompt.shape[0] == 0 and example.prompt_source is None
    assert data.without_prompt == ["spk1_000"]


def test_diacritization_levels_follow_the_configured_mix(latents_dir: Path) -> None:
    from natiq.backends.pocket.text_variation import has_marks, strip_marks

    for mix in ({}, {"plain": 0.2, "partial": 0.3, "full": 0.5, "sparse_words": 0.0}):
        data = _data(latents_dir, diacritization=mix, final_punctuation_dropout=0.0)
        want = {"plain": 0.55, "partial": 0.30, "full": 0.15, **mix}
        levels: Counter[str] = Counter()
        for epoch in range(60):
            for index in range(len(data)):
                example = data[(epoch, index)]
                levels[example.level] += 1
                original = data.model_texts[index]
                assert strip_marks(example.text) == strip_marks(original)
                if example.level == "plain":
                    assert not has_marks(example.text)
                if example.level == "full" and not mix.get("sparse_words", 0.4):
                    assert example.text == original
        total = sum(levels.values())
        for level in ("plain", "partial", "full"):
            assert abs(levels[level] / total - want[level]) < 0.04, (mix, levels)
    texts = {data[(epoch, 0)].text for epoch in range(10)}
    assert len(texts) >= 3  # the same utterance reads differently across epochs


def test_final_punctuation_is_dropped_from_its_share_of_examples(latents_dir: Path) -> None:
    data = _data(latents_dir, vary_diacritics=False)
    endings = Counter(
        chr(int(data[(epoch, index)].tokens[-1])) == "."
        for epoch in range(40)
        for index in range(len(data))
    )
    share = endings[False] / sum(endings.values())
    assert abs(share - 0.3) < 0.05


def test_an_over_long_text_is_skipped_and_listed(latents_dir: Path) -> None:
    data = _data(latents_dir, max_text_tokens=40)
    records = _records(latents_dir)
    too_long = {i for i, r in records.items() if len(r["text"]) + 1 > 40}
    assert 0 < len(too_long) < len(records)
    assert {item.id for item in data.skipped} == too_long
    assert all("over the limit of 40" in item.reason for item in data.skipped)
    assert len(data) == len(records) - len(too_long)
    assert all(int(data[(0, i)].tokens.numel()) <= 40 for i in range(len(data)))


def test_condition_dropout_is_drawn_per_example_at_the_configured_rates(latents_dir: Path) -> None:
    data = _data(latents_dir, text_dropout=0.2, voice_dropout=0.5)
    draws = {(e, i): data[(e, i)] for e in range(30) for i in range(len(data))}
    assert abs(sum(not x.keep_text for x in draws.values()) / len(draws) - 0.2) < 0.04
    assert abs(sum(not x.keep_voice for x in draws.values()) / len(draws) - 0.5) < 0.04
    again = data[(3, 5)]  # a function of (seed, epoch, index) only
    assert (again.keep_text, again.keep_voice) == (draws[3, 5].keep_text, draws[3, 5].keep_voice)
    validation = data.settings.for_validation()
    assert validation.text_dropout == validation.voice_dropout == 0.0


def test_length_buckets_keep_similar_lengths_together() -> None:
    from natiq.backends.pocket.dataset import EpochBatchSampler

    lengths = [random.Random(i).randint(10, 400) for i in range(200)]
    plain = EpochBatchSampler(200, 8, seed=1, lengths=lengths)
    bucketed = EpochBatchSampler(200, 8, seed=1, lengths=lengths, bucket_batches=20)

    def padding(sampler) -> int:
        return sum(
            len(b) * max(lengths[i] for i in b) - sum(lengths[i] for i in b)
            for b in sampler.batches(0)
        )

    for epoch in (0, 1):
        batches = bucketed.batches(epoch)
        assert sorted(i for b in batches for i in b) == list(range(200))
        assert batches == bucketed.batches(epoch)  # depends on seed and epoch only
    assert bucketed.batches(0) != bucketed.batches(1)
    assert padding(bucketed) < 0.2 * padding(plain)
