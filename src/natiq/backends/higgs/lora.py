"""Wrapping the Higgs model with PEFT LoRA, and reading an adapter back.

By default LoRA goes on the attention projections and on both feed-forward
paths of every layer (``mlp`` for text positions, ``audio_mlp`` for audio
positions), since PEFT matches module names by suffix. ``train_audio_head``
also trains a full copy of ``audio_lm_head`` (PEFT ``modules_to_save``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch import nn

from natiq.common.errors import ModelLoadError

AUDIO_HEAD = "audio_lm_head"


def add_lora(
    model: nn.Module,
    *,
    r: int,
    alpha: int,
    dropout: float,
    targets: Sequence[str],
    train_audio_head: bool = False,
) -> nn.Module:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(targets),
        modules_to_save=[AUDIO_HEAD] if train_audio_head else None,
        bias="none",
    )
    try:
        return get_peft_model(model, config)
    except ValueError as exc:
        raise ModelLoadError(f"cannot apply LoRA to targets {list(targets)}: {exc}") from None


def load_adapter(
    model: nn.Module, adapter_dir: str | Path, *, trainable: bool = False
) -> nn.Module:
    """Attach a saved PEFT adapter to a freshly loaded base model."""
    from peft import PeftModel

    source = Path(adapter_dir)
    if not (source / "adapter_config.json").is_file():
        raise ModelLoadError(
            f"{source} has no adapter_config.json: pass the folder written by `natiq higgs train`"
        )
    return PeftModel.from_pretrained(model, str(source), is_trainable=trainable)


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
