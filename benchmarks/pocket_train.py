"""Pocket TTS training speed and memory on CPU, default 100M ``english`` architecture.

The weights are random (the shipped ``english.yaml`` with its weights keys
removed, plus a local 4000-piece tokenizer trained on generated text), so no
download is needed; speed and memory do not depend on the weight values. The
data is the bundled mini-corpus (espeak-ng Arabic, ~3 s per utterance), its
latents made by ``natiq pocket latents`` (targets trimmed after speech, prompt
cut points measured).

Compares, each case in a fresh process (so peak RSS is the case's own):
today's defaults (romanized text, LoRA, uniform-time LSD, no text variation,
no bucketing) against the new defaults (native text, full fine-tuning, the
reference recipe: logit-normal times, learned weighting, distillation on a
quarter of the steps, 4 noise draws, condition dropout, prompts cut at pauses,
per-epoch text variation, length buckets), and the new data rules alone against
today's on the same model and objective (the data rules must cost < 15%); plus
on-the-fly Mimi encoding and LoRA vs full. A step is what ``natiq pocket
train`` does per optimizer step: load a batch (and encode it when on the fly),
teacher-forced forward, loss, backward, AdamW step. Fixed step counts, one
torch thread. Each case also times its data loader alone (ms per batch).

    python benchmarks/pocket_train.py [--steps 3] [--warmup 1] [--threads 1] [--cases ...]
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

# objective / data: "today" = the settings natiq trained with before the reference recipe.
CASES: dict[str, dict] = {
    "today's defaults": {
        "precomputed": True, "lora": True, "batch": 4, "text": "romanized",
        "objective": "today", "data": "today",
    },
    "new defaults": {
        "precomputed": True, "lora": False, "batch": 4, "text": "native",
        "objective": "reference", "data": "reference",
    },
    "new defaults, today's data rules": {
        "precomputed": True, "lora": False, "batch": 4, "text": "native",
        "objective": "reference", "data": "today",
    },
    "new defaults, on the fly": {
        "precomputed": False, "lora": False, "batch": 4, "text": "native",
        "objective": "reference", "data": "reference",
    },
    "new recipe, LoRA": {
        "precomputed": True, "lora": True, "batch": 4, "text": "native",
        "objective": "reference", "data": "reference",
    },
}  # fmt: skip
LOADER_BATCHES = 40


def objective_settings(kind: str):
    from natiq.backends.pocket.recipe import ObjectiveSettings

    if kind == "reference":
        return ObjectiveSettings()
    return ObjectiveSettings(
        time_sampling="uniform", p_equal=0.5, learned_weighting=False, distill_every_prob=1.0,
        noise_draws=1, teacher_gradient="none",
    )  # fmt: skip


def example_settings(kind: str):
    from natiq.backends.pocket.recipe import ExampleSettings

    if kind == "reference":
        return ExampleSettings()
    return ExampleSettings(
        prompt_max_seconds=3.0, prompt_trim_max_seconds=0.0, final_punctuation_dropout=0.0,
        vary_diacritics=False, bucket_batches=1, text_dropout=0.0, voice_dropout=0.0,
    )  # fmt: skip


def generated_text(lines: int, seed: int = 0) -> list[str]:
    """Pseudo-words from Buckwalter letters: enough variety for 4000 BPE pieces."""
    rng = random.Random(seed)
    consonants = "btvjHxd*rzs$SDTZEgfqklmnhwy'><&}|{pA"  # every Buckwalter letter
    vowels = "aiuAywoFNK~Y"  # short vowels, sukun, tanween, shadda, alef maqsura
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
        read_utterances,
    )
    from natiq.backends.pocket.export import checkpoint_size_bytes
    from natiq.backends.pocket.lora import count_parameters
    from natiq.backends.pocket.model_setup import setup_run
    from natiq.backends.pocket.objectives import LossModule
    from natiq.backends.pocket.train_config import PocketTrainConfig

    case = CASES[name]
    metadata = latents_manifest if case["precomputed"] else manifest
    config = PocketTrainConfig(
        metadata=str(metadata),
        base=str(base),
        text_mode=case["text"],
        native_tokenizer="char",
        train_scope="full" if not case["lora"] else "text+flow",
        use_lora=case["lora"],
        per_device_train_batch_size=case["batch"],
        use_precomputed_latents=case["precomputed"],
        device="cpu",
    )
    examples = example_settings(case["data"])
    with tempfile.TemporaryDirectory() as run_dir:
        utterances = read_utterances(metadata, precomputed=case["precomputed"])
        setup = setup_run(
            config, utterances, run_dir=Path(run_dir), resume_dir=None, log=lambda m: None
        )
        data = PocketTrainData(
            utterances,
            setup.text,
            encode=None if case["precomputed"] else setup.encode,
            settings=examples,
            max_text_tokens=config.max_text_tokens,
            seed=config.seed,
        )
        sampler = EpochBatchSampler(
            len(data), config.per_device_train_batch_size, seed=config.seed, lengths=data.lengths(),
            bucket_batches=examples.bucket_batches,
        )  # fmt: skip
        loader = torch.utils.data.DataLoader(
            data, batch_sampler=sampler, collate_fn=make_collate(setup.pad_id),
            generator=torch.Generator(),
        )  # fmt: skip
        loader_ms = time_loader(loader, sampler, LOADER_BATCHES if case["precomputed"] else 4)
        model = LossModule(setup.trainable, objective_settings(case["objective"])).train()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params, lr=config.learning_rate, betas=(0.9, 0.95), weight_decay=0.1
        )
        padding = padded_share(loader, sampler)
        batches = forever(loader, sampler)
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
        "loader_ms_per_batch": loader_ms,
        "padding_share": padding,
        "steps_per_s": len(timings) / sum(timings),
        "sec_per_step": sum(timings) / len(timings),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "utterances_per_s": case["batch"] * len(timings) / sum(timings),
        "checkpoint_weights_mb": weights_bytes / 1e6,
        "trainable_params": trainable,
        "total_params": total,
    }


def forever(loader, sampler):
    """Batches epoch after epoch (the mini-corpus has few batches per epoch)."""
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def time_loader(loader, sampler, count: int) -> float:
    """Milliseconds per batch the data loader alone takes (text, prompt, collate)."""
    batches = forever(loader, sampler)
    next(batches)
    started = time.perf_counter()
    for _ in range(count):
        next(batches)
    return 1000 * (time.perf_counter() - started) / count


def padded_share(loader, sampler) -> float:
    """Share of an epoch's padded rows that is padding (prompt + text + target positions)."""
    sampler.set_epoch(0)
    real = total = 0
    for batch in loader:
        lengths = batch.text_lengths + batch.latent_lengths
        if batch.prompt_lengths is not None:
            lengths = lengths + batch.prompt_lengths
        real += int(lengths.sum())
        total += int(lengths.max()) * batch.batch_size
    return 1 - real / total


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
                f"{r['case']:<34} {r['steps_per_s']:.3f} steps/s  ({r['sec_per_step']:.2f} s/step, "
                f"{r['utterances_per_s']:.2f} utt/s)  loader {r['loader_ms_per_batch']:.1f} ms/batch  "
                f"padding {100 * r['padding_share']:.0f}%  peak RSS {r['peak_rss_mb']:.0f} MB  "
                f"trainable {r['trainable_params'] / 1e6:.2f}M of {r['total_params'] / 1e6:.1f}M  "
                f"checkpoint weights {r['checkpoint_weights_mb']:.1f} MB",
                flush=True,
            )
    by_name = {r["case"]: r for r in results}

    def ratio(a: str, b: str, key: str = "steps_per_s") -> float | None:
        if a in by_name and b in by_name:
            return by_name[a][key] / by_name[b][key]
        return None

    comparisons = [
        ("new defaults", "today's defaults", "new defaults vs today's: steps/s"),
        (
            "new defaults",
            "new defaults, today's data rules",
            "new data rules vs today's (same model and objective): steps/s (must be >= 0.85)",
        ),
        ("new defaults", "new defaults, on the fly", "precomputed vs on-the-fly: steps/s"),
        ("new recipe, LoRA", "new defaults", "LoRA vs full fine-tuning: steps/s"),
    ]
    for a, b, label in comparisons:
        value = ratio(a, b)
        if value is not None:
            print(f"{label}: {value:.2f}x")
    value = ratio("new defaults", "new defaults, today's data rules", "loader_ms_per_batch")
    if value is not None:
        print(f"data loader alone, new rules vs today's: {value:.2f}x ms per batch")


if __name__ == "__main__":
    main()
