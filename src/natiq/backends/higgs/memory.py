"""How much GPU memory a Higgs LoRA run needs, computed before renting a GPU.

The model is built from its config on the ``meta`` device (no weights, no
memory), so the parameter count is exact for any config: the bundled
``released`` preset (the 3B-base numbers, usable offline), a local
``config.json`` / model folder, or a hub id. The memory figures are an
estimate, stated with their assumptions:

* frozen base weights: 2 bytes/param (bf16); 8-bit: 1 byte per decoder
  Linear weight; 4-bit NF4 with double quantization: ~0.52 byte per decoder
  Linear weight (embeddings, norms and heads stay bf16);
* LoRA parameters (and a trained audio head): fp32 weight + grad + 2 AdamW
  moments = 16 bytes/param;
* activations with gradient checkpointing: one bf16 hidden state per layer
  and token kept, plus one layer recomputed (~34 x hidden bytes per token
  and attention scores at ``heads x seq`` per token with eager attention,
  none with SDPA/flash), plus fp32 audio logits (``K x 1026``) and, when a
  text loss is used, fp32 text logits (``vocab``);
* ~1 GiB of CUDA context and allocator slack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from natiq.common.errors import ModelLoadError

GIB = 1024**3


def load_config(name: str):
    """``released`` (bundled preset), a ``config.json`` path, a model folder, or a hub id."""
    from transformers import HiggsAudioV2Config

    if name == "released":
        text = (
            resources.files("natiq.backends.higgs")
            .joinpath("presets/released_config.json")
            .read_text("utf-8")
        )
        data = {
            k: v for k, v in json.loads(text).items() if not k.startswith("_") and k != "model_type"
        }
        return HiggsAudioV2Config(**data)
    path = Path(name)
    if path.is_file():
        data = json.loads(path.read_text("utf-8"))
        data.pop("model_type", None)
        return HiggsAudioV2Config(**{k: v for k, v in data.items() if not k.startswith("_")})
    try:
        return HiggsAudioV2Config.from_pretrained(name.removeprefix("hf://"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot read a Higgs config from {name!r} ({exc}); use --config released for the published model offline"
        ) from None


@dataclass
class ParameterCount:
    total: int
    text_backbone: int
    audio_ffn: int
    audio_embed_and_head: int
    decoder_linear: int
    lora: int
    audio_head: int
    text_head: int

    @property
    def without_text_head(self) -> int:
        return self.total - self.text_head


def count_parameters(
    config, *, lora_r: int = 16, lora_targets: tuple[str, ...] = ()
) -> ParameterCount:
    """Exact counts from a meta-device model built with the text head (the released checkpoint has one)."""
    from transformers import HiggsAudioV2ForConditionalGeneration

    with torch.device("meta"):
        model = HiggsAudioV2ForConditionalGeneration(config, use_text_head=True)
    total = audio_ffn = audio_io = linear = lora = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and ".layers." in f".{name}":
            linear += module.weight.numel()
            if any(name.endswith(t) for t in lora_targets):
                lora += lora_r * (module.in_features + module.out_features)
    for name, param in model.named_parameters():
        total += param.numel()
        if ".audio_" in name:
            audio_ffn += param.numel()
        elif "embed_audio_tokens" in name or name.startswith("audio_lm_head"):
            audio_io += param.numel()
    head = model.audio_lm_head.weight.numel()
    text_head = model.text_lm_head.weight.numel()
    return ParameterCount(
        total=total,
        text_backbone=total - audio_ffn - audio_io - text_head,
        audio_ffn=audio_ffn,
        audio_embed_and_head=audio_io,
        decoder_linear=linear,
        lora=lora,
        audio_head=head,
        text_head=text_head,
    )


@dataclass
class MemoryEstimate:
    mode: str
    weights_gib: float
    trainable_gib: float
    activations_gib: float
    total_gib: float


def estimate_memory(
    config,
    counts: ParameterCount,
    *,
    batch_size: int = 1,
    seq_len: int = 2048,
    train_audio_head: bool = False,
    text_loss: bool = False,
    eager_attention: bool = False,
) -> list[MemoryEstimate]:
    """Estimated peak GPU memory of LoRA training for a bf16, 8-bit and 4-bit base."""
    tokens = batch_size * seq_len
    hidden = config.hidden_size
    layers = config.num_hidden_layers
    activations = tokens * hidden * 2 * layers  # checkpointed layer inputs (bf16)
    activations += tokens * 34 * hidden  # one layer recomputed in the backward pass
    if eager_attention:
        activations += batch_size * config.num_attention_heads * seq_len * seq_len * 5
    activations += (
        tokens * config.num_codebooks * config.codebook_size * 4 * 2
    )  # fp32 logits + grad
    if text_loss:
        activations += tokens * config.vocab_size * 4 * 2
    trainable = (counts.lora + (counts.audio_head if train_audio_head else 0)) * 16
    rest = counts.total - counts.decoder_linear - (0 if text_loss else counts.text_head)
    overhead = 1 * GIB
    estimates = []
    for mode, linear_bytes in (("lora-bf16", 2.0), ("qlora-8bit", 1.0), ("qlora-4bit", 0.52)):
        weights = counts.decoder_linear * linear_bytes + rest * 2
        total = weights + trainable + activations + overhead
        estimates.append(
            MemoryEstimate(
                mode=mode,
                weights_gib=weights / GIB,
                trainable_gib=trainable / GIB,
                activations_gib=activations / GIB,
                total_gib=total / GIB,
            )
        )
    return estimates
