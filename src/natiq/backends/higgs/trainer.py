"""LoRA fine-tuning of Higgs Audio v2 on ChatML voice-cloning samples.

Reads top to bottom: load, tokenize (cached), encode, wrap with LoRA, then
the loop — batch, forward, loss, backward, step, log, save. Accelerate only
prepares the model and optimizer (device, mixed precision, DDP/DeepSpeed
under ``accelerate launch``); data sharding, accumulation and checkpoints
are explicit here so that a resumed run replays exactly: each epoch's order
comes from ``seed + epoch``, and a checkpoint stores the adapter, optimizer,
scheduler, RNG states and the position in the epoch.

Outputs in ``output_dir``: the final adapter (PEFT files +
``natiq_frontend.json`` + ``training_config.json``), ``checkpoints/step_N/``
(each also a usable adapter dir), ``tensorboard/`` (loss/audio, loss/text,
loss/total, per-codebook losses, lr), ``train_log.jsonl`` and ``skipped.jsonl``.

With ``eval_every`` > 0, every that many steps the first ``eval_samples``
usable samples get a validation loss (``val/*``) and are cloned into
``samples/step_N/`` (wavs + ``generated.jsonl``); an optional
``sample_scorer`` (e.g. ``natiq.eval.make_sample_scorer``, handed in by the
CLI: backends never import ``natiq.eval``) scores that folder, logged as
``eval/<metric>``. Evaluation forks the RNG, so it never changes the run.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from natiq.backends.higgs.audio_codes import CodeStore, tokenize_files
from natiq.backends.higgs.collator import HiggsCollator
from natiq.backends.higgs.config import AudioIds
from natiq.backends.higgs.dataset import encode_training_samples
from natiq.backends.higgs.frontend_io import frontend_config_from_file, save_frontend_config
from natiq.backends.higgs.loading import (
    audio_tokenizer_source,
    load_audio_tokenizer,
    load_model,
    load_text_tokenizer,
    model_source,
)
from natiq.backends.higgs.lora import add_lora, trainable_parameters
from natiq.backends.higgs.losses import HiggsTrainingObjective
from natiq.backends.higgs.train_config import HiggsTrainConfig
from natiq.common.errors import DataFormatError
from natiq.common.files import (
    append_jsonl,
    atomic_path,
    atomic_write_json,
    read_jsonl,
    write_jsonl,
)
from natiq.common.runtime import resolve_precision, select_device

SampleScorer = Callable[[Path], dict[str, float]]
STATE_FILE = "trainer_state.pt"
CONFIG_FILE = "training_config.json"


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    resumed_from: int
    samples: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    last_losses: dict[str, float] = field(default_factory=dict)


def run_training(
    config: HiggsTrainConfig, *, sample_scorer: SampleScorer | None = None
) -> TrainResult:
    """Train from the ChatML file named in ``config``."""
    from natiq.data.chatml import read_chatml

    return train_on_samples(config, read_chatml(config.chatml), sample_scorer=sample_scorer)


def latest_checkpoint(output_dir: Path) -> Path | None:
    candidates = []
    for path in (output_dir / "checkpoints").glob("step_*"):
        match = re.fullmatch(r"step_(\d+)", path.name)
        if match and (path / STATE_FILE).is_file():
            candidates.append((int(match.group(1)), path))
    return max(candidates)[1] if candidates else None


def _rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _epoch_order(num_samples: int, seed: int, epoch: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed + epoch)
    return torch.randperm(num_samples, generator=generator).tolist()


def _lr_lambda(warmup: int, total: int):
    def factor(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        remaining = max(total - warmup, 1)
        return max(0.0, 1.0 - (step - warmup) / remaining)

    return factor


def train_on_samples(
    config: HiggsTrainConfig,
    samples: Sequence[Any],
    *,
    sample_scorer: SampleScorer | None = None,
) -> TrainResult:
    """Train a LoRA adapter on already-read ChatML samples."""
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.utils import set_seed

    config.validate()
    output_dir = Path(config.output_dir)
    device = select_device(config.device)
    precision = resolve_precision(config.precision, device)  # type: ignore[arg-type]
    # Without a text loss the last layer's text `mlp` gets no gradient (its output only
    # reaches the text head), so DDP must be told that some parameters go unused.
    accelerator = Accelerator(
        mixed_precision="no" if precision == "fp32" else precision,
        cpu=device.type == "cpu",
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    set_seed(config.seed)

    frontend_config = frontend_config_from_file(config.frontend_config)
    from natiq.text import TextFrontend

    frontend = TextFrontend(frontend_config)
    source = model_source(config.model)
    tokenizer = load_text_tokenizer(source)
    store = CodeStore(config.codes_dir or output_dir / "codes")
    audio_paths = [p for s in samples for p in (s.ref_audio, s.target_audio) if p is not None]
    audio_tokenizer = None
    if accelerator.is_main_process:
        audio_tokenizer = load_audio_tokenizer(
            audio_tokenizer_source(config.audio_tokenizer, source), accelerator.device
        )
        tokenize_files(audio_tokenizer, audio_paths, store)
        if not config.eval_every:
            audio_tokenizer = None  # only evaluation decodes audio
    accelerator.wait_for_everyone()

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    model = load_model(
        source,
        device=accelerator.device,
        dtype=torch.float32 if precision == "fp16" else dtype,
        quantize=config.quantize,  # type: ignore[arg-type]
        use_text_head=config.text_loss_weight > 0,
    )
    ids = AudioIds.from_config(model.config)
    encoded, skipped = encode_training_samples(
        samples,
        tokenizer=tokenizer,
        ids=ids,
        frontend=frontend,
        store=store,
        max_ref_seconds=config.max_ref_seconds,
        max_target_seconds=config.max_target_seconds,
    )
    if accelerator.is_main_process:
        write_jsonl(output_dir / "skipped.jsonl", (s.to_dict() for s in skipped))
    skipped_ids = {s.id for s in skipped}
    usable = [s for s in samples if str(s.id) not in skipped_ids]
    eval_set = list(zip(usable, encoded, strict=False))[: config.eval_samples]
    if not encoded:
        raise DataFormatError(
            f"{config.chatml}: no usable training sample ({len(skipped)} skipped, see skipped.jsonl)"
        )

    if config.quantize != "none":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    use_checkpointing = (
        config.gradient_checkpointing
        if config.gradient_checkpointing is not None
        else device.type == "cuda"
    )
    if use_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    model = add_lora(
        model,
        r=config.lora_r,
        alpha=config.lora_alpha,
        dropout=config.lora_dropout,
        targets=config.lora_targets,
        train_audio_head=config.train_audio_head,
    )
    objective = HiggsTrainingObjective(model, text_loss_weight=config.text_loss_weight)
    parameters = [p for p in objective.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        parameters, lr=config.learning_rate, weight_decay=config.weight_decay
    )

    world = accelerator.num_processes
    per_step = config.per_device_batch_size * world
    batches_per_epoch = math.ceil(len(encoded) / per_step)
    steps_per_epoch = math.ceil(batches_per_epoch / config.grad_accum)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(config.warmup_steps, total_steps)
    )
    objective, optimizer = accelerator.prepare(objective, optimizer)

    step, epoch, batch_in_epoch, resumed_from = 0, 0, 0, 0
    checkpoint = latest_checkpoint(output_dir) if config.resume else None
    if checkpoint is not None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(
            accelerator.unwrap_model(objective).model,
            load_file(str(checkpoint / "adapter_model.safetensors")),
        )
        state = torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        resumed_from = step
        if accelerator.is_main_process:
            _trim_log(output_dir / "train_log.jsonl", step)

    collator = HiggsCollator(tokenizer.pad_token_id, ids.stream_eos, ids.num_codebooks)
    writer = _tensorboard(output_dir) if accelerator.is_main_process else None
    trainable, total = trainable_parameters(accelerator.unwrap_model(objective))
    accelerator.print(
        f"trainable parameters: {trainable:,} of {total:,}; {len(encoded)} samples, {total_steps} steps"
    )

    objective.train()
    last: dict[str, float] = {}
    running: dict[str, list[float]] = {}
    while step < total_steps:
        order = _epoch_order(len(encoded), config.seed, epoch)
        batches = [order[i : i + per_step] for i in range(0, len(order), per_step)]
        while batch_in_epoch < len(batches) and step < total_steps:
            group_end = min(
                len(batches), (batch_in_epoch // config.grad_accum + 1) * config.grad_accum
            )
            micro = batches[batch_in_epoch:group_end]
            for index, global_batch in enumerate(micro):
                local = global_batch[accelerator.process_index :: world] or global_batch[:1]
                batch = {
                    k: v.to(accelerator.device)
                    for k, v in collator([encoded[i] for i in local]).items()
                }
                is_last = index == len(micro) - 1
                context = (
                    accelerator.no_sync(objective) if not is_last else contextlib.nullcontext()
                )
                with context, accelerator.autocast():
                    out = objective(batch)
                    accelerator.backward(out.loss / len(micro))
                _accumulate(running, out)
            if config.max_grad_norm > 0:
                accelerator.clip_grad_norm_(parameters, config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            batch_in_epoch = group_end
            if batch_in_epoch >= len(batches):
                epoch, batch_in_epoch = epoch + 1, 0
            if step % config.logging_steps == 0 or step == total_steps:
                last = _log(
                    running, step, scheduler.get_last_lr()[0], writer, output_dir, accelerator
                )
                running = {}
            if config.eval_every and step % config.eval_every == 0:
                _evaluate(
                    EvalContext(
                        accelerator, objective, collator, eval_set, store, audio_tokenizer,
                        tokenizer, frontend, config, output_dir, writer, sample_scorer,
                    ),
                    step,
                )  # fmt: skip
            if step % config.save_steps == 0 or step == total_steps:
                _save_checkpoint(
                    accelerator,
                    objective,
                    optimizer,
                    scheduler,
                    config,
                    frontend_config,
                    output_dir / "checkpoints" / f"step_{step}",
                    {"step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch},
                )

    if accelerator.is_main_process:
        save_adapter_dir(
            accelerator.unwrap_model(objective).model, output_dir, config, frontend_config
        )
    if writer is not None:
        writer.close()
    accelerator.wait_for_everyone()
    return TrainResult(
        output_dir=output_dir,
        steps=step,
        resumed_from=resumed_from,
        samples=len(encoded),
        skipped=[s.to_dict() for s in skipped],
        last_losses=last,
    )


def _accumulate(running: dict[str, list[float]], out) -> None:
    running.setdefault("loss/total", []).append(float(out.loss.detach()))
    running.setdefault("loss/audio", []).append(float(out.audio.detach()))
    if out.text is not None:
        running.setdefault("loss/text", []).append(float(out.text.detach()))
    for k, value in enumerate(out.per_codebook.detach().tolist()):
        running.setdefault(f"loss_codebook/{k}", []).append(float(value))


def _trim_log(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint a run resumes from (they are replayed)."""
    if path.is_file():
        kept = [
            r for _, r in read_jsonl(path, skip_partial_last_line=True) if r.get("step", 0) <= step
        ]
        write_jsonl(path, kept)


