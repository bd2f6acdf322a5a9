"""The Pocket TTS training loop: read it top to bottom.

setup (config, Accelerator, model, data, optimizer) -> for each step: batch,
forward + loss, backward, clip, optimizer/scheduler step, EMA, log, eval,
save. Accelerate is the only wrapping (``prepare``, ``accumulate``,
``backward``, ``clip_grad_norm_``, ``save_state``/``load_state``), so the same
code runs on CPU, one GPU, or many GPUs/nodes with DeepSpeed or FSDP under
``accelerate launch`` and an Accelerate config; there is no distribution code
here. A checkpoint restores weights, optimizer, scheduler, EMA, RNG states and
the data position, so ``--resume`` continues exactly where a run stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from natiq.backends.pocket import checkpointing as ckpt
from natiq.backends.pocket import model_setup
from natiq.backends.pocket.dataset import (
    EpochBatchSampler,
    PocketTrainData,
    make_collate,
    read_utterances,
)
from natiq.backends.pocket.ema import EMA
from natiq.backends.pocket.lora import count_parameters, trainable_state
from natiq.backends.pocket.objectives import LossModule, ObjectiveSettings
from natiq.backends.pocket.recipe import ExampleSettings
from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.common.errors import DataFormatError

SampleScorer = Callable[[Path], dict[str, float]]
MIXED_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}
EVAL_MAX_UTTERANCES = 8


@dataclass
class TrainResult:
    """What a finished (or stopped) run leaves: last step, last checkpoint, last losses."""

    step: int
    checkpoint: Path | None
    losses: dict[str, float] = field(default_factory=dict)
    eval_losses: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def lr_lambda(warmup_steps: int, max_steps: int) -> Callable[[int], float]:
    """Linear warmup to the peak, then cosine decay to 10% of it at ``max_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def make_accelerator(config: PocketTrainConfig, run_dir: Path):
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration

    from natiq.common.runtime import resolve_precision, select_device

    device = select_device(config.device)
    precision = resolve_precision(config.precision, device)
    return Accelerator(
        gradient_accumulation_steps=config.grad_accum,
        mixed_precision=MIXED_PRECISION[precision],
        cpu=device.type == "cpu",
        log_with="tensorboard",
        project_config=ProjectConfiguration(
            project_dir=str(run_dir), logging_dir=str(run_dir / "logs")
        ),
    )


def infinite_batches(
    loader, sampler: EpochBatchSampler, accelerator, state: ckpt.TrainerState
) -> Iterator:
    """Batches forever, epoch after epoch; ``state`` tracks the position for checkpoints."""
    skip = state.batches_in_epoch
    while True:
        sampler.set_epoch(state.epoch)
        epoch_loader = accelerator.skip_first_batches(loader, skip) if skip else loader
        # Accelerate's loader re-applies its own epoch counter when iterated: align it.
        epoch_loader.set_epoch(state.epoch)
        skip = 0
        for batch in epoch_loader:
            state.batches_in_epoch += 1
            yield batch
        state.epoch += 1
        state.batches_in_epoch = 0


