"""The Pocket training config: one place for defaults, invalid combinations refused with the flag named."""

from __future__ import annotations

from pathlib import Path

import pytest

from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.common.errors import DataFormatError


def test_round_trip_and_unknown_keys() -> None:
    config = PocketTrainConfig(metadata="m.jsonl", lora_r=8)
    assert PocketTrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(DataFormatError, match=r"unknown setting 'lora_rnak'"):
        PocketTrainConfig.from_dict({**config.to_dict(), "lora_rnak": 4})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metadata": None}, "--metadata: Input is not a valid path"),
        ({"train_scope": "all"}, "--train-scope: Input should be 'text', 'flow'"),
        ({"text_mode": "native", "train_scope": "flow"}, "must include it"),
        ({"train_scope": "text", "use_lora": True}, "pass --no-lora"),
        ({"ema_decay": 1.0}, "--ema-decay: Input should be less than 1"),
        ({"precision": "fp8"}, "--precision: Input should be 'auto', 'fp32', 'bf16' or 'fp16'"),
        ({"learning_rate": 0}, "--learning-rate: Input should be greater than 0"),
    ],
)
def test_invalid_settings_name_the_flag(changes: dict, message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        PocketTrainConfig(**{"metadata": "m.jsonl", **changes})


def test_missing_metadata_is_named() -> None:
    with pytest.raises(DataFormatError, match="--metadata is required"):
        PocketTrainConfig()


def test_yaml_file_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "metadata: data/m.jsonl\nlearning_rate: 1.0e-4\ntrain_scope: full\nuse_lora: false\n",
        encoding="utf-8",
    )
    config = PocketTrainConfig.load(path, overrides={"learning_rate": 3e-4, "max_steps": 50})
    assert (config.learning_rate, config.max_steps, config.train_scope, config.use_lora) == (
        3e-4,
        50,
        "full",
        False,
    )
    assert config.metadata == Path("data/m.jsonl")
    path.write_text("metadata: m.jsonl\nlr: 1.0e-4\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{path}: .*unknown setting 'lr'"):
        PocketTrainConfig.load(path)
