"""Higgs checks that need a GPU (and bitsandbytes): < 3 minutes on one H200.

1. ``--quantize 4bit|8bit`` through natiq's ``load_model`` with the text head
   loaded: every decoder projection is a bitsandbytes layer, both heads stay
   ``nn.Linear`` in full precision.
2. ``natiq higgs memory`` against ``torch.cuda`` allocator statistics for a
   mid-size stand-in (real 128k vocabulary, hidden 1024, 4 layers, a 2048-token
   sample): weights + trainable from ``memory_allocated`` after one step,
   activations from ``max_memory_allocated`` during the next, for a bf16,
   8-bit and 4-bit base, with and without a text loss. Reported with the
   ratio; PASS within 10% (the 1 GiB CUDA allowance is left out of both).
3. A bf16 merge (``natiq higgs merge`` default) of a random LoRA adapter
   gives the adapted model's logits on the GPU within bf16 rounding, and
   greedy cloning is deterministic across seeds.

Prints one ``PASS``/``FAIL`` line per check with its figures.

    pip install bitsandbytes   # if missing
    PYTHONPATH=src python scripts/gpu_check_higgs.py

A dry run on CPU (``NATIQ_GPU_CHECK_DEVICE=cpu``, no bitsandbytes needed) goes as far
as CPU allows: instead of 1 and 2 (CUDA only), two bf16 LoRA training steps of the
stand-in per text-loss setting under CPU autocast that casts by CUDA's rules
(``tests/support/cuda_autocast.py``, where CUDA-only mixed-precision failures show);
then 3 on CPU.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "benchmarks" / "higgs_memory.py"
DEVICE = os.environ.get("NATIQ_GPU_CHECK_DEVICE", "cuda")
results: list[bool] = []


def report(ok: bool, name: str, detail: str) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def load_benchmark():
    spec = importlib.util.spec_from_file_location("higgs_memory_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def check_skip_list(model_dir: Path) -> None:
    import bitsandbytes as bnb

    from natiq.backends.higgs.loading import load_model

    expected = {"4bit": bnb.nn.Linear4bit, "8bit": bnb.nn.Linear8bitLt}
    for mode, layer_class in expected.items():
        model = load_model(
            str(model_dir),
            device=torch.device("cuda", 0),
            dtype=torch.bfloat16,
            quantize=mode,  # type: ignore[arg-type]
            use_text_head=True,
        )
        projections = [
            m
            for n, m in model.named_modules()
            if n.startswith("model.layers.") and n.endswith("_proj")
        ]
        heads = [type(model.audio_lm_head), type(model.text_lm_head)]
        ok = all(isinstance(m, layer_class) for m in projections) and heads == [torch.nn.Linear] * 2
        dtypes = (model.audio_lm_head.weight.dtype, model.text_lm_head.weight.dtype)
        report(
            ok,
            f"quantize {mode} skip list",
            f"{len(projections)} projections {layer_class.__name__}, heads {[h.__name__ for h in heads]} {dtypes}",
        )
        del model
        torch.cuda.empty_cache()


def check_memory(bench, model_dir: Path) -> None:
    mb = 1e6
    for name, case in bench.CASES.items():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        run = bench.training_case(
            model_dir, case["mode"], case["text_loss"], 1000, 900, device="cuda:0"
        )
        run.step()
        torch.cuda.synchronize()
        static = torch.cuda.memory_allocated() - before
        trainable = run.trainable_bytes()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        run.step()
        torch.cuda.synchronize()
        activations = torch.cuda.max_memory_allocated() - start
        reserved = torch.cuda.max_memory_reserved() - before
        measured = {
            "weights": static - trainable,
            "trainable": trainable,
            "activations": activations,
            "seq_len": run.seq_len,
            "text_tokens": run.text_tokens,
        }
        estimated = bench.estimate(model_dir, case, measured, 900)
        parts = ", ".join(
            f"{k} {estimated[k] / mb:.0f}/{measured[k] / mb:.0f} MB"
            for k in ("weights", "trainable", "activations")
        )
        total_est = sum(estimated.values())
        total_meas = static + activations
        ratio = total_est / total_meas
        report(
            abs(ratio - 1) <= 0.10,
            f"memory {name}",
            f"estimate/measured total {total_est / mb:.0f}/{total_meas / mb:.0f} MB = {ratio:.3f} "
            f"({parts}; allocator reserved {reserved / mb:.0f} MB, {run.seq_len} tokens)",
        )
        del run
        torch.cuda.empty_cache()


def check_bf16_steps(bench, model_dir: Path) -> None:
    """CPU dry run: the bf16 LoRA cases train (finite losses) under CUDA's autocast rules."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.cuda_autocast import cuda_autocast_rules

    for name, case in bench.CASES.items():
        if case["mode"] != "lora-bf16":
            continue
        with cuda_autocast_rules():
            run = bench.training_case(model_dir, case["mode"], case["text_loss"], 100, 90)
            losses = [run.step() for _ in range(2)]
        report(
            all(math.isfinite(v) for v in losses),
            f"bf16 training steps {name} (cpu, CUDA autocast rules)",
            f"losses {[round(v, 3) for v in losses]}, {run.seq_len} tokens",
        )