def _tensorboard(output_dir: Path):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(output_dir / "tensorboard"))


def _log(running, step, lr, writer, output_dir, accelerator) -> dict[str, float]:
    means = {key: sum(values) / len(values) for key, values in running.items() if values}
    means["lr"] = float(lr)
    if accelerator.is_main_process:
        if writer is not None:
            for key, value in means.items():
                writer.add_scalar(key, value, step)
            writer.flush()
        append_jsonl(output_dir / "train_log.jsonl", {"step": step, **means})
        text = f" text {means['loss/text']:.3f}" if "loss/text" in means else ""
        accelerator.print(f"step {step}: audio {means['loss/audio']:.3f}{text} lr {lr:.2e}")
    return means


def save_adapter_dir(
    peft_model, directory: Path, config: HiggsTrainConfig, frontend_config: Any
) -> None:
    """PEFT adapter + ``natiq_frontend.json`` + ``training_config.json`` (a loadable adapter dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(directory))
    save_frontend_config(directory, frontend_config)
    atomic_write_json(directory / CONFIG_FILE, config.to_dict())


def _save_checkpoint(
    accelerator, objective, optimizer, scheduler, config, frontend_config, directory, progress
) -> None:
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    save_adapter_dir(accelerator.unwrap_model(objective).model, directory, config, frontend_config)
    state = {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": _rng_state(),
        **progress,
    }
    with atomic_path(directory / STATE_FILE) as tmp:
        torch.save(state, tmp)


@dataclass
class EvalContext:
    """What an evaluation needs from the run (one object instead of a dozen arguments)."""

    accelerator: Any
    objective: Any
    collator: HiggsCollator
    eval_set: list[tuple[Any, Any]]
    store: CodeStore
    audio_tokenizer: Any
    tokenizer: Any
    frontend: Any
    config: HiggsTrainConfig
    output_dir: Path
    writer: Any
    sample_scorer: SampleScorer | None


def _evaluate(ctx: EvalContext, step: int) -> dict[str, float]:
    """Validation loss on the eval subset, cloned samples, optional scores; all logged."""
    accelerator = ctx.accelerator
    devices = [accelerator.device] if accelerator.device.type == "cuda" else []
    results: dict[str, float] = {}
    ctx.objective.eval()
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(ctx.config.seed + step)
        running: dict[str, list[float]] = {}
        with torch.no_grad(), accelerator.autocast():
            for _, encoded in ctx.eval_set:
                batch = {k: v.to(accelerator.device) for k, v in ctx.collator([encoded]).items()}
                _accumulate(running, ctx.objective(batch))
        # loss/total -> val/total, loss_codebook/3 -> val_codebook/3
        results.update(
            {"val" + k.removeprefix("loss"): sum(v) / len(v) for k, v in running.items() if v}
        )
        if accelerator.is_main_process:
            sample_dir = ctx.output_dir / "samples" / f"step_{step}"
            write_eval_samples(ctx, sample_dir, seed=ctx.config.seed + step)
            if ctx.sample_scorer is not None:
                scores = ctx.sample_scorer(sample_dir)
                results.update({f"eval/{k}": v for k, v in scores.items()})
    ctx.objective.train()
    if accelerator.is_main_process:
        if ctx.writer is not None:
            for key, value in results.items():
                ctx.writer.add_scalar(key, value, step)
            ctx.writer.flush()
        append_jsonl(ctx.output_dir / "eval_log.jsonl", {"step": step, **results})
        shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(results.items()))
        accelerator.print(f"step {step} eval: {shown}")
    return results


def write_eval_samples(ctx: EvalContext, sample_dir: Path, *, seed: int) -> list[dict[str, Any]]:
    """Clone each eval sample's target text in its reference voice: ``<id>.wav`` + ``generated.jsonl``.

    Generation is capped at twice the ground-truth length plus one second; a
    sample that cannot be spoken keeps its row without ``audio`` (the
    evaluator reports it) and the others are still written.
    """
    from natiq.backends.higgs.audio_codes import decode_codes
    from natiq.backends.higgs.cloning import CloneOptions, HiggsCloner
    from natiq.backends.higgs.config import FRAMES_PER_SECOND
    from natiq.common.errors import NatiqError
    from natiq.data.audio import save_wav

    model = ctx.accelerator.unwrap_model(ctx.objective).model
    cloner = HiggsCloner(model, ctx.tokenizer, ctx.audio_tokenizer, ctx.frontend)
    rows = []
    for sample, _ in ctx.eval_set:
        target_frames = int(ctx.store.load(sample.target_audio).shape[1])
        options = CloneOptions(
            seed=seed,
            max_new_tokens=2 * target_frames + int(FRAMES_PER_SECOND),
            max_ref_seconds=ctx.config.max_ref_seconds,
        )
        row: dict[str, Any] = {
            "id": str(sample.id),
            "text": sample.target_text,
            "reference_audio": str(sample.ref_audio),
            "reference_text": sample.ref_text,
            "target_audio": str(sample.target_audio),
        }
        started = time.perf_counter()
        try:
            reference = cloner.prepare_reference(
                sample.ref_audio, sample.ref_text, max_seconds=options.max_ref_seconds
            )
            model_text = ctx.frontend.prepare(sample.target_text).model_text
            generated = cloner.generate_codes(reference, model_text, options)
            if generated.codes.shape[1] == 0:
                raise NatiqError("the model stopped before its first audio frame")
            audio = decode_codes(ctx.audio_tokenizer, generated.codes)
            row["synthesis_seconds"] = time.perf_counter() - started
            path = save_wav(sample_dir / f"{sample.id}.wav", audio, cloner.sample_rate)
            row["audio"] = path.name
        except NatiqError as exc:
            row["error"] = f"not generated: {exc}"
        rows.append(row)
    write_jsonl(sample_dir / "generated.jsonl", rows)
    return rows
