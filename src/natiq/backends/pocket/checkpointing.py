"""The Pocket files of a checkpoint: trained weights, latent statistics, the objective's parameters.

The run folder itself (``step_<N>/``, records, atomic publish, pruning) belongs
to ``natiq.training.checkpoint``; this module adds what a Pocket checkpoint
holds besides Accelerate's optimizer / scheduler / RNG files:

- ``adapter/`` (PEFT adapter, LoRA runs) or ``trainable.safetensors`` (the
  unfrozen parameters of a full fine-tuning run);
- ``flow_lm_buffers.safetensors`` (latent statistics ``emb_mean``/``emb_std``);
- ``objective.safetensors`` when the loss itself has trained parameters;
- ``ema.safetensors`` when ``--ema-decay`` is on (``natiq.training.ema``);
- ``training_config.json``, ``natiq_frontend.json`` and ``tokenizer.*``.

The frozen weights are not copied: they come from the base model recorded in
``training_config.json`` (or from ``base_model.safetensors`` in the run
directory when the base had random weights). Weights are written from a full
state dict (gathered by the caller when parameters are sharded).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from natiq.common.errors import CheckpointMismatchError
from natiq.common.files import atomic_path

ADAPTER_DIR = "adapter"
TRAINABLE_FILE = "trainable.safetensors"
BUFFERS_FILE = "flow_lm_buffers.safetensors"
OBJECTIVE_FILE = "objective.safetensors"
BASE_SNAPSHOT_FILE = "base_model.safetensors"
BUFFER_NAMES: tuple[str, ...] = ("emb_mean", "emb_std")
# In a loss module's state dict the trained model sits under this attribute.
MODEL_PREFIX = "flow_lm."


def _save_tensors(tensors: Mapping[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))


def save_model_weights(
    model: torch.nn.Module,
    directory: Path,
    flow_lm: torch.nn.Module,
    state: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Write the trained weights of ``model`` (PEFT adapter or unfrozen parameters) + buffers.

    ``state`` is ``model``'s full state dict when it was gathered from shards;
    by default the model's own tensors are used.
    """
    from natiq.backends.pocket.lora import is_lora, trainable_state

    full = dict(state) if state is not None else model.state_dict()
    if is_lora(model):
        model.save_pretrained(
            str(directory / ADAPTER_DIR), state_dict=full, safe_serialization=True
        )
    else:
        _save_tensors(
            {name: full[name] for name in trainable_state(model)}, directory / TRAINABLE_FILE
        )
    buffers = {name: getattr(flow_lm, name) for name in BUFFER_NAMES}
    _save_tensors(buffers, directory / BUFFERS_FILE)


def save_loss_module(
    loss_module: torch.nn.Module, directory: Path, state: Mapping[str, torch.Tensor]
) -> None:
    """Write the model's weights and the objective's own trained parameters from ``state``.

    ``state`` is the full state dict of the loss module, whose trained model is
    its ``flow_lm`` attribute.
    """
    model_state = {
        k.removeprefix(MODEL_PREFIX): v for k, v in state.items() if k.startswith(MODEL_PREFIX)
    }
    save_model_weights(loss_module.flow_lm, directory, _core(loss_module.flow_lm), model_state)
    own = [
        n
        for n, p in loss_module.named_parameters()
        if p.requires_grad and not n.startswith(MODEL_PREFIX)
    ]
    if own:
        _save_tensors({name: state[name] for name in own}, directory / OBJECTIVE_FILE)


def load_loss_module(loss_module: torch.nn.Module, directory: Path) -> None:
    """Load what ``save_loss_module`` wrote into a loss module built the same way."""
    from safetensors.torch import load_file

    load_model_weights(loss_module.flow_lm, directory, _core(loss_module.flow_lm))
    own = {
        n: p
        for n, p in loss_module.named_parameters()
        if p.requires_grad and not n.startswith(MODEL_PREFIX)
    }
    if not own:
        return
    path = directory / OBJECTIVE_FILE
    if not path.is_file():
        raise CheckpointMismatchError(
            f"{directory}: no {OBJECTIVE_FILE} for the objective's parameters"
        )
    saved = load_file(str(path))
    if set(saved) != set(own):
        raise CheckpointMismatchError(f"{path}: holds other objective parameters than this run's")
    with torch.no_grad():
        for name, value in saved.items():
            own[name].copy_(value)


def _core(model: torch.nn.Module) -> torch.nn.Module:
    """The FlowLM inside a PEFT wrapper (or the model itself)."""
    from natiq.backends.pocket.lora import is_lora

    return model.get_base_model() if is_lora(model) else model


def load_model_weights(model: torch.nn.Module, directory: Path, flow_lm: torch.nn.Module) -> None:
    """Load what ``save_model_weights`` wrote into a model prepared the same way."""
    from safetensors.torch import load_file

    from natiq.backends.pocket.lora import is_lora, trainable_state

    if is_lora(model):
        from peft import set_peft_model_state_dict

        adapter_file = directory / ADAPTER_DIR / "adapter_model.safetensors"
        if not adapter_file.is_file():
            raise CheckpointMismatchError(
                f"{directory}: no LoRA adapter here; the checkpoint was trained with --no-lora"
            )
        result = set_peft_model_state_dict(model, load_file(str(adapter_file)))
        unexpected = list(getattr(result, "unexpected_keys", []) or [])
        if unexpected:
            raise CheckpointMismatchError(
                f"{adapter_file}: adapter weights for modules this model lacks ({unexpected[:3]}); "
                "was it trained with another --train-scope?"
            )
    else:
        weights_file = directory / TRAINABLE_FILE
        if not weights_file.is_file():
            raise CheckpointMismatchError(
                f"{directory}: no {TRAINABLE_FILE}; the checkpoint was trained with --use-lora"
            )
        saved = load_file(str(weights_file))
        expected = trainable_state(model)
        if set(saved) != set(expected):
            raise CheckpointMismatchError(
                f"{weights_file}: holds other parameters than this run trains "
                "(was it trained with another --train-scope?)"
            )
        with torch.no_grad():
            for name, value in saved.items():
                if value.shape != expected[name].shape:
                    raise CheckpointMismatchError(
                        f"{weights_file}: {name} has shape {tuple(value.shape)}, the model "
                        f"{tuple(expected[name].shape)}: another base model?"
                    )
                expected[name].copy_(value)
    buffers_file = directory / BUFFERS_FILE
    if buffers_file.is_file():
        with torch.no_grad():
            for name, value in load_file(str(buffers_file)).items():
                getattr(flow_lm, name).copy_(value)
