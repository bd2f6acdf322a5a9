"""Exponential moving average of the trained weights, correct when parameters are sharded.

The shadow is built **after** ``accelerator.prepare`` from the prepared
model's own parameters (FSDP replaces them by sharded DTensors; a shadow of the
parameters from before ``prepare`` would never move). Each process keeps the
shadow of its shard; ``save`` gathers full tensors (every process must call it)
and the main process writes ``ema.safetensors``, keyed by parameter name
relative to the trained model, as exported. Only trainable parameters are
tracked, so the shadow is as small as the adapter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

from natiq.common.errors import CheckpointMismatchError
from natiq.common.files import atomic_path

EMA_FILE = "ema.safetensors"


def _is_dtensor(tensor: torch.Tensor) -> bool:
    from torch.distributed.tensor import DTensor

    return isinstance(tensor, DTensor)


def _full(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.full_tensor() if _is_dtensor(tensor) else tensor


class EMA:
    """``shadow = decay * shadow + (1 - decay) * param`` after every optimizer step."""

    def __init__(
        self, named_params: Iterable[tuple[str, torch.nn.Parameter]], decay: float
    ) -> None:
        self.decay = decay
        self.params = {name: p for name, p in named_params if p.requires_grad}
        self.shadow = {name: p.detach().clone().float() for name, p in self.params.items()}

    @torch.no_grad()
    def update(self) -> None:
        for name, param in self.params.items():
            self.shadow[name].lerp_(param.detach().float(), 1.0 - self.decay)

    def full_shadow(self) -> dict[str, torch.Tensor]:
        """Whole tensors on CPU (gathers shards: every process must call)."""
        return {
            name: _full(value).detach().contiguous().cpu() for name, value in self.shadow.items()
        }

    def save(self, directory: str | Path, *, write: bool = True) -> Path:
        """Gather and (where ``write``, i.e. on the main process) write ``ema.safetensors``."""
        from safetensors.torch import save_file

        full = self.full_shadow()
        target = Path(directory) / EMA_FILE
        if write:
            with atomic_path(target) as tmp:
                save_file(full, str(tmp))
        return target

    @torch.no_grad()
    def load(self, directory: str | Path) -> None:
        loaded = load_ema_file(Path(directory) / EMA_FILE)
        if set(loaded) != set(self.shadow):
            raise CheckpointMismatchError(
                f"{directory}: the EMA weights track other parameters than this run trains "
                "(was the checkpoint made with another scope or LoRA setting?)"
            )
        for name, value in loaded.items():
            shadow = self.shadow[name]
            if _is_dtensor(shadow):
                from torch.distributed.tensor import distribute_tensor

                value = distribute_tensor(
                    value.to(shadow.dtype), shadow.device_mesh, shadow.placements
                )
            shadow.copy_(value)


def load_ema_file(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointMismatchError(
            f"{path}: no EMA weights in this checkpoint (train with --ema-decay)"
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
