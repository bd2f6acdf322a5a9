"""Pocket TTS training speed and memory on CPU, default 100M ``english`` architecture.

The weights are random (the shipped ``english.yaml`` with its weights keys
removed, plus a local 4000-piece tokenizer trained on generated text), so no
download is needed; speed and memory do not depend on the weight values. The
data is the bundled mini-corpus (espeak-ng Arabic, ~3 s per utterance),
romanized with Buckwalter.

Compares, each case in a fresh process (so peak RSS is the case's own):
precomputed latents vs on-the-fly Mimi encoding, LoRA vs full fine-tuning,
batch size 1/2/4. A step is what ``natiq pocket train`` does per optimizer
step: load a batch (and encode it when on the fly), teacher-forced forward,
LSD + EOS loss, backward, AdamW step. Fixed step counts, one torch thread.

    python benchmarks/pocket_train.py [--steps 3] [--warmup 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES: dict[str, dict] = {
    "precomputed lora b1": {"precomputed": True, "lora": True, "batch": 1},
    "on-the-fly lora b1": {"precomputed": False, "lora": True, "batch": 1},
    "precomputed full b1": {"precomputed": True, "lora": False, "batch": 1},
    "precomputed lora b2": {"precomputed": True, "lora": True, "batch": 2},
    "precomputed lora b4": {"precomputed": True, "lora": True, "batch": 4},
}


def generated_text(lines: int, seed: int = 0) -> list[str]:
    """Pseudo-words from Buckwalter letters: enough variety for 4000 BPE pieces."""
    rng = random.Random(seed)
    consonants = "btvjHxd*rzs$SDTZEgfqklmnhwy'>A"
    vowels = "aiuAyw"
    words = [
        "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(1, 4)))
        for _ in range(3000)
    ]
    return [
        " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) + "." for _ in range(lines)
    ]


def write_random_english(work: Path) -> Path:
    """english.yaml without weights (random init) and with a local 4000-piece tokenizer."""
    import yaml
    from pocket_tts.utils.config import CONFIGS_DIR

    from natiq.backends.pocket.tiny import train_sentencepiece

    tokenizer = work / "tokenizer_4000.model"
    tokenizer.write_bytes(train_sentencepiece(generated_text(6000), 4000))
    config = yaml.safe_load((CONFIGS_DIR / "english.yaml").read_text(encoding="utf-8"))
    config.pop("weights_path", None)
    config.pop("weights_path_without_voice_cloning", None)
    config["flow_lm"]["lookup_table"].update(
        tokenizer="sentencepiece", tokenizer_path=str(tokenizer)
    )
    path = work / "english_random.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def prepare(work: Path) -> tuple[Path, Path, Path]:
    """The base YAML, the mini-corpus manifest (absolute paths) and its precomputed latents."""
    from natiq.backends.pocket.base_model import load_base
    from natiq.backends.pocket.latents import extract_latents
    from natiq.common.files import read_jsonl, write_jsonl
    from natiq.data.mini_corpus import mini_corpus_manifest

    base = write_random_english(work)
    source = mini_corpus_manifest()
    records = []
    for _, record in read_jsonl(source):
        record["audio"] = str((source.parent / record["audio"]).resolve())
        records.append(record)
    manifest = work / "metadata.jsonl"
    write_jsonl(manifest, records)
    tts = load_base(str(base), device="cpu")
    summary = extract_latents(manifest, work / "latents", base=str(base), tts_model=tts)
    return base, manifest, summary.manifest


def run_case(
    name: str, base: Path, manifest: Path, latents_manifest: Path, steps: int, warmup: int
) -> dict:
    """Time ``steps`` optimizer steps after ``warmup`` ones, in this process."""
    import torch

    from natiq.backends.pocket.checkpointing import save_model_weights
    from natiq.backends.pocket.dataset import (
        EpochBatchSampler,
        PocketTrainData,
        make_collate,
        prompt_frames_for,
        read_utterances,
    )
    from natiq.backends.pocket.export import checkpoint_size_bytes
    from natiq.backends.pocket.lora import count_parameters
    from natiq.backends.pocket.model_setup import setup_run
    from natiq.backends.pocket.train_config import PocketTrainConfig
    from natiq.backends.pocket.trainer import LossModule

    case = CASES[name]
    metadata = latents_manifest if case["precomputed"] else manifest
    config = PocketTrainConfig(
        metadata=str(metadata),
        base=str(base),
        train_scope="full" if not case["lora"] else "text+flow",
        use_lora=case["lora"],
        per_device_train_batch_size=case["batch"],
        use_precomputed_latents=case["precomputed"],
        device="cpu",
    )
    with tempfile.TemporaryDirectory() as run_dir:
        utterances = read_utterances(metadata, precomputed=case["precomputed"])
        setup = setup_run(
            config, utterances, run_dir=Path(run_dir), resume_dir=None, log=lambda m: None
        )
        data = PocketTrainData(
            utterances,
            setup.tokenize,
            encode=None if case["precomputed"] else setup.encode,
            prompt_frames=prompt_frames_for(config.prompt_seconds),
            seed=config.seed,
        )
        loader = torch.utils.data.DataLoader(
            data,
            batch_sampler=EpochBatchSampler(
                len(data), config.per_device_train_batch_size, seed=config.seed
            ),
            collate_fn=make_collate(setup.pad_id),
            generator=torch.Generator(),
        )
        model = LossModule(setup.trainable, config.objective, config.eos_weight).train()
        params = [p for p in setup.trainable.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params, lr=config.learning_rate, betas=(0.9, 0.95), weight_decay=0.1
        )
        batches = iter(loader)
        timings = []
        for step in range(warmup + steps):
            started = time.perf_counter()
            batch = next(batches)
            loss = model(batch).total
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step >= warmup:
                timings.append(time.perf_counter() - started)
        trainable, total = count_parameters(setup.trainable)
        save_model_weights(setup.trainable, Path(run_dir), setup.flow_lm)
        weights_bytes = checkpoint_size_bytes(run_dir)
    return {
        "case": name,
        "steps_per_s": len(timings) / sum(timings),
        "sec_per_step": sum(timings) / len(timings),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "utterances_per_s": case["batch"] * len(timings) / sum(timings),
        "checkpoint_weights_mb": weights_bytes / 1e6,
        "trainable_params": trainable,
        "total_params": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=3, help="timed optimizer steps per case")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument(
        "--cases", nargs="*", default=list(CASES), help="subset of: " + ", ".join(CASES)
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--paths", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.case:  # child process: one case
        base, manifest, latents = (Path(p) for p in args.paths)
        print(json.dumps(run_case(args.case, base, manifest, latents, args.steps, args.warmup)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        paths = prepare(work)
        print(
            f"setup (random english base, tokenizer, latents of 20 utterances): {time.perf_counter() - started:.1f} s"
        )
        results = []
        for name in args.cases:
            command = [
                sys.executable, __file__, "--case", name, "--steps", str(args.steps),
                "--warmup", str(args.warmup), "--threads", str(args.threads),
                "--paths", *(str(p) for p in paths),
            ]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            r = results[-1]
            print(
                f"{r['case']:<22} {r['steps_per_s']:.3f} steps/s  ({r['sec_per_step']:.2f} s/step, "
                f"{r['utterances_per_s']:.2f} utt/s)  peak RSS {r['peak_rss_mb']:.0f} MB  "
                f"trainable {r['trainable_params'] / 1e6:.2f}M of {r['total_params'] / 1e6:.1f}M  "
                f"checkpoint weights {r['checkpoint_weights_mb']:.1f} MB",
                flush=True,
            )
    by_name = {r["case"]: r for r in results}
    if "precomputed lora b1" in by_name and "on-the-fly lora b1" in by_name:
        speedup = (
            by_name["precomputed lora b1"]["steps_per_s"]
            / by_name["on-the-fly lora b1"]["steps_per_s"]
        )
        print(f"precomputed vs on-the-fly: {speedup:.2f}x steps/s (target >= 2x)")
    if "precomputed lora b1" in by_name and "precomputed full b1" in by_name:
        lora, full = by_name["precomputed lora b1"], by_name["precomputed full b1"]
        print(
            f"LoRA vs full: {lora['steps_per_s'] / full['steps_per_s']:.2f}x steps/s, "
            f"peak RSS {lora['peak_rss_mb']:.0f} vs {full['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
