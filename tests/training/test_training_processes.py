"""Both trainers on 2 CPU processes (torchrun, gloo) equal 1 process at twice the batch.

One ``torchrun --nproc_per_node 2`` launch trains Pocket then Higgs (per-device batch 2);
the same runs on 1 process (batch 4) happen in this test process. Pocket's 5 utterances
make the last global batch of each epoch hold one example, so the second process has
nothing there and runs a weight-0 stand-in; Higgs's 7 samples end each epoch with shards of
2 and 1 examples. Checked:

- each process saw 2 processes (a plain ``accelerate launch --cpu`` would start one);
- the learning rate of every step is identical (the schedule counts optimizer steps);
- Higgs: every logged loss term matches to 1e-5 relative (all examples have equally many
  tokens and frames, LoRA dropout is 0: only the summation order differs) and so do the
  adapters;
- Pocket: the EOS term matches to 1e-5. It draws no noise, and with ``--train-scope flow``,
  no clipping and AdamW (per-parameter) the EOS head is trained by that term alone, so its
  curve pins the examples, their order and weights, and the optimizer steps. The LSD
  terms draw their noise from each process's generator (2 x 2 examples do not draw what
  1 x 4 draw), so they are not compared: the first step's loss varies by 88% over 8 noise
  seeds at these sizes, more than any tolerance could separate from a real difference;
- a checkpoint of the 2-process run resumes in 1 process and continues the same curve.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from natiq.backends.higgs.train_config import HiggsTrainConfig
from natiq.backends.higgs.trainer import run_training
from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.backends.pocket.trainer import train
from natiq.common.files import read_jsonl

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
STEPS = 4  # 2 epochs of 2 global batches (4 + 1 or 4 + 3 examples)
PROMPT = "Generate audio following instruction."


def pocket_settings(manifest: Path, base: Path, output: Path, per_device: int) -> dict:
    return dict(
        metadata=str(manifest), output_dir=str(output), base=str(base), text_mode="romanized",
        train_scope="flow", use_lora=True, lora_r=2, lora_alpha=4.0, lora_dropout=0.0,
        per_device_train_batch_size=per_device, gradient_accumulation_steps=1,
        learning_rate=5e-3, warmup_steps=2, max_steps=STEPS, lr_scheduler_type="cosine_with_min_lr",
        max_grad_norm=0.0, save_steps=2, eval_steps=0, logging_steps=1,
        use_precomputed_latents=True, device="cpu", precision="fp32", seed=11,
    )  # fmt: skip


def higgs_settings(chatml: Path, model: Path, output: Path, codes: Path, per_device: int) -> dict:
    return dict(
        chatml=str(chatml), output_dir=str(output), codes_dir=str(codes), model=str(model),
        per_device_train_batch_size=per_device, gradient_accumulation_steps=1, learning_rate=1e-3,
        warmup_steps=2, max_steps=STEPS, lora_r=4, lora_alpha=8, lora_dropout=0.0,
        lora_target_modules=["q_proj", "v_proj"], save_steps=2, logging_steps=1, device="cpu",
        precision="fp32", seed=5, system_prompt=PROMPT,
    )  # fmt: skip


def curve(run_dir: Path, name: str) -> list[float]:
    return [row[name] for _, row in read_jsonl(run_dir / "train_log.jsonl")]


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
    pocket_latents: Path,
    pocket_base: Path,
    higgs_chatml: Path,
    higgs_model: Path,
) -> dict[str, Path]:
    """One process at batch 4 here, then two processes at batch 2 under torchrun."""
    root = tmp_path_factory.mktemp("processes")
    codes = root / "codes"
    quiet = lambda line: None  # noqa: E731
    train(
        PocketTrainConfig(**pocket_settings(pocket_latents, pocket_base, root / "pocket1", 4)),
        log=quiet,
    )
    run_training(
        HiggsTrainConfig(**higgs_settings(higgs_chatml, higgs_model, root / "higgs1", codes, 4)),
        log=quiet,
    )
    spec = {
        "pocket": pocket_settings(pocket_latents, pocket_base, root / "pocket2", 2),
        "higgs": higgs_settings(higgs_chatml, higgs_model, root / "higgs2", codes, 2),
        "report": str(root / "report"),
    }
    (root / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]),
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    completed = subprocess.run(
        [*command, str(HERE / "run_distributed.py"), str(root / "spec.json")],
        capture_output=True, text=True, timeout=600, env=env, cwd=root,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]
    return {"root": root, "codes": codes}


def test_every_process_sees_two_processes(runs: dict[str, Path]) -> None:
    reports = [json.loads((runs["root"] / "report" / f"rank{r}.json").read_text()) for r in (0, 1)]
    for report in reports:
        assert report["pocket"] == {"processes": 2, "step": STEPS}
        assert report["higgs"] == {"processes": 2, "step": STEPS}


def test_ema_follows_parameters_sharded_by_fsdp2(runs: dict[str, Path]) -> None:
    """Each process keeps the EMA of its shard; saving gathers, loading re-shards."""
    reports = [json.loads((runs["root"] / "report" / f"rank{r}.json").read_text()) for r in (0, 1)]
    for report in reports:
        ema = report["ema_fsdp2"]
        assert ema["parameter_type"] == "DTensor" and ema["max_error"] < 1e-6
        assert ema["local_shapes"]["0.weight"] == [3, 4]  # half of the 6 x 4 weight each


def test_higgs_two_processes_equal_one_at_twice_the_batch(runs: dict[str, Path]) -> None:
    one, two = runs["root"] / "higgs1", runs["root"] / "higgs2"
    assert curve(one, "train/lr") == curve(two, "train/lr")
    assert curve(one, "train/lr")[:3] == pytest.approx([0.0, 5e-4, 1e-3])  # warmup 2, then linear
    for name in ("train/total", "train/audio", "train/codebook_0", "train/codebook_7"):
        assert curve(two, name) == pytest.approx(curve(one, name), rel=1e-5), name
    a = load_file(str(one / "adapter_model.safetensors"))
    b = load_file(str(two / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    assert all(a[k].abs().max() > 0 for k in a if "lora_B" in k)  # training moved them
    recorded = json.loads((two / "training_config.json").read_text(encoding="utf-8"))
    assert recorded["system_prompt"] == PROMPT and recorded["config"]["system_prompt"] == PROMPT
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6


def test_pocket_two_processes_equal_one_at_twice_the_batch(runs: dict[str, Path]) -> None:
    one, two = runs["root"] / "pocket1", runs["root"] / "pocket2"
    lr = curve(one, "train/lr")
    assert lr == curve(two, "train/lr")
    # warmup 2 steps from 0, then cosine to 10% of the peak at step 4
    assert lr == pytest.approx([0.0, 2.5e-3, 5e-3, 2.75e-3])
    eos = curve(one, "train/eos")
    assert curve(two, "train/eos") == pytest.approx(eos, rel=1e-5)
    assert eos[0] != pytest.approx(eos[-1], rel=1e-3)  # the EOS head did train


def test_two_process_checkpoints_resume_in_one_process(
    runs: dict[str, Path],
    pocket_latents: Path,
    pocket_base: Path,
    higgs_chatml: Path,
    higgs_model: Path,
) -> None:
    root = runs["root"]
    quiet = lambda line: None  # noqa: E731
    higgs = higgs_settings(higgs_chatml, higgs_model, root / "higgs_resumed", runs["codes"], 4)
    higgs["resume"] = str(root / "higgs2" / "step_2")
    run_training(HiggsTrainConfig(**higgs), log=quiet)
    resumed, two = root / "higgs_resumed", root / "higgs2"
    assert curve(resumed, "train/lr") == curve(two, "train/lr")[2:]
    assert curve(resumed, "train/total") == pytest.approx(curve(two, "train/total")[2:], rel=1e-5)
    a = load_file(str(two / "adapter_model.safetensors"))
    b = load_file(str(resumed / "adapter_model.safetensors"))
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6

    pocket = pocket_settings(pocket_latents, pocket_base, root / "pocket_resumed", 4)
    pocket["resume"] = str(root / "pocket2" / "step_2")
    result = train(PocketTrainConfig(**pocket), log=quiet)
    assert result.step == STEPS and result.processes == 1
    resumed, two = root / "pocket_resumed", root / "pocket2"
    assert curve(resumed, "train/lr") == curve(two, "train/lr")[2:]
    assert curve(resumed, "train/eos") == pytest.approx(curve(two, "train/eos")[2:], rel=1e-5)