def train(
    config: PocketTrainConfig,
    *,
    sample_scorer: SampleScorer | None = None,
    stop_after_step: int | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train per ``config``; ``stop_after_step`` stops early as an interruption would."""
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    config.validate()
    run_dir = Path(config.checkpoint_dir)
    resume_dir = ckpt.resolve_checkpoint(config.resume, run_dir) if config.resume else None
    set_seed(config.seed)
    accelerator = make_accelerator(config, run_dir)

    # ---- model: base, text mode, latent statistics, trainable scope -------------------
    utterances = read_utterances(config.metadata, precomputed=config.use_precomputed_latents)
    setup = model_setup.setup_run(
        config, utterances, run_dir=run_dir, resume_dir=resume_dir, log=log
    )
    setup.tts.to(accelerator.device)  # Mimi too: on-the-fly encoding and eval samples use it
    model = setup.trainable  # a PEFT wrapper (LoRA) or the FlowLM itself
    n_train, n_total = count_parameters(model)
    log(f"trainable parameters: {n_train:,} of {n_total:,} ({100 * n_train / n_total:.2f}%)")

    # ---- data ----------------------------------------------------------------------
    train_utts = [u for u in utterances if u.split == "train"]
    val_utts = [u for u in utterances if u.split == "val"]
    skipped: list[str] = []
    if not train_utts:
        raise DataFormatError(f"{config.metadata}: no records with split 'train'")
    if not val_utts:
        val_utts = train_utts[:EVAL_MAX_UTTERANCES]
        skipped.append("no 'val' split in the manifest: validation uses the first train utterances")
        log(skipped[-1])
    encode = None if config.use_precomputed_latents else setup.encode
    examples = ExampleSettings(prompt_max_seconds=config.prompt_seconds)
    train_data = PocketTrainData(
        train_utts, setup.text, encode=encode, settings=examples, seed=config.seed
    )
    val_data = PocketTrainData(
        val_utts[:EVAL_MAX_UTTERANCES],
        setup.text,
        encode=encode,
        settings=examples.for_validation(),
        seed=config.seed,
        prompt_pool=train_utts,
    )
    for item in train_data.skipped + val_data.skipped:
        skipped.append(f"skipped {item.where} ({item.id}): {item.reason}")
        log(skipped[-1])
    if train_data.without_prompt:
        skipped.append(
            f"{len(train_data.without_prompt)} train utterance(s) have no other utterance of "
            "their speaker to take a voice prompt from; they train without a voice"
        )
        log(skipped[-1])
    if train_data.without_paused_prompt:
        skipped.append(
            f"{len(train_data.without_paused_prompt)} train utterance(s): no other utterance of "
            "their speaker pauses within the prompt window; their prompts are cut mid-speech"
        )
        log(skipped[-1])
    setup.set_stats_if_random(train_data)
    sampler = EpochBatchSampler(
        len(train_data),
        config.batch_size,
        seed=config.seed,
        lengths=train_data.lengths(),
        bucket_batches=examples.bucket_batches,
    )
    collate = make_collate(setup.pad_id)
    # Its own generator: creating a loader must not draw from the global RNG (exact resume).
    loader = torch.utils.data.DataLoader(
        train_data, batch_sampler=sampler, collate_fn=collate, generator=torch.Generator()
    )

    # ---- optimizer, schedule, EMA -------------------------------------------------------
    objective = ObjectiveSettings(objective=config.objective, eos_weight=config.eos_weight)
    loss_module = LossModule(model, objective)
    params = [p for p in model.parameters() if p.requires_grad]
    params += loss_module.objective_parameters()
    optimizer = torch.optim.AdamW(
        params, lr=config.lr, betas=(0.9, 0.95), weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(config.warmup_steps, config.max_steps)
    )
    ema = EMA(trainable_state(model), config.ema) if config.ema > 0 else None

    loss_module, optimizer, loader, scheduler = accelerator.prepare(
        loss_module, optimizer, loader, scheduler
    )

    def save_hook(models, weights, output_dir):
        # Only the trained weights go to disk (adapter or unfrozen scope), not the base.
        weights.clear()
        if accelerator.is_main_process:
            ckpt.save_model_weights(model, Path(output_dir), setup.flow_lm)
            accelerator.unwrap_model(loss_module).save_objective_state(Path(output_dir))

    def load_hook(models, input_dir):
        models.clear()
        ckpt.load_model_weights(model, Path(input_dir), setup.flow_lm)
        accelerator.unwrap_model(loss_module).load_objective_state(Path(input_dir))

    accelerator.register_save_state_pre_hook(save_hook)
    accelerator.register_load_state_pre_hook(load_hook)

    state = ckpt.TrainerState()
    if resume_dir is not None:
        accelerator.load_state(str(resume_dir))
        state = ckpt.TrainerState.load(resume_dir)
        if ema is not None:
            ema.load(resume_dir)
        log(
            f"resumed from {resume_dir} at step {state.step} (epoch {state.epoch}, batch {state.batches_in_epoch})"
        )

    accelerator.init_trackers(
        "pocket", config={k: v for k, v in config.to_dict().items() if v is not None}
    )
    last_step = stop_after_step if stop_after_step is not None else config.max_steps
    progress = tqdm(
        total=config.max_steps,
        initial=state.step,
        desc="pocket train",
        disable=not accelerator.is_local_main_process,
    )
    result = TrainResult(step=state.step, checkpoint=resume_dir, skipped=skipped)
    running: dict[str, float] = {}
    micro = 0
    first_step = state.step
    started = time.monotonic()

    # ---- the loop ----------------------------------------------------------------------
    batches = infinite_batches(loader, sampler, accelerator, state)
    loss_module.train()
    while state.step < last_step:
        batch = next(batches)
        with accelerator.accumulate(loss_module):
            out = loss_module(batch)
            accelerator.backward(out.total)
            if accelerator.sync_gradients and config.grad_clip > 0:
                accelerator.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        for name, value in out.terms.items():
            running[name] = running.get(name, 0.0) + float(value.detach())
        micro += 1
        if not accelerator.sync_gradients:
            continue

        state.step += 1
        if ema is not None:
            ema.update()
        progress.update(1)
        losses = {name: total / micro for name, total in running.items()}
        running, micro = {}, 0
        result.losses = losses
        progress.set_postfix(loss=f"{losses.get('total', float('nan')):.4f}")
        if state.step % config.log_every == 0 or state.step == last_step:
            logged = {f"train/{k}": v for k, v in losses.items()}
            logged["train/lr"] = scheduler.get_last_lr()[0]
            done = state.step - first_step
            logged["train/steps_per_s"] = done / max(1e-9, time.monotonic() - started)
            accelerator.log(logged, step=state.step)

        if config.eval_every and state.step % config.eval_every == 0:
            result.eval_losses = evaluate(
                accelerator,
                loss_module,
                val_data,
                collate,
                setup,
                config,
                run_dir,
                state.step,
                sample_scorer,
                log,
            )
            loss_module.train()

        if state.step % config.save_every == 0 or state.step == last_step:
            result.checkpoint = save_checkpoint(accelerator, run_dir, state, setup, config, ema)

    progress.close()
    accelerator.end_training()
    result.step = state.step
    return result


def save_checkpoint(
    accelerator,
    run_dir: Path,
    state: ckpt.TrainerState,
    setup,
    config: PocketTrainConfig,
    ema: EMA | None,
) -> Path:
    """Write ``step_<N>/`` atomically (a hidden temp dir, then a rename) and prune old ones.

    Every process takes part in ``save_state`` (each saves its RNG state; DeepSpeed
    and FSDP save shards); the main process writes the rest and publishes.
    """
    tmp = run_dir / f".step_{state.step}.tmp"
    if accelerator.is_main_process:
        tmp = ckpt.temporary_dir(run_dir, state.step)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    target = ckpt.step_dir(run_dir, state.step)
    if accelerator.is_main_process:
        if ema is not None:
            ema.save(tmp)
        setup.write_run_files(tmp, config)
        state.save(tmp)  # last: its presence marks a complete checkpoint
        ckpt.publish(tmp, state.step)
        ckpt.prune_checkpoints(run_dir, config.keep_last)
    accelerator.wait_for_everyone()
    return target


@torch.no_grad()
def evaluate(
    accelerator,
    loss_module,
    val_data: PocketTrainData,
    collate,
    setup,
    config: PocketTrainConfig,
    run_dir: Path,
    step: int,
    sample_scorer: SampleScorer | None,
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Validation loss per term, plus a few generated samples (wavs + ``generated.jsonl``).

    ``sample_scorer`` (e.g. ``natiq.eval.make_sample_scorer``) scores the samples'
    folder; its results go to TensorBoard as ``eval/<metric>`` and to the console.

    The loss draws its noise from a generator seeded by ``step``, and the global
    RNG is forked, so evaluating never changes the training run.
    """
    loss_module.eval()
    devices = [accelerator.device] if accelerator.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(config.seed + step)
        totals: dict[str, float] = {}
        count = 0
        for start in range(0, len(val_data), config.batch_size):
            keys = [(0, i) for i in range(start, min(len(val_data), start + config.batch_size))]
            batch = collate([val_data[k] for k in keys]).to(accelerator.device)
            out = loss_module(batch)
            for name, value in out.terms.items():
                totals[name] = totals.get(name, 0.0) + float(value) * len(keys)
            count += len(keys)
        losses = {name: total / max(1, count) for name, total in totals.items()}
        accelerator.log({f"val/{k}": v for k, v in losses.items()}, step=step)

        if accelerator.is_main_process and config.eval_samples > 0:
            sample_dir = run_dir / "samples" / f"step_{step}"
            setup.write_samples(val_data, sample_dir, config.eval_samples)
            if sample_scorer is not None:
                scores = sample_scorer(sample_dir)
                accelerator.log({f"eval/{k}": v for k, v in scores.items()}, step=step)
                losses.update({f"samples/{k}": v for k, v in scores.items()})
                log(f"step {step} eval: {format_scores(scores)}")
    return losses


def format_scores(scores: dict[str, float]) -> str:
    """``name value`` pairs in a stable order, for the console."""
    return ", ".join(f"{name} {value:.4g}" for name, value in sorted(scores.items()))
