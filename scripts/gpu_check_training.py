"""GPU check of the training core (one GPU, < 3 minutes): what CPU tests cannot show.

Run from the repository root: ``PYTHONPATH=src python scripts/gpu_check_training.py``.
Needs no download (tiny random models of the real architectures, the bundled
mini-corpus, generated tones). Prints one ``PASS``/``FAIL`` line per check with figures:

1. Pocket, bf16 autocast on CUDA (``--precision bf16``, Accelerate's mixed precision):
   finite losses, the loss falls while overfitting 4 utterances, the schedule is the
   same as on CPU, and the peak GPU memory.
2. Pocket resume on GPU: stop at step 6, resume to 12; the final LoRA weights equal an
   uninterrupted run's within bf16 noise (GPU kernels may be non-deterministic: the
   largest difference is printed).
3. Pocket export of the GPU checkpoint loads in pocket-tts on the GPU and speaks.
4. Higgs, bf16 on CUDA with gradient checkpointing (the GPU default): finite losses,
   adapter written, cloning from it stops or hits the cap without error.

Several GPUs cannot be checked on one GPU (NCCL refuses two ranks on one device): the
2-process equivalence is tested on CPU (tests/training/test_training_processes.py).

A dry run on CPU: ``NATIQ_GPU_CHECK_DEVICE=cpu`` (fp32), and with
``NATIQ_GPU_CHECK_PRECISION=bf16`` the same steps under CPU bf16 autocast that casts
by CUDA's rules (``tests/support/cuda_autocast.py``): the mixed-precision failures the
first H200 run found show up there too (< 2 minutes on 2 cores).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS: list[tuple[str, bool]] = []
# NATIQ_GPU_CHECK_DEVICE=cpu runs the same steps on CPU (a dry run of this script), in fp32
# unless NATIQ_GPU_CHECK_PRECISION=bf16.
DEVICE = os.environ.get("NATIQ_GPU_CHECK_DEVICE", "cuda")
PRECISION = os.environ.get("NATIQ_GPU_CHECK_PRECISION", "bf16" if DEVICE == "cuda" else "fp32")


def report(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def train_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def pocket_checks(root: Path) -> None:
    from safetensors.torch import load_file

    from natiq.backends.pocket.tiny import write_tiny_model
    from natiq.backends.pocket.train_config import PocketTrainConfig
    from natiq.backends.pocket.trainer import train
    from natiq.data.mini_corpus import mini_corpus_manifest

    base = write_tiny_model(root / "base", d_model=256, num_heads=4, flow_dim=256)
    source = mini_corpus_manifest()
    rows = [json.loads(x) for x in source.read_text(encoding="utf-8").splitlines() if x.strip()]
    chosen = []
    for speaker in ("spk1", "spk2"):
        for row in [r for r in rows if r["speaker"] == speaker][:2]:
            chosen.append(
                {**row, "audio": str((source.parent / row["audio"]).resolve()), "split": "train"}
            )
    manifest = root / "metadata.jsonl"
    manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), "utf-8")

    def config(run: str, **changes) -> PocketTrainConfig:
        values = dict(
            metadata=str(manifest), output_dir=str(root / run), base=str(base),
            use_precomputed_latents=False, train_scope="text+flow", use_lora=True, lora_r=8,
            lora_alpha=16.0,
            per_device_train_batch_size=4, learning_rate=3e-3, warmup_steps=2, max_steps=12,
            save_steps=6, eval_steps=0, logging_steps=1, device=DEVICE, precision=PRECISION, seed=3,
        )  # fmt: skip
        values.update(changes)
        return PocketTrainConfig(**values)

    quiet = lambda line: None  # noqa: E731
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    straight = train(config("straight"), log=quiet)
    seconds = time.perf_counter() - started
    log = train_log(root / "straight")
    totals = [row["train/total"] for row in log]
    finite = all(math.isfinite(v) for v in totals)
    falls = sum(totals[-3:]) / 3 < sum(totals[:3]) / 3
    peak = torch.cuda.max_memory_allocated() / 2**20 if DEVICE == "cuda" else 0.0
    report(
        f"pocket {PRECISION} autocast",
        finite and falls and straight.step == 12,
        f"loss {totals[0]:.4f} -> {totals[-1]:.4f} in 12 steps, {seconds:.1f} s, peak {peak:.0f} MiB",
    )
    lr = [row["train/lr"] for row in log]
    expected = [0.0, 1.5e-3] + [
        3e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - 2) / 10))) for s in range(2, 12)
    ]
    report(
        "pocket schedule on GPU",
        all(abs(a - b) < 1e-9 for a, b in zip(lr, expected, strict=True)),
        f"lr {lr[:3]} ... {lr[-1]:.3e} (warmup 2, cosine to 10%)",
    )

    train(config("resumed", max_steps=12), stop_after_step=6, log=quiet)
    train(config("resumed", resume="latest"), log=quiet)
    a = load_file(str(root / "straight/step_12/adapter/adapter_model.safetensors"))
    b = load_file(str(root / "resumed/step_12/adapter/adapter_model.safetensors"))
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    scale = max(float(a[k].float().abs().max()) for k in a)
    report(
        "pocket resume on GPU",
        worst <= 0.02 * scale,
        f"max |straight - resumed| {worst:.2e} (weights up to {scale:.2e})",
    )

    from natiq.backends.pocket.export import export_checkpoint
    from natiq.synthesizer import Synthesizer

    try:
        yaml_path = export_checkpoint(root / "straight/step_12", root / "export")
        synth = Synthesizer.load("pocket", checkpoint=root / "export", device=DEVICE)
        speech = synth.speak("مرحبا بكم", voice=chosen[0]["audio"])
        seconds = speech.audio.size / speech.sample_rate
        report(
            "pocket export speaks on GPU",
            seconds > 0,
            f"{yaml_path.name}, {seconds:.2f} s of audio",
        )
    except Exception as exc:  # a check script reports, it does not stop
        report("pocket export speaks on GPU", False, f"{type(exc).__name__}: {exc}")


def higgs_checks(root: Path) -> None:
    from natiq.backends.higgs.cloning import CloneOptions, HiggsCloner
    from natiq.backends.higgs.tiny import write_tiny_model
    from natiq.backends.higgs.train_config import HiggsTrainConfig
    from natiq.backends.higgs.trainer import run_training

    model = write_tiny_model(root / "higgs_model", hidden_size=256)
    rate = 24_000
    t = np.arange(int(1.2 * rate)) / rate
    lines = []
    for index, (ref_text, text) in enumerate((("مرحبا", "نعم"), ("شكرا", "كلا"))):
        for role, pitch in (("ref", 180 + 60 * index), ("tgt", 300 + 70 * index)):
            tone = 0.3 * np.sin(2 * np.pi * pitch * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
            sf.write(str(root / f"h{index}_{role}.wav"), tone.astype(np.float32), rate)
        messages = [
            {"role": "system", "content": "Generate audio following instruction."},
            {"role": "user", "content": ref_text},
            {"role": "assistant", "content": {"type": "audio", "audio_url": f"h{index}_ref.wav"}},
            {"role": "user", "content": text},
            {"role": "assistant", "content": {"type": "audio", "audio_url": f"h{index}_tgt.wav"}},
        ]
        lines.append({"id": f"h{index}", "speaker": "s", "messages": messages})
    chatml = root / "train.jsonl"
    chatml.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    config = HiggsTrainConfig(
        chatml=chatml, output_dir=root / "higgs_run", model=str(model), max_steps=30,
        per_device_train_batch_size=2, gradient_accumulation_steps=1, learning_rate=5e-3,
        warmup_steps=0, logging_steps=5, save_steps=30, device=DEVICE, precision=PRECISION,
        gradient_checkpointing=True,  # the GPU default, asked for so a CPU dry run does it too
    )  # fmt: skip
    started = time.perf_counter()
    result = run_training(config, log=lambda line: None)
    seconds = time.perf_counter() - started
    log = train_log(root / "higgs_run")
    audio = [row["train/audio"] for row in log]
    report(
        f"higgs {PRECISION} + gradient checkpointing",
        result.steps == 30 and all(math.isfinite(v) for v in audio) and audio[-1] < audio[0],
        f"audio loss {audio[0]:.2f} -> {audio[-1]:.2f} in 30 steps, {seconds:.1f} s",
    )
    cloner = HiggsCloner.load(model=str(model), adapter=root / "higgs_run", device=DEVICE)
    speech = cloner.clone(
        root / "h0_ref.wav", "مرحبا", "نعم", CloneOptions(temperature=0, max_new_tokens=80)
    )
    seconds = speech.audio.size / rate
    report(
        "higgs clone from the GPU adapter",
        seconds > 0,
        f"{seconds:.2f} s of audio, stopped by itself: {speech.stopped}",
    )


def cuda_rules_on_cpu() -> contextlib.AbstractContextManager:
    """On a CPU dry run in bf16: CPU autocast casts by CUDA's rules (a no-op otherwise)."""
    if DEVICE != "cpu" or PRECISION != "bf16":
        return contextlib.nullcontext()
    sys.path.insert(0, str(ROOT / "tests"))
    from support.cuda_autocast import cuda_autocast_rules

    return cuda_autocast_rules()


def main() -> int:
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("FAIL no CUDA device visible")
        return 1
    name = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu (dry run)"
    print(f"device: {name}, torch {torch.__version__}, precision {PRECISION}", flush=True)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp, cuda_rules_on_cpu():
        root = Path(tmp)
        for check in (pocket_checks, higgs_checks):
            try:
                check(root)
            except Exception as exc:
                report(check.__name__, False, f"{type(exc).__name__}: {exc}")
    failed = [name for name, ok in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)} of {len(RESULTS)} checks passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
