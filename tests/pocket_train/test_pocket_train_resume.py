"""A run interrupted at step k and resumed ends with exactly the weights of an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from natiq.backends.pocket import checkpointing as ckpt
from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.backends.pocket.trainer import train
from natiq.common.errors import CheckpointMismatchError


def _config(run_dir: Path, manifest: Path, base: Path, **overrides) -> PocketTrainConfig:
    settings = dict(
        metadata=str(manifest),
        checkpoint_dir=str(run_dir),
        base=str(base),
        text_mode="romanized",
        scheme="buckwalter",
        train_scope="text+flow",
        use_lora=True,
        lora_rank=4,
        lora_alpha=8.0,
        lora_dropout=0.1,
        batch_size=2,
        grad_accum=2,
        lr=3e-3,
        warmup_steps=2,
        max_steps=4,
        save_every=2,
        eval_every=0,
        keep_last=2,
        ema=0.9,
        use_precomputed_latents=False,
        device="cpu",
        precision="fp32",
        seed=7,
        log_every=1,
    )
    settings.update(overrides)
    return PocketTrainConfig(**settings)


def _weights(step_dir: Path) -> dict[str, torch.Tensor]:
    tensors = {
        f"adapter/{k}": v
        for k, v in load_file(str(step_dir / "adapter" / "adapter_model.safetensors")).items()
    }
    tensors.update({f"ema/{k}": v for k, v in load_file(str(step_dir / "ema.safetensors")).items()})
    tensors.update(
        {f"buffers/{k}": v for k, v in load_file(str(step_dir / ckpt.BUFFERS_FILE)).items()}
    )
    return tensors


def test_resume_continues_exactly(tmp_path: Path, small_manifest: Path, tiny_base: Path) -> None:
    quiet = lambda message: None  # noqa: E731
    straight = train(_config(tmp_path / "straight", small_manifest, tiny_base), log=quiet)
    assert straight.step == 4

    first = train(
        _config(tmp_path / "resumed", small_manifest, tiny_base), stop_after_step=2, log=quiet
    )
    assert first.step == 2 and first.checkpoint == ckpt.step_dir(tmp_path / "resumed", 2)
    second = train(
        _config(tmp_path / "resumed", small_manifest, tiny_base, resume="latest"), log=quiet
    )
    assert second.step == 4

    a = _weights(tmp_path / "straight" / "step_4")
    b = _weights(tmp_path / "resumed" / "step_4")
    assert a.keys() == b.keys()
    different = [name for name in a if not torch.equal(a[name], b[name])]
    assert different == []
    # training really moved the weights (LoRA B starts at zero)
    assert any(v.abs().sum() > 0 for k, v in a.items() if "lora_B" in k)
    assert straight.losses == second.losses
    # the data position: 5 train utterances in batches of 2 = 3 batches, 2 optimizer steps per epoch
    state = ckpt.TrainerState.load(tmp_path / "resumed" / "step_4")
    assert (state.step, state.epoch, state.batches_in_epoch) == (4, 1, 3)


def test_resume_with_other_structural_settings_is_refused(
    tmp_path: Path, small_manifest: Path, tiny_base: Path
) -> None:
    quiet = lambda message: None  # noqa: E731
    train(
        _config(tmp_path / "run", small_manifest, tiny_base, max_steps=1, save_every=1, ema=0.0),
        log=quiet,
    )
    other = _config(
        tmp_path / "run", small_manifest, tiny_base, max_steps=2, lora_rank=8, resume="latest"
    )
    with pytest.raises(CheckpointMismatchError, match="lora_rank: checkpoint 4 vs now 8"):
        train(other, log=quiet)
