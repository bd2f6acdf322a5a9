"""Both trainers train under bf16 autocast with CUDA's casting rules, emulated on CPU.

The first GPU run of either trainer in bf16 failed: Pocket on the first step that computed
LSD's self-distillation term (a forward-mode tangent turned fp32 beside its bf16 primal),
Higgs on its first forward (fp32 audio embeddings scattered into bf16 text embeddings).
Both come from CUDA autocast running reductions in fp32 where CPU autocast does not;
``support.cuda_autocast`` gives CPU autocast CUDA's rules, and ``--precision bf16`` on CPU
runs Accelerate's CPU autocast, so the real training loops reproduce them here. Checked for
a few steps: the losses are finite and stay within bf16 rounding of an fp32 run of the same
seed (same data, noise and dropout), and the steps ran in bf16 where expected (Pocket's
transformer and diagonal-only sampler-head calls; Higgs' bf16 model, gradient checkpointing
on) and in fp32 where the fix puts them (Pocket's LSD terms). Higgs' evaluation also clones
a sample with the bf16 model, as it would on the GPU.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import torch

from natiq.backends.higgs.train_config import HiggsTrainConfig
from natiq.backends.higgs.trainer import run_training
from natiq.backends.pocket.objectives import distill_on_step
from natiq.backends.pocket.recipe import ObjectiveSettings
from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.backends.pocket.trainer import train
from natiq.common.files import read_jsonl
from support.cuda_autocast import cuda_autocast_rules

STEPS = 3
QUIET = lambda line: None  # noqa: E731


def _curves(run_dir: Path) -> dict[str, list[float]]:
    curves: dict[str, list[float]] = defaultdict(list)
    for _, row in read_jsonl(run_dir / "train_log.jsonl"):
        for name, value in row.items():
            if name.startswith("train/") and name not in ("train/lr", "train/steps_per_s"):
                curves[name].append(value)
    return dict(curves)


def _run_recording_dtypes(run) -> dict[str, set[torch.dtype]]:
    """``run()`` under CUDA's autocast rules; the output dtypes of every module class.

    Accelerate keeps one process-wide state that refuses a second mixed-precision
    setting, so it is reset before and after (as Accelerate's own tests do).
    """
    from accelerate.state import AcceleratorState

    seen: dict[str, set[torch.dtype]] = defaultdict(set)

    def record(module, args, output) -> None:
        if isinstance(output, torch.Tensor) and output.is_floating_point():
            seen[type(module).__name__].add(output.dtype)

    AcceleratorState._reset_state(reset_partial_state=True)
    handle = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        with cuda_autocast_rules():
            run()
    finally:
        handle.remove()
        AcceleratorState._reset_state(reset_partial_state=True)
    return seen


def _assert_close_curves(bf16: dict, fp32: dict, tolerance: float) -> None:
    assert bf16.keys() == fp32.keys()
    for name, values in bf16.items():
        assert len(values) == STEPS and all(math.isfinite(v) for v in values), (name, values)
        for low, full in zip(values, fp32[name], strict=True):
            assert abs(low - full) <= tolerance * max(abs(full), 1e-3), (name, values, fp32[name])


def test_pocket_trains_in_bf16_with_fp32_lsd_terms(
    tmp_path: Path, pocket_latents: Path, pocket_base: Path
) -> None:
    objective = ObjectiveSettings(distill_every_prob=0.5)
    # a seed whose 3 steps include both a diagonal-only step and an LSD step
    seed = next(
        s for s in range(100) if len({distill_on_step(objective, s, k) for k in range(STEPS)}) == 2
    )

    def config(precision: str) -> PocketTrainConfig:
        return PocketTrainConfig(
            metadata=str(pocket_latents), output_dir=str(tmp_path / precision),
            base=str(pocket_base), text_mode="romanized", objective=objective,
            per_device_train_batch_size=2, learning_rate=1e-3, warmup_steps=0, max_steps=STEPS,
            save_steps=STEPS, eval_steps=0, logging_steps=1, ema_decay=0.0,
            use_precomputed_latents=True, device="cpu", precision=precision, seed=seed,
        )  # fmt: skip

    low = _run_recording_dtypes(lambda: train(config("bf16"), log=QUIET))
    full = _run_recording_dtypes(lambda: train(config("fp32"), log=QUIET))
    assert low["StreamingTransformer"] == {torch.bfloat16}
    assert low["SimpleMLPAdaLN"] == {torch.bfloat16, torch.float32}  # diagonal steps, LSD terms
    assert set().union(*full.values()) == {torch.float32}
    _assert_close_curves(_curves(tmp_path / "bf16"), _curves(tmp_path / "fp32"), 0.01)


def test_higgs_trains_in_bf16_with_gradient_checkpointing(
    tmp_path: Path, higgs_chatml: Path, higgs_model: Path
) -> None:
    def config(precision: str) -> HiggsTrainConfig:
        return HiggsTrainConfig(
            chatml=str(higgs_chatml), output_dir=str(tmp_path / precision),
            codes_dir=str(tmp_path / "codes"), model=str(higgs_model),
            per_device_train_batch_size=2, gradient_accumulation_steps=1, learning_rate=1e-3,
            warmup_steps=0, max_steps=STEPS, lora_r=4, lora_alpha=8, lora_dropout=0.0,
            save_steps=STEPS, logging_steps=1, gradient_checkpointing=True, device="cpu",
            precision=precision, seed=5, eval_steps=STEPS if precision == "bf16" else 0,
            eval_samples=1,
        )  # fmt: skip

    low = _run_recording_dtypes(lambda: run_training(config("bf16"), log=QUIET))
    full = _run_recording_dtypes(lambda: run_training(config("fp32"), log=QUIET))
    # the evaluation clones a sample with the bf16 model (generation outside autocast)
    [(_, sample)] = read_jsonl(tmp_path / "bf16" / "samples" / f"step_{STEPS}" / "generated.jsonl")
    assert (
        "error" not in sample
        and (tmp_path / "bf16" / "samples" / f"step_{STEPS}" / sample["audio"]).is_file()
    )
    assert low["HiggsAudioV2DecoderLayer"] == {torch.bfloat16}
    # CUDA's rule at work in training: the codebook sum is fp32 before natiq casts it to the
    # text dtype; the evaluation's generation runs without autocast: bf16
    assert low["HiggsAudioV2Embeddings"] == {torch.float32, torch.bfloat16}
    assert full["HiggsAudioV2DecoderLayer"] == {torch.float32}
    _assert_close_curves(_curves(tmp_path / "bf16"), _curves(tmp_path / "fp32"), 0.01)
