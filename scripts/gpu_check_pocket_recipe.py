"""GPU check of pocket-tts' training recipe in natiq (< 3 minutes on one H200).

Prints PASS/FAIL lines with figures:

1. the LSD terms and their gradient on CUDA equal an independent derivation
   (``torch.func.jvp`` and a teacher with frozen weights), in fp32;
2. the sampler head alone, trained on Gaussian targets on CUDA, lands on the
   exact one-step map ``mu + sigma * x0``;
3. a full-size (100M ``english`` architecture, random weights) training step
   with the reference recipe in bf16 autocast: finite losses, every term
   present, the learned weighting receives gradient;
4. steps/s of the new defaults (reference objective, new data rules) against
   today's objective and data rules, same model, bf16, batch 16, plus the data
   loader alone (the data rules must cost < 15%).

    python scripts/gpu_check_pocket_recipe.py [--steps 20] [--batch 16]

A dry run on CPU: ``NATIQ_GPU_CHECK_DEVICE=cpu python scripts/gpu_check_pocket_recipe.py
--steps 1 --batch 2`` runs the same checks on CPU, the bf16 steps under CPU autocast
that casts by CUDA's rules (``tests/support/cuda_autocast.py``), so CUDA-only
mixed-precision failures show up there too; speed figures are printed, not judged.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "benchmarks"), str(ROOT / "tests")]
DEVICE = os.environ.get("NATIQ_GPU_CHECK_DEVICE", "cuda")


def report(name: str, ok: bool, detail: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    return ok


def check_derivation(device: torch.device) -> bool:
    from pocket_tts.modules.mlp import SimpleMLPAdaLN

    from natiq.backends.pocket.objectives import lsd_rows
    from support.lsd_reference import independent_lsd_rows, random_draws

    torch.manual_seed(0)
    head = SimpleMLPAdaLN(32, 128, 32, 64, 3, num_time_conds=2).to(device)
    n = 256
    gen = torch.Generator(device=device).manual_seed(1)
    cond = torch.randn(n, 64, device=device, generator=gen)
    x1 = torch.randn(n, 32, device=device, generator=gen)
    draws = random_draws(n, 32, gen, device)
    ours = lsd_rows(head, cond, x1, draws, "input")
    theirs = independent_lsd_rows(head, cond, x1, draws)
    worst_value = max(
        float((a - b).detach().abs().max()) for a, b in zip(ours, theirs, strict=True)
    )
    params = list(head.parameters())
    worst_grad = 0.0
    for a, b in zip(ours, theirs, strict=True):
        ga = torch.autograd.grad(a.sum(), params, retain_graph=True, allow_unused=True)
        gb = torch.autograd.grad(b.sum(), params, retain_graph=True, allow_unused=True)
        for x, y in zip(ga, gb, strict=True):
            if x is not None and y is not None:
                scale = float(y.abs().max()) or 1.0
                worst_grad = max(worst_grad, float((x - y).abs().max()) / scale)
    ok = worst_value < 1e-3 and worst_grad < 1e-3
    return report(
        f"lsd terms and gradient = independent derivation ({device.type}, fp32)",
        ok,
        f"max |value diff| {worst_value:.2e}, max relative grad diff {worst_grad:.2e}",
    )


def check_gaussian(device: torch.device) -> bool:
    from pocket_tts.models.flow_lm import lsd_decode
    from pocket_tts.modules.mlp import SimpleMLPAdaLN

    from natiq.backends.pocket.objectives import head_losses
    from natiq.backends.pocket.recipe import ObjectiveSettings

    gen = torch.Generator().manual_seed(0)
    conds = torch.randn(4, 8, generator=gen).to(device)
    mu = (1.5 * torch.randn(4, 8, generator=gen)).to(device)
    sigma = (0.3 + 1.2 * torch.rand(4, 8, generator=gen)).to(device)
    torch.manual_seed(1)
    head = SimpleMLPAdaLN(8, 64, 8, 8, 2, num_time_conds=2).to(device)
    settings = ObjectiveSettings(
        time_sampling="uniform", learned_weighting=False, distill_every_prob=1.0, noise_draws=1
    )
    optimizer = torch.optim.Adam(head.parameters(), lr=3e-3)
    draw = torch.Generator(device=device).manual_seed(2)
    started = time.perf_counter()
    for _ in range(600):
        which = torch.randint(0, 4, (512,), generator=draw, device=device)
        x1 = mu[which] + sigma[which] * torch.randn(512, 8, generator=draw, device=device)
        loss = head_losses(head, conds[which], x1, settings=settings, generator=draw)
        optimizer.zero_grad()
        loss.total.backward()
        optimizer.step()
    which = torch.arange(4, device=device).repeat_interleave(256)
    x0 = torch.randn(which.shape[0], 8, device=device, generator=draw)
    with torch.no_grad():
        one_step = lsd_decode(partial(head, conds[which]), x0, 1)
    error = float(((one_step - (mu[which] + sigma[which] * x0)) ** 2).mean())
    return report(
        f"one-step map of Gaussian targets ({device.type})",
        error <= 0.12,
        f"MSE to mu + sigma * x0 {error:.4f} after 600 steps ({time.perf_counter() - started:.1f} s)",
    )


def full_size_runs(device: torch.device, steps: int, batch_size: int) -> bool:
    import pocket_train as bench
    from natiq.backends.pocket.dataset import (
        EpochBatchSampler,
        PocketTrainData,
        make_collate,
        read_utterances,
    )
    from natiq.backends.pocket.model_setup import setup_run
    from natiq.backends.pocket.objectives import LossModule, distill_on_step
    from natiq.backends.pocket.train_config import PocketTrainConfig

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base, _manifest, latents = bench.prepare(work)
        results = {}
        for name, objective, data in (
            ("today", "today", "today"),
            ("new data rules", "today", "reference"),
            ("new defaults", "reference", "reference"),
        ):
            config = PocketTrainConfig(
                metadata=str(latents), base=str(base), text_mode="native", native_tokenizer="char",
                train_scope="full", use_lora=False, per_device_train_batch_size=batch_size,
                device=device.type,
            )  # fmt: skip
            utterances = read_utterances(latents, precomputed=True)
            run_dir = work / name.replace(" ", "_")
            run_dir.mkdir()
            setup = setup_run(config, utterances, run_dir=run_dir, resume_dir=None, log=print)
            setup.tts.to(device)
            examples = bench.example_settings(data)
            dataset = PocketTrainData(
                utterances, setup.text, settings=examples, seed=0, max_text_tokens=512
            )
            sampler = EpochBatchSampler(
                len(dataset), batch_size, seed=0, lengths=dataset.lengths(),
                bucket_batches=examples.bucket_batches,
            )  # fmt: skip
            loader = torch.utils.data.DataLoader(
                dataset, batch_sampler=sampler, collate_fn=make_collate(setup.pad_id)
            )
            loader_ms = bench.time_loader(loader, sampler, 40)
            settings = bench.objective_settings(objective)
            module = LossModule(setup.trainable, settings).to(device).train()
            optimizer = torch.optim.AdamW(
                [p for p in module.parameters() if p.requires_grad],
                lr=2e-4,
                fused=device.type == "cuda",
            )
            batches = bench.forever(loader, sampler)
            timings, terms = [], {}
            for step in range(steps + 3):
                synchronize(device)
                started = time.perf_counter()
                batch = next(batches).to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16):
                    out = module(batch, distill=distill_on_step(settings, 0, step))
                out.total.backward()
                if name == "new defaults" and step == 0:
                    grads = [p.grad for p in module.objective_parameters()]
                    ok &= report(
                        "learned weighting gets gradient (bf16, 100M)",
                        all(g is not None and bool(torch.isfinite(g).all()) for g in grads),
                        f"{len(grads)} tensors",
                    )
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                synchronize(device)
                if step >= 3:
                    timings.append(time.perf_counter() - started)
                terms = {k: float(v) for k, v in out.terms.items()}
            finite = all(torch.isfinite(torch.tensor(v)) for v in terms.values())
            ok &= report(f"{name}: finite losses (bf16)", finite, str(terms))
            results[name] = (steps / sum(timings), loader_ms)
            peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
            print(
                f"{name}: {results[name][0]:.2f} steps/s, loader {loader_ms:.1f} ms/batch, "
                f"peak {peak:.1f} GiB",
                flush=True,
            )
            del module, optimizer, setup
            if device.type == "cuda":
                torch.cuda.empty_cache()
        data_ratio = results["new data rules"][0] / results["today"][0]
        if device.type == "cuda":
            ok &= report(
                "new data rules cost < 15% (steps/s, same objective)",
                data_ratio >= 0.85,
                f"{data_ratio:.2f}x",
            )
        else:
            print(f"new data rules vs today's: {data_ratio:.2f}x steps/s (not judged on CPU)")
        print(
            f"new defaults vs today's: {results['new defaults'][0] / results['today'][0]:.2f}x steps/s"
        )
    return ok


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def cuda_rules_on_cpu(device: torch.device) -> contextlib.AbstractContextManager:
    """On a CPU dry run: CPU autocast casts by CUDA's rules (a no-op on the GPU)."""
    if device.type != "cpu":
        return contextlib.nullcontext()
    from support.cuda_autocast import cuda_autocast_rules

    return cuda_autocast_rules()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16, help="utterances per step")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("FAIL no CUDA device")
        sys.exit(1)
    device = torch.device(DEVICE)
    started = time.perf_counter()
    ok = check_derivation(device)
    ok &= check_gaussian(device)
    with cuda_rules_on_cpu(device):
        ok &= full_size_runs(device, args.steps, args.batch)
    print(f"{'PASS' if ok else 'FAIL'} overall in {time.perf_counter() - started:.0f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
