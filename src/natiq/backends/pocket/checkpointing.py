"""Checkpoint directories of a Pocket TTS run: naming, atomic writes, pruning, weights.

A run directory holds ``step_<N>/`` checkpoints. Each is written into a
hidden temporary directory and renamed into place only when complete, so a
crash never leaves a half checkpoint that ``--resume latest`` would pick. A
checkpoint holds (besides Accelerate's optimizer / scheduler / RNG files):

- ``adapter/`` (PEFT adapter, LoRA runs) or ``trainable.safetensors`` (the
  unfrozen parameters of a full fine-tuning run);
- ``flow_lm_buffers.safetensors`` (latent statistics ``emb_mean``/``emb_std``);
- ``ema.safetensors`` when ``--ema`` is on;
- ``trainer_state.json`` (step, data position), ``training_config.json``,
  ``natiq_frontend.json`` and the tokenizer of the run.

The frozen weights are not copied: they come from the base model recorded in
``training_config.json`` (or from ``base_model.safetensors`` in the run
directory when the base had random weights).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from natiq.common.errors import CheckpointMismatchError, DataFormatError, ModelLoadError
from natiq.common.files import atomic_path, atomic_write_json

TRAINER_STATE_FILE = "trainer_state.json"
TRAINING_CONFIG_FILE = "training_config.json"
FRONTEND_FILE = "natiq_frontend.json"
ADAPTER_DIR = "adapter"
TRAINABLE_FILE = "trainable.safetensors"
BUFFERS_FILE = "flow_lm_buffers.safetensors"
BASE_SNAPSHOT_FILE = "base_model.safetensors"
STEP_PATTERN = re.compile(r"^step_(\d+)$")
BUFFER_NAMES: tuple[str, ...] = ("emb_mean", "emb_std")


@dataclass
class TrainerState:
    """Where a run stands: optimizer steps done and the data position (epoch, batches used)."""

    step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0

    def save(self, directory: Path) -> None:
        atomic_write_json(directory / TRAINER_STATE_FILE, asdict(self))

    @classmethod
    def load(cls, directory: Path) -> TrainerState:
        path = directory / TRAINER_STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise DataFormatError(f"{path}: unreadable trainer state ({exc})") from None


def step_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / f"step_{step}"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = STEP_PATTERN.match(child.name)
        if match and (child / TRAINER_STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def resolve_checkpoint(spec: str | Path, run_dir: str | Path | None = None) -> Path:
    """``latest`` (newest checkpoint of ``run_dir``) or a checkpoint directory."""
    if str(spec) == "latest":
        if run_dir is None:
            raise ModelLoadError("--resume latest needs --checkpoint-dir")
        found = list_checkpoints(run_dir)
        if not found:
            raise ModelLoadError(f"{run_dir}: no complete checkpoint (step_N/) to resume from")
        return found[-1][1]
    path = Path(spec)
    if not (path / TRAINER_STATE_FILE).is_file():
        raise ModelLoadError(
            f"{path}: not a training checkpoint (no {TRAINER_STATE_FILE}); give a step_N/ dir or 'latest'"
        )
    return path


def temporary_dir(run_dir: Path, step: int) -> Path:
    """The hidden directory a checkpoint is written into (emptied first) before ``publish``."""
    tmp = Path(run_dir) / f".step_{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def publish(tmp: Path, step: int) -> Path:
    """Rename a complete temporary checkpoint to ``step_<step>/`` (replacing an older one)."""
    target = step_dir(tmp.parent, step)
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
    return target


def prune_checkpoints(run_dir: Path, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints; return what was deleted."""
    found = list_checkpoints(run_dir)
    doomed = [path for _, path in found[: max(0, len(found) - keep_last)]]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def save_model_weights(model: torch.nn.Module, directory: Path, flow_lm: torch.nn.Module) -> None:
    """Write the trained weights of ``model`` (PEFT adapter or unfrozen parameters) + buffers."""
    from safetensors.torch import save_file

    from natiq.backends.pocket.lora import is_lora, trainable_state

    if is_lora(model):
        model.save_pretrained(str(directory / ADAPTER_DIR), safe_serialization=True)
    else:
        state = {k: v.detach().contiguous().cpu() for k, v in trainable_state(model).items()}
        with atomic_path(directory / TRAINABLE_FILE) as tmp:
            save_file(state, str(tmp))
    buffers = {name: getattr(flow_lm, name).detach().contiguous().cpu() for name in BUFFER_NAMES}
    with atomic_path(directory / BUFFERS_FILE) as tmp:
        save_file(buffers, str(tmp))


def load_model_weights(model: torch.nn.Module, directory: Path, flow_lm: torch.nn.Module) -> None:
    """Load what ``save_model_weights`` wrote into a model prepared the same way."""
    from safetensors.torch import load_file

    from natiq.backends.pocket.lora import is_lora, trainable_state

    if is_lora(model):
        from peft import set_peft_model_state_dict

        adapter_file = directory / ADAPTER_DIR / "adapter_model.safetensors"
        if not adapter_file.is_file():
            raise CheckpointMismatchError(
                f"{directory}: no LoRA adapter here; the checkpoint was trained without --use-lora"
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