def check_merge_and_greedy(tmp: Path) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import HiggsAudioV2ForConditionalGeneration

    from natiq.backends.higgs.cloning import CloneOptions, HiggsCloner, Reference
    from natiq.backends.higgs.merge import MergeConfig, merge_adapter
    from natiq.backends.higgs.tiny import write_tiny_model
    from natiq.backends.higgs.train_config import DEFAULT_LORA_TARGETS, TRAINER
    from natiq.common.files import atomic_write_json
    from natiq.text import FrontendConfig
    from natiq.training.checkpoint import TrainingRecord

    base_dir = write_tiny_model(tmp / "tiny", hidden_size=256)
    adapter = tmp / "adapter"
    torch.manual_seed(0)
    peft_model = get_peft_model(
        HiggsAudioV2ForConditionalGeneration.from_pretrained(base_dir),
        LoraConfig(
            r=8, lora_alpha=16, target_modules=list(DEFAULT_LORA_TARGETS), init_lora_weights=False
        ),
    )
    peft_model.save_pretrained(adapter)
    TrainingRecord(trainer=TRAINER, config={"model": str(base_dir)}).save(adapter)
    atomic_write_json(adapter / "natiq_frontend.json", FrontendConfig().to_dict())
    merged_dir = merge_adapter(MergeConfig(adapter=adapter, output_dir=tmp / "merged"))

    device = torch.device(DEVICE)
    merged = (
        HiggsAudioV2ForConditionalGeneration.from_pretrained(merged_dir, dtype=torch.bfloat16)
        .to(device)
        .eval()
    )
    reference = (
        PeftModel.from_pretrained(
            HiggsAudioV2ForConditionalGeneration.from_pretrained(base_dir), str(adapter)
        )
        .to(device)
        .eval()
    )
    frames = torch.randint(0, 1024, (1, 12, 8), device=device)
    input_ids = torch.tensor(
        [[128000, 300, 301, 128013] + [128016] * 5 + [128014] * 7 + [128012]], device=device
    )
    inputs = dict(
        input_ids=input_ids,
        audio_input_ids=frames,
        audio_input_ids_mask=torch.ones((1, 12), dtype=torch.bool, device=device),
    )
    with torch.no_grad():
        got = merged(**inputs).logits.float()
        want = reference(**inputs).logits.float()
    scale = want.abs().max().item()
    diff = (got - want).abs().max().item()
    dtype = next(merged.parameters()).dtype
    report(
        dtype == torch.bfloat16 and diff <= 0.05 * scale,
        "bf16 merge",
        f"dtype {dtype}, max |logit diff| {diff:.4f} of max |logit| {scale:.3f}",
    )

    cloner = HiggsCloner.load(model=str(merged_dir), device=DEVICE)
    cloner.model.generation_config.ras_win_len = 7
    cloner.model.generation_config.ras_win_max_num_repeat = 1
    voice = Reference(codes=torch.randint(0, 1024, (8, 50)), text="marhaban")
    runs = [
        cloner.generate_codes(
            voice, "na'am", CloneOptions(temperature=0, max_new_tokens=80, seed=seed)
        ).codes
        for seed in (0, 1, 2)
    ]
    same = all(torch.equal(runs[0], r) for r in runs[1:])
    report(
        same,
        "greedy determinism (checkpoint asks for RAS 7/1)",
        f"{runs[0].shape[1]} frames, identical over 3 seeds: {same}",
    )


def main() -> None:
    started = time.time()
    gpu = DEVICE == "cuda"
    if gpu and not torch.cuda.is_available():
        print("FAIL no CUDA device visible")
        sys.exit(1)
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        if gpu:
            print("FAIL bitsandbytes is not installed: pip install bitsandbytes")
            sys.exit(1)
    name = torch.cuda.get_device_name(0) if gpu else "cpu (dry run)"
    print(f"device: {name}; torch {torch.__version__}")
    bench = load_benchmark()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        standin = tmp / "standin"
        bench.build_model(standin, hidden=1024, intermediate=2736, layers=4)
        if gpu:
            check_skip_list(standin)
            check_memory(bench, standin)
        else:
            check_bf16_steps(bench, standin)
        check_merge_and_greedy(tmp)
    print(f"{sum(results)}/{len(results)} checks passed in {time.time() - started:.0f} s")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
