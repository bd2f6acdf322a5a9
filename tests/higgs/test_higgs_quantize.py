"""``--quantize 4bit|8bit`` keeps both heads in full precision.

Checked on the meta device with transformers' own selection code (the
function its bitsandbytes quantizer calls to decide which ``nn.Linear`` to
replace), so neither a GPU nor bitsandbytes is needed.
"""

from __future__ import annotations

import pytest
import torch

from natiq.backends.higgs.loading import UNQUANTIZED_MODULES, bitsandbytes_config


def _meta_model(use_text_head: bool):
    from transformers import HiggsAudioV2ForConditionalGeneration

    from natiq.backends.higgs.tiny import tiny_model_config

    with torch.device("meta"):
        return HiggsAudioV2ForConditionalGeneration(
            tiny_model_config(), use_text_head=use_text_head
        )


def _quantized_linears(model, skip_modules) -> set[str]:
    """Names of the ``nn.Linear`` modules transformers would replace by bitsandbytes layers."""
    from transformers.quantizers.base import HfQuantizer
    from transformers.quantizers.quantizers_utils import should_convert_module

    not_converted = HfQuantizer.get_modules_to_not_convert(
        model, skip_modules, model._keep_in_fp32_modules
    )
    return {
        name
        for name, module in model.named_modules()
        if type(module) is torch.nn.Linear and should_convert_module(name, not_converted)
    }


def _decoder_linears(model) -> set[str]:
    return {
        name
        for name, module in model.named_modules()
        if type(module) is torch.nn.Linear and name.startswith("model.layers.")
    }


@pytest.mark.parametrize("mode", ["8bit", "4bit"])
@pytest.mark.parametrize("use_text_head", [False, True])
def test_only_decoder_projections_are_quantized(mode: str, use_text_head: bool):
    config = bitsandbytes_config(mode, torch.bfloat16)
    model = _meta_model(use_text_head)
    quantized = _quantized_linears(model, config.llm_int8_skip_modules)
    # 2 layers x (4 attention + 3 mlp + 3 audio_mlp projections)
    assert quantized == _decoder_linears(model) and len(quantized) == 20
    assert "audio_lm_head" not in quantized and "text_lm_head" not in quantized
    assert set(config.llm_int8_skip_modules) == set(UNQUANTIZED_MODULES)
    assert (config.load_in_4bit, config.load_in_8bit) == (mode == "4bit", mode == "8bit")


def test_transformers_default_would_quantize_the_audio_head_with_a_text_head():
    """Why the skip list is explicit: by default only the last parameter's module is kept."""
    with_text_head = _quantized_linears(_meta_model(True), None)
    assert "audio_lm_head" in with_text_head and "text_lm_head" not in with_text_head
    assert "audio_lm_head" not in _quantized_linears(_meta_model(False), None)


def test_quantize_mode_is_checked():
    from natiq.common.errors import NatiqError

    assert bitsandbytes_config("none", torch.bfloat16) is None
    with pytest.raises(NatiqError, match="none, 8bit or 4bit"):
        bitsandbytes_config("3bit", torch.bfloat16)  # type: ignore[arg-type]
