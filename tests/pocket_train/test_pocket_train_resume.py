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
from natiq.training import checkpoint as run_folder


def _config(run_dir: Path, manifest: Path, base: Path, **overrides) -> PocketTrainConfig:
    settings = dict(
        metadata=str(manifest),
        output_dir=str(run_dir),
        base=str(base),
        text_mode="romanized",
        scheme="buckwalter",
        train_scope="text+flow",
        use_lora=True,
        lora_r=4,
        lora_alpha=8.0,
        lora_dropout=0.1,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=2,
        learning_rate=3e-3,
        warmup_steps=2,
        max_steps=4,
        save_steps=2,
        eval_steps=0,
        keep_last=2,
        ema_decay=0.9,
        use_precomputed_latents=False,
        device="cpu",
        precision="fp32",
        seed=7,
        logging_steps=1,
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
    assert first.step == 2 and first.checkpoint == run_folder.step_dir(tmp_path / "resumed", 2)
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
    # the data position: 5 train utterances = 3 batches of 2 per epoch; 4 steps x 2 micro-batches
    # = 8 batches (accumulation runs on across epoch ends): epoch 2, 2 batches into it
    state = run_folder.TrainerState.load(tmp_path / "resumed" / "step_4")
    assert (state.step, state.epoch, state.batches_in_epoch, state.global_batch_size) == (
        4,
        2,
        2,
        2,
    )


def test_resume_with_other_structural_settings_is_refused(
    tmp_path: Path, small_manifest: Path, tiny_base: Path
) -> None:
    quiet = lambda message: None  # noqa: E731
    train(
        _config(
            tmp_path / "run", small_manifest, tiny_base, max_steps=1, save_steps=1, ema_decay=0.0
        ),
        log=quiet,
    )
    other = _config(
        tmp_path / "run", small_manifest, tiny_base, max_steps=2, lora_r=8, resume="latest"
    )
    with pytest.raises(CheckpointMismatchError, match="lora_r: checkpoint 4 vs now 8"):
        train(other, log=quiet)


def test_eval_writes_samples_and_never_changes_the_run(
    tmp_path: Path, small_manifest: Path, tiny_base: Path
) -> None:
    quiet = lambda message: None  # noqa: E731
    settings = dict(max_steps=2, save_steps=2, gradient_accumulation_steps=1, ema_decay=0.0)
    plain = train(_config(tmp_path / "plain", small_manifest, tiny_base, **settings), log=quiet)

    seen: list[Path] = []

    def scorer(folder: Path) -> dict[str, float]:
        seen.append(folder)
        return {"wavs": float(len(list(folder.glob("*.wav"))))}

    evaluated = train(
        _config(
            tmp_path / "eval", small_manifest, tiny_base, eval_steps=1, eval_samples=1, **settings
        ),
        sample_scorer=scorer,
        log=quiet,
    )
    assert [p.name for p in seen] == ["step_1", "step_2"]
    assert evaluated.eval_losses["eval/wavs"] == 1.0
    assert {"diag", "distill", "eos", "total"} <= set(evaluated.eval_losses)
    a = load_file(str(tmp_path / "plain" / "step_2" / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "eval" / "step_2" / "adapter" / "adapter_model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert plain.losses == evaluated.losses


def test_full_fine_tuning_checkpoint_reloads_trained_and_frozen_weights(
    tmp_path: Path, small_manifest: Path, tiny_base: Path
) -> None:
    from natiq.backends.pocket.export import load_checkpoint_model
    from natiq.backends.pocket.tiny import load_tiny_tts

    quiet = lambda message: None  # noqa: E731
    config = _config(
        tmp_path / "full", small_manifest, tiny_base, use_lora=False, train_scope="flow",
        max_steps=1, save_steps=1, gradient_accumulation_steps=1, ema_decay=0.0, lora_dropout=0.0,
        warmup_steps=0,  # transformers' warmup starts at rate 0: one step would not move
    )  # fmt: skip
    result = train(config, log=quiet)
    trained = load_file(str(result.checkpoint / ckpt.TRAINABLE_FILE))
    assert set(trained) and all(k.startswith(("flow_net.", "out_eos.")) for k in trained)

    tts, _ = load_checkpoint_model(result.checkpoint)
    base = load_tiny_tts(tiny_base).flow_lm.state_dict()
    loaded = tts.flow_lm.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in trained.items())
    assert any(not torch.equal(base[k], v) for k, v in trained.items())
    frozen = [k for k in base if k not in trained and k not in ("emb_mean", "emb_std")]
    assert frozen and all(torch.equal(loaded[k], base[k]) for k in frozen)


def test_resumed_native_run_survives_pruning_of_the_checkpoint_it_resumed_from(
    tmp_path: Path, small_manifest: Path, tiny_base: Path
) -> None:
    """Issue 12: the tokenizer of a resumed native run lives in the run folder, not in the
    checkpoint it resumed from, which --keep-last deletes a few saves later."""
    from natiq.backends.pocket.export import load_checkpoint_model

    quiet = lambda message: None  # noqa: E731
    run_dir = tmp_path / "native"
    settings = dict(
        text_mode="native", native_tokenizer="char", gradient_accumulation_steps=1, ema_decay=0.0,
        save_steps=1, keep_last=3, warmup_steps=0,
    )  # fmt: skip
    train(_config(run_dir, small_manifest, tiny_base, max_steps=2, **settings), log=quiet)
    resumed = train(
        _config(run_dir, small_manifest, tiny_base, max_steps=6, resume="latest", **settings),
        log=quiet,
    )
    assert resumed.step == 6
    assert [step for step, _ in run_folder.list_checkpoints(run_dir)] == [4, 5, 6]
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []
    for step in (4, 5, 6):
        assert (run_dir / f"step_{step}" / "tokenizer.model").is_file()
    tts, frontend = load_checkpoint_model(run_dir / "step_6")
    assert frontend.scheme is None and tts.config.flow_lm.lookup_table.tokenizer_path.endswith(
        "step_6/tokenizer.model"
    )
