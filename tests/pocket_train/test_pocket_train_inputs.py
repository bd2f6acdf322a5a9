"""Bad training input is refused up front with the file and line that caused it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from natiq.backends.pocket.dataset import EpochBatchSampler, PocketTrainData, read_utterances
from natiq.common.errors import AudioInputError, DataFormatError, ModelLoadError
from support.pocket_train import write_manifest


def _records(manifest: Path, n: int) -> list[dict]:
    lines = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines() if x.strip()]
    return lines[:n]


def test_missing_audio_names_file_and_line(tmp_path: Path, small_manifest: Path) -> None:
    records = _records(small_manifest, 3)
    records[1]["audio"] = "nowhere/missing.wav"
    manifest = write_manifest(tmp_path / "metadata.jsonl", records)
    with pytest.raises(
        AudioInputError, match=r"metadata\.jsonl:2: audio file .*missing\.wav not found"
    ):
        read_utterances(manifest, precomputed=False)


def test_missing_fields_name_file_line_and_field(tmp_path: Path, small_manifest: Path) -> None:
    records = _records(small_manifest, 3)
    del records[2]["speaker"]
    manifest = write_manifest(tmp_path / "metadata.jsonl", records)
    with pytest.raises(DataFormatError, match=r"metadata\.jsonl:3: missing field\(s\) speaker"):
        read_utterances(manifest, precomputed=False)


def test_plain_manifest_used_as_precomputed_latents_says_what_to_run(small_manifest: Path) -> None:
    with pytest.raises(
        DataFormatError,
        match=r"metadata\.jsonl:1: missing field\(s\) latents, num_frames.*natiq pocket latents",
    ):
        read_utterances(small_manifest, precomputed=True)


def test_empty_corpus_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "metadata.jsonl"
    manifest.write_text("\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="corpus is empty"):
        read_utterances(manifest, precomputed=False)


def test_text_over_the_limit_is_skipped_and_listed_with_file_and_line(small_manifest: Path) -> None:
    from natiq.backends.pocket.recipe import ExampleSettings

    utterances = read_utterances(small_manifest, precomputed=False)

    class CharText:
        def model_text(self, text: str) -> str:
            return text

        def ids(self, model_text: str, *, final_punctuation: bool = True) -> list[int]:
            return [1] * len(model_text)

    long_index = next(i for i, u in enumerate(utterances) if len(u.text) > 40)
    data = PocketTrainData(
        utterances,
        CharText(),
        encode=lambda path: None,
        settings=ExampleSettings(),
        max_text_tokens=40,
    )
    assert [item.where for item in data.skipped] == [
        f"{small_manifest}:{i + 1}" for i, u in enumerate(utterances) if len(u.text) > 40
    ]
    assert f"{small_manifest}:{long_index + 1}" in {item.where for item in data.skipped}
    assert all("over the limit of 40 (--max-text-tokens)" in item.reason for item in data.skipped)
    assert len(data) == sum(len(u.text) <= 40 for u in utterances)


def test_tokenizer_of_the_wrong_size_is_refused(tiny_base: Path, tmp_path: Path) -> None:
    from natiq.backends.pocket.model_setup import install_tokenizer
    from natiq.backends.pocket.tiny import BUILTIN_CORPUS, load_tiny_tts, train_sentencepiece

    tts = load_tiny_tts(tiny_base)
    wrong = tmp_path / "wrong.model"
    wrong.write_bytes(train_sentencepiece(BUILTIN_CORPUS, 128))
    with pytest.raises(ModelLoadError, match=r"wrong\.model: .*vocab size=128.*n_bins=256"):
        install_tokenizer(tts, wrong, native=False)


def test_batches_depend_only_on_seed_and_epoch() -> None:
    a = EpochBatchSampler(7, 3, seed=5)
    b = EpochBatchSampler(7, 3, seed=5)
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)
    b.set_epoch(3)
    assert list(a) != list(b)
    assert sorted(i for batch in a for _, i in batch) == list(range(7))
