"""Loading a base (names, YAMLs, offline failures) and the romanized / native text modes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml


def test_a_missing_release_offline_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    from natiq.backends.pocket.base_model import load_base
    from natiq.common.errors import ModelLoadError

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError) as error:
        load_base("english")
    message = str(error.value)
    assert "https://huggingface.co/kyutai/pocket-tts" in message
    assert "hf auth login" in message and "local YAML" in message


def test_unknown_base_lists_the_choices(tmp_path: Path) -> None:
    from natiq.backends.pocket.base_model import load_base
    from natiq.common.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="french_24l"):
        load_base("klingon")
    with pytest.raises(ModelLoadError, match="not found"):
        load_base(tmp_path / "missing.yaml")


def test_a_local_yaml_or_its_directory_is_a_base(tiny_yaml: Path) -> None:
    from natiq.backends.pocket.base_model import load_base, mimi_encoder_is_zero, resolve_base

    assert resolve_base("french_24l") == {"language": "french_24l"}
    assert resolve_base("hf://kyutai/pocket-tts/x.yaml") == {
        "config": "hf://kyutai/pocket-tts/x.yaml"
    }
    model = load_base(tiny_yaml.parent, device="cpu")
    assert model.flow_lm.conditioner.embed.num_embeddings == 257
    assert not mimi_encoder_is_zero(model)


def test_a_tokenizer_of_the_wrong_size_names_the_file(tiny_yaml: Path, tmp_path: Path) -> None:
    from natiq.backends.pocket.base_model import load_base
    from natiq.backends.pocket.text_tokens import check_tokenizer_matches
    from natiq.backends.pocket.tiny import BUILTIN_CORPUS, train_sentencepiece
    from natiq.common.errors import CheckpointMismatchError

    wrong = tmp_path / "wrong.model"
    wrong.write_bytes(train_sentencepiece(BUILTIN_CORPUS, 128))
    config = yaml.safe_load(tiny_yaml.read_text(encoding="utf-8"))
    config["flow_lm"]["lookup_table"]["tokenizer_path"] = str(wrong)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CheckpointMismatchError, match=r"wrong\.model"):
        load_base(bad_yaml)

    # weights trained with a 128-piece table against a 256-piece tokenizer
    config["flow_lm"]["lookup_table"]["n_bins"] = 128
    bad_yaml.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CheckpointMismatchError, match=r"wrong\.model"):
        load_base(bad_yaml)

    model = load_base(tiny_yaml)
    assert check_tokenizer_matches(model) == 256
    from pocket_tts.modules.text_conditioner import build_tokenizer

    model.flow_lm.conditioner.tokenizer = build_tokenizer(128, str(wrong))
    with pytest.raises(
        CheckpointMismatchError, match="has 128 pieces but the text embedding has 257 rows"
    ):
        check_tokenizer_matches(model)


def test_text_longer_than_the_limit_is_refused_with_its_location(tiny_yaml: Path) -> None:
    from natiq.backends.pocket.text_tokens import tokenize_model_text
    from natiq.backends.pocket.tiny import load_tiny_tts
    from natiq.common.errors import InputTextError

    model = load_tiny_tts(tiny_yaml)
    ids = tokenize_model_text(model, "salAm Elykm")
    assert ids == model.flow_lm.conditioner.tokenizer.encode(
        "salAm Elykm."
    )  # no capital, final period
    with pytest.raises(
        InputTextError,
        match=r"metadata.jsonl:7: the text is \d+ tokens long, more than the limit of 20",
    ):
        tokenize_model_text(model, "كيف حالك اليوم " * 10, max_tokens=20, where="metadata.jsonl:7")
    with pytest.raises(InputTextError, match="empty"):
        tokenize_model_text(model, "  ")


def test_romanized_mode_feeds_the_base_tokenizer_the_front_end_text(tiny_yaml: Path) -> None:
    from natiq.backends.pocket.text_tokens import tokenize_prepared
    from natiq.backends.pocket.tiny import load_tiny_tts
    from natiq.text import FrontendConfig, TextFrontend

    model = load_tiny_tts(tiny_yaml)
    prepared = TextFrontend(FrontendConfig(scheme="buckwalter")).prepare("كَتَبَ الْوَلَدُ الدَّرْسَ؟")
    ids = tokenize_prepared(model, prepared)
    assert prepared.model_text.isascii()
    assert model.flow_lm.conditioner.tokenizer.decode(ids) == prepared.model_text


def test_native_mode_trains_a_character_tokenizer_and_resets_the_embedding(
    tiny_yaml: Path, tmp_path: Path, mini_records: list, mini_latents: list
) -> None:
    from natiq.backends.pocket.batch import PocketBatch
    from natiq.backends.pocket.objectives import compute_losses
    from natiq.backends.pocket.text_tokens import (
        check_tokenizer_matches,
        reset_text_embedding,
        tokenize_model_text,
        train_native_tokenizer,
    )
    from natiq.backends.pocket.tiny import load_tiny_tts

    texts = [record["text"] for record in mini_records]
    path = train_native_tokenizer(texts, tmp_path / "native.model", kind="char")
    model = load_tiny_tts(tiny_yaml)
    n_bins = reset_text_embedding(model, path)
    characters = {char for text in texts for char in text} | {"."}
    assert n_bins < 80 and model.flow_lm.conditioner.embed.num_embeddings == n_bins + 1
    assert check_tokenizer_matches(model) == n_bins
    assert model.config.flow_lm.lookup_table.n_bins == n_bins
    ids = tokenize_model_text(model, texts[0])
    assert model.flow_lm.conditioner.tokenizer.decode(ids) == texts[0] + "."  # diacritics survive
    assert len(ids) == len(texts[0].replace(" ", "")) + texts[0].count(" ") + 2
    assert "ِ" in characters
    batch = PocketBatch.from_items([ids], mini_latents[:1], pad_id=n_bins)
    loss = compute_losses(model.flow_lm, batch, generator=torch.Generator().manual_seed(0))
    loss.total.backward()
    assert model.flow_lm.conditioner.embed.weight.grad[ids].abs().sum() > 0

    bpe = train_native_tokenizer(texts * 3, tmp_path / "bpe.model", vocab_size=100)
    assert reset_text_embedding(model, bpe) == 100
