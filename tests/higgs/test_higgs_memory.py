"""``natiq higgs memory``: exact parameter counts from a config on the meta device."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from natiq.backends.higgs.memory import count_parameters, estimate_memory, load_config
from natiq.backends.higgs.train_config import DEFAULT_LORA_TARGETS


def test_released_config_reports_5_8_billion_parameters():
    from natiq.cli.main import app

    result = CliRunner().invoke(
        app, ["higgs", "memory", "--config", "released", "--batch-size", "1", "--seq-len", "2048"]
    )
    assert result.exit_code == 0, result.output
    total = float(re.search(r"parameters: ([\d.]+)B total", result.output).group(1))
    assert 5.7 <= total <= 5.85
    assert "qlora-4bit" in result.output and "lora-bf16" in result.output


def test_counts_match_a_real_tiny_model(tmp_path: Path):
    from transformers import HiggsAudioV2ForConditionalGeneration

    from natiq.backends.higgs.tiny import tiny_model_config

    config = tiny_model_config(hidden_size=32)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    counts = count_parameters(load_config(str(path)), lora_r=4, lora_targets=DEFAULT_LORA_TARGETS)
    model = HiggsAudioV2ForConditionalGeneration(config, use_text_head=True)
    assert counts.total == sum(p.numel() for p in model.parameters())
    # LoRA r=4 on 7 projections x (mlp + audio_mlp for 3 of them) x 2 layers
    from natiq.backends.higgs.lora import add_lora

    peft_model = add_lora(model, r=4, alpha=8, dropout=0.0, targets=DEFAULT_LORA_TARGETS)
    assert counts.lora == sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n)


def test_quantized_bases_need_less_memory():
    config = load_config("released")
    counts = count_parameters(config, lora_targets=DEFAULT_LORA_TARGETS)
    bf16, int8, int4 = (
        e.total_gib for e in estimate_memory(config, counts, batch_size=1, seq_len=2048)
    )
    assert bf16 > int8 > int4
    assert 11 < bf16 < 15 and 6 < int4 < 8


def test_quantized_bases_keep_everything_else_in_fp32():
    """PEFT upcasts what bitsandbytes did not quantize (the text embedding and both heads)."""
    from natiq.backends.higgs.memory import GIB

    config = load_config("released")
    counts = count_parameters(config, lora_targets=DEFAULT_LORA_TARGETS)
    plain = {e.mode: e for e in estimate_memory(config, counts)}
    texted = {e.mode: e for e in estimate_memory(config, counts, text_loss=True)}
    # loading the 0.39B text head costs 2 bytes/param on a bf16 base, 4 on a quantized one
    head_gib = counts.text_head / GIB
    assert texted["lora-bf16"].weights_gib - plain["lora-bf16"].weights_gib == pytest.approx(
        2 * head_gib
    )
    assert texted["qlora-4bit"].weights_gib - plain["qlora-4bit"].weights_gib == pytest.approx(
        4 * head_gib
    )
    # the rest of a 4-bit base (embeddings, heads, norms; 0.44B) in fp32 outweighs its 4.9B projections
    rest = (counts.total - counts.text_head - counts.decoder_linear) * 4 / GIB
    assert rest == pytest.approx(1.66, abs=0.01) and plain[
        "qlora-4bit"
    ].weights_gib == pytest.approx(rest + 2.37, abs=0.01)


def test_quantized_base_without_cuda_is_a_clear_error():
    import pytest
    import torch

    from natiq.backends.higgs.loading import quantization_config
    from natiq.common.errors import NatiqError

    assert quantization_config("none", torch.bfloat16) is None
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(NatiqError, match="needs a CUDA GPU"):
        quantization_config("4bit", torch.bfloat16)


def test_train_config_round_trips_and_rejects_unknown_keys(tmp_path: Path):
    import pytest

    from natiq.backends.higgs.train_config import HiggsTrainConfig
    from natiq.common.errors import DataFormatError

    config = HiggsTrainConfig(
        chatml=tmp_path / "a.jsonl", output_dir=tmp_path / "out", lora_target_modules="q_proj"
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert HiggsTrainConfig.from_dict(data) == config
    assert data["lora_target_modules"] == ["q_proj"]  # a comma-separated flag value, parsed
    assert (data["num_train_epochs"], data["gradient_accumulation_steps"]) == (10, 8)
    assert data["learning_rate"] == 1e-4
    with pytest.raises(DataFormatError, match="unknown setting 'lora_rank'"):
        HiggsTrainConfig.from_dict({**data, "lora_rank": 8})
