"""Exponential moving average of the weights a run trains.

The official Pocket TTS recipe exports EMA weights (decay 0.999): they are
smoother than the last step's. Only trainable parameters are tracked (LoRA
adapters, or the unfrozen scope), so the shadow stays as small as the
adapter. The shadow is saved as ``ema.safetensors`` in each checkpoint, keyed
by parameter name, and exported instead of the raw weights when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from natiq.common.errors import CheckpointMismatchError
from natiq.common.files import atomic_path

EMA_FILE = "ema.safetensors"


class EMA:
    """``shadow = decay * shadow + (1 - decay) * param`` after every optimizer step."""

    def __init__(self, params: Mapping[str, torch.nn.Parameter], decay: float) -> None:
        self.decay = decay
        self.params = dict(params)
        self.shadow = {name: p.detach().clone().float() for name, p in self.params.items()}

    @torch.no_grad()
    def update(self) -> None:
        for name, param in self.params.items():
            self.shadow[name].lerp_(param.detach().float(), 1.0 - self.decay)

    def save(self, directory: str | Path) -> Path:
        from safetensors.torch import save_file

        target = Path(directory) / EMA_FILE
        with atomic_path(target) as tmp:
            save_file({k: v.contiguous().cpu() for k, v in self.shadow.items()}, str(tmp))
        return target

    def load(self, directory: str | Path) -> None:
        loaded = load_ema_file(Path(directory) / EMA_FILE)
        if set(loaded) != set(self.shadow):
            raise CheckpointMismatchError(
                f"{directory}: the EMA weights track other parameters than this run trains "
                "(was the checkpoint made with another --train-scope or --use-lora setting?)"
            )
        for name, value in loaded.items():
            self.shadow[name].copy_(value)


def load_ema_file(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointMismatchError(
            f"{path}: no EMA weights in this checkpoint (train with --ema)"
        )
    return load_file(str(path))


@torch.no_grad()
def copy_shadow_into(model: torch.nn.Module, shadow: Mapping[str, torch.Tensor]) -> None:
    """Overwrite ``model``'s parameters with the EMA values of the same names."""
    params = dict(model.named_parameters())
    missing = sorted(set(shadow) - set(params))
    if missing:
        raise CheckpointMismatchError(f"EMA weights for parameters this model lacks: {missing[:3]}")
    for name, value in shadow.items():
        params[name].copy_(value.to(params[name]))
