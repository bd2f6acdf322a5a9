"""The training config: one place for defaults, invalid combinations refused with the flag named."""

from __future__ import annotations

import pytest

from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.backends.pocket.trainer import lr_lambda
from natiq.common.errors import DataFormatError


def test_round_trip_and_unknown_keys() -> None:
    config = PocketTrainConfig(metadata="m.jsonl", lora_rank=8)
    assert PocketTrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(DataFormatError, match=r"unknown training setting\(s\) \['lora_rnak'\]"):
        PocketTrainConfig.from_dict({**config.to_dict(), "lora_rnak": 4})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metadata": ""}, "--metadata is required"),
        ({"train_scope": "all"}, "--train-scope must be one of"),
        ({"text_mode": "native", "train_scope": "flow"}, "must include it"),
        ({"train_scope": "text", "use_lora": True}, "drop --use-lora"),
        ({"ema": 1.0}, "--ema must be a decay"),
        ({"precision": "fp8"}, "--precision must be one of"),
    ],
)
def test_invalid_settings_name_the_flag(changes: dict, message: str) -> None:
    config = PocketTrainConfig(**{"metadata": "m.jsonl", **changes})
    with pytest.raises(DataFormatError, match=message):
        config.validate()


def test_schedule_warms_up_linearly_then_decays_to_a_tenth() -> None:
    factor = lr_lambda(warmup_steps=4, max_steps=14)
    assert [round(factor(s), 3) for s in range(4)] == [0.2, 0.4, 0.6, 0.8]
    assert factor(4) == pytest.approx(1.0)
    assert factor(14) == pytest.approx(0.1)
    assert factor(9) == pytest.approx(0.55)
