"""Which FlowLM weights a run trains, by ``--train-scope``, with or without LoRA.

Scopes (the module names are pocket-tts' ``FlowLMModel``):

- ``text``: the text embedding ``conditioner.embed``;
- ``flow``: the sampler head ``flow_net`` and the EOS head ``out_eos``;
- ``text+flow``: both;
- ``full``: everything (transformer, input projection, heads, embedding).

With LoRA (PEFT, by composition: ``get_peft_model`` wraps the FlowLM, nothing
is forked) the linear layers of the scope get low-rank adapters; the text
embedding (4001 x 1024 in ``english``: a re-initialized one for ``native``
text must be learnt from scratch, and a pretrained one is small anyway) and
the tiny EOS head are trained in full through ``modules_to_save``. Without LoRA the scope's parameters are unfrozen and the rest
frozen. ``merge_lora`` folds adapters back into plain weights
(``merge_and_unload``) for export. This module does not train anything.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from natiq.common.errors import DataFormatError

EMBEDDING = "conditioner.embed"
EOS_HEAD = "out_eos"


def _linear_names(model: nn.Module, prefixes: tuple[str, ...]) -> list[str]:
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.startswith(prefixes) and name != EOS_HEAD
    ]


def scope_parts(scope: str) -> tuple[bool, bool, bool]:
    """``(text, flow, backbone)``: which groups of weights ``scope`` trains."""
    if scope not in ("text", "flow", "text+flow", "full"):
        raise DataFormatError(f"unknown train scope {scope!r}; use text, flow, text+flow or full")
    return (
        scope in ("text", "text+flow", "full"),
        scope in ("flow", "text+flow", "full"),
        scope == "full",
    )


def lora_config(flow_lm: nn.Module, *, scope: str, rank: int, alpha: float, dropout: float):
    """The ``peft.LoraConfig`` for ``scope`` on this FlowLM (explicit module names)."""
    from peft import LoraConfig

    text, flow, backbone = scope_parts(scope)
    targets: list[str] = []
    to_save: list[str] = []
    if text:
        to_save.append(EMBEDDING)
    if flow:
        targets += _linear_names(flow_lm, ("flow_net.",))
        to_save.append(EOS_HEAD)
    if backbone:
        targets += _linear_names(flow_lm, ("transformer.", "input_linear"))
    if not targets:
        raise DataFormatError(
            f"--train-scope {scope} leaves LoRA nothing to adapt (the text embedding is "
            "trained in full): train it without --use-lora"
        )
    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        modules_to_save=to_save or None,
        bias="none",
    )


def apply_lora(flow_lm: nn.Module, config: Any) -> nn.Module:
    """Wrap ``flow_lm`` in a PEFT model: only adapters and ``modules_to_save`` train."""
    from peft import get_peft_model

    return get_peft_model(flow_lm, config)


def unfreeze_scope(flow_lm: nn.Module, scope: str) -> nn.Module:
    """Full fine-tuning: train the scope's parameters, freeze the others (in place)."""
    text, flow, backbone = scope_parts(scope)
    prefixes: tuple[str, ...] = ()
    if text:
        prefixes += ("conditioner.",)
    if flow:
        prefixes += ("flow_net.", f"{EOS_HEAD}.")
    for name, param in flow_lm.named_parameters():
        param.requires_grad_(backbone or name.startswith(prefixes))
    return flow_lm


def prepare_trainable(
    flow_lm: nn.Module,
    *,
    scope: str,
    use_lora: bool,
    rank: int = 16,
    alpha: float = 32.0,
    dropout: float = 0.0,
) -> nn.Module:
    """The model to train: a PEFT wrapper with LoRA, else ``flow_lm`` with the scope unfrozen."""
    if use_lora:
        config = lora_config(flow_lm, scope=scope, rank=rank, alpha=alpha, dropout=dropout)
        return apply_lora(flow_lm, config)
    return unfreeze_scope(flow_lm, scope)


def is_lora(model: nn.Module) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold LoRA adapters into the base weights; a plain model is returned unchanged."""
    if is_lora(model):
        return model.merge_and_unload()
    return model


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that train, by name (what EMA tracks and a small checkpoint holds)."""
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
