"""How much GPU memory a Higgs LoRA run needs, computed before renting a GPU.

The model is built from its config on the ``meta`` device (no weights, no
memory), so the parameter count is exact for any config: the bundled
``released`` preset (the 3B-base numbers, usable offline), a local
``config.json`` / model folder, or a hub id. The memory figures model what
``natiq higgs train`` does (bf16 autocast, gradient checkpointing, SDPA
attention, LoRA with AdamW):

* frozen weights. bf16 base: 2 bytes/param. 8-bit / 4-bit base: the decoder
  projections are quantized (int8 + an fp32 scale per row; NF4 with double
  quantization: 0.5 byte + one uint8 absmax per 64 weights + one fp32 per
  64 x 256), and PEFT's ``prepare_model_for_kbit_training`` upcasts every
  other parameter to fp32: 4 bytes for the 394M-row text embedding, the
  audio embeddings, both heads and the norms;
* the text head (0.39B) is loaded only with a text loss;
* trainable: LoRA in fp32 with its gradient and two AdamW moments, 16
  bytes/param; a trained audio head is a copy of the head in the base's
  dtype (4 x 2 bytes on a bf16 base, 4 x 4 on a quantized one);
* activations, the larger of two phases on top of the checkpointed layer
  inputs (``layers x tokens x hidden``, bf16, or fp32 on a quantized base
  since the upcast embeddings make the residual stream fp32):
  - the backward pass through one recomputed layer: ``a x hidden + b x
    intermediate`` bytes per token (``LAYER_BYTES``; LoRA dropout adds
    about half);
  - the loss: the heads run only on labelled positions (``losses.py``); each
    logit costs 12 bytes at its peak (bf16 logits, fp32 copy, log-softmax and
    its gradient), 4 while kept for the backward pass. With a text loss the
    text head's 128k-wide rows dominate. On a quantized base autocast also
    makes a bf16 copy of each fp32 head it multiplies by (0.73 GiB for the
    text head);
* 1 GiB of CUDA context and allocator slack.

The per-token constants were measured on CPU with the real classes (a
scaled-down Higgs model, real vocabulary; ``benchmarks/higgs_memory.py``
compares every component against allocator events, bitsandbytes included)
and hold to within 1% across hidden/intermediate sizes there. The CPU stand-in
does not cover CUDA's context, caching-allocator fragmentation or kernel
workspaces (the 1 GiB), nor differences between CPU and CUDA autocast;
``scripts/gpu_check_higgs.py`` measures a real GPU step.
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
    decoder_linear_rows: int
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
    total = audio_ffn = audio_io = linear = rows = lora = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and ".layers." in f".{name}":
            linear += module.weight.numel()
            rows += module.out_features
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
        decoder_linear_rows=rows,
        lora=lora,
        audio_head=head,
        text_head=text_head,
    )


# Bytes per token held by the backward pass through one recomputed decoder
# layer (tensors it saved + gradients in flight), per hidden and per
# intermediate unit, keyed by (quantized base, LoRA dropout on). Measured on
# CPU under bf16 autocast (benchmarks/higgs_memory.py, PyTorch 2.11,
# transformers 5.23, PEFT 0.21): a quantized base keeps MLP activations in
# fp32, and LoRA dropout keeps a dropped copy of each adapted input.
LAYER_BYTES: dict[tuple[bool, bool], tuple[float, float]] = {
    (False, True): (63.6, 20.8),
    (False, False): (43.1, 13.3),
    (True, True): (76.3, 25.1),
    (True, False): (55.3, 19.0),
}
LOGIT_PEAK_BYTES = 12  # fp32 log-softmax output + its gradient + the gradient of the fp32 logits
LOGIT_KEPT_BYTES = 4  # the log-softmax output, kept until the backward pass
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit value, uint8 absmax per 64, fp32 per 64 x 256
CUDA_OVERHEAD = 1 * GIB
MODES = ("lora-bf16", "qlora-8bit", "qlora-4bit")


@dataclass
class MemoryEstimate:
    mode: str
    weights_gib: float
    trainable_gib: float
    activations_gib: float
    overhead_gib: float

    @property
    def total_gib(self) -> float:
        return self.weights_gib + self.trainable_gib + self.activations_gib + self.overhead_gib


def frozen_weight_bytes(counts: ParameterCount, mode: str, *, text_loss: bool) -> float:
    """Bytes of the loaded base model as training holds it (quantized projections, fp32 rest)."""
    loaded = counts.total - (0 if text_loss else counts.text_head)
    if mode == "lora-bf16":
        return loaded * 2.0
    rest = (loaded - counts.decoder_linear) * 4.0
    if mode == "qlora-8bit":
        return counts.decoder_linear * 1.0 + counts.decoder_linear_rows * 4.0 + rest
    return counts.decoder_linear * NF4_BYTES + rest


def activation_bytes(
    config,
    counts: ParameterCount,
    mode: str,
    *,
    tokens: int,
    audio_rows: int,
    text_rows: int,
    text_loss: bool,
    lora_dropout: float,
) -> float:
    """Peak activation bytes of one training step (see the module docstring)."""
    quantized = mode != "lora-bf16"
    hidden, inter = config.hidden_size, config.intermediate_size
    checkpoints = config.num_hidden_layers * tokens * hidden * (4 if quantized else 2)
    per_hidden, per_inter = LAYER_BYTES[(quantized, lora_dropout > 0)]
    layer = tokens * (per_hidden * hidden + per_inter * inter)
    audio_logits = audio_rows * config.num_codebooks * config.codebook_size
    if text_loss:
        loss = LOGIT_KEPT_BYTES * audio_logits + LOGIT_PEAK_BYTES * text_rows * config.vocab_size
    else:
        loss = LOGIT_PEAK_BYTES * audio_logits
    if quantized:  # autocast's bf16 copies of the fp32 heads
        loss += 2 * (counts.audio_head + (counts.text_head if text_loss else 0))
    return checkpoints + max(layer, loss)


def estimate_memory(
    config,
    counts: ParameterCount,
    *,
    batch_size: int = 1,
    seq_len: int = 2048,
    target_frames: int | None = None,
    text_tokens: int = 128,
    train_audio_head: bool = False,
    text_loss: bool = False,
    lora_dropout: float = 0.1,
) -> list[MemoryEstimate]:
    """Estimated peak GPU memory of LoRA training for a bf16, 8-bit and 4-bit base.

    ``seq_len``: tokens per sample; ``target_frames``: frames of the target
    clip, the labelled audio (default half the sequence); ``text_tokens``:
    labelled text tokens per sample (with a text loss).
    """
    frames = seq_len // 2 if target_frames is None else target_frames
    estimates = []
    for mode in MODES:
        head_dtype_bytes = 2 if mode == "lora-bf16" else 4
        trainable = counts.lora * 16.0
        if train_audio_head:
            trainable += counts.audio_head * 4 * head_dtype_bytes
        activations = activation_bytes(
            config,
            counts,
            mode,
            tokens=batch_size * seq_len,
            audio_rows=batch_size * (frames + config.num_codebooks),
            text_rows=batch_size * text_tokens,
            text_loss=text_loss,
            lora_dropout=lora_dropout,
        )
        estimates.append(
            MemoryEstimate(
                mode=mode,
                weights_gib=frozen_weight_bytes(counts, mode, text_loss=text_loss) / GIB,
                trainable_gib=trainable / GIB,
                activations_gib=activations / GIB,
                overhead_gib=CUDA_OVERHEAD / GIB,
            )
        )
    return estimates
