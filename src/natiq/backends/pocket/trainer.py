"""The Pocket TTS training loop: read it top to bottom.

setup (config, Accelerator, model, data, loss, optimizer, schedule, EMA) ->
for each micro-batch: forward, weighted loss, backward; at each optimizer step:
clip, step, schedule, EMA, log, eval, save. Accelerate is the only wrapping
(``prepare``, ``accumulate``, ``backward``, ``clip_grad_norm_``,
``save_state``/``load_state``); what both natiq trainers share (batches that
add up across processes, the schedule, EMA, the run folder, logging, eval)
comes from ``natiq.training``. The same code runs on CPU, one GPU, or several
processes under ``torchrun``/``accelerate launch`` with DDP, FSDP or DeepSpeed.
A checkpoint restores weights, optimizer, schedule, EMA, RNG states and the
data position, so ``--resume`` continues exactly where a run stopped, with any
number of processes for the same global batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from natiq.backends.pocket import checkpointing as ckpt
from natiq.backends.pocket import model_setup
from natiq.backends.pocket.dataset import (
    EpochBatchSampler,
    PocketTrainData,
    make_collate,
    read_utterances,
)
from natiq.backends.pocket.lora import count_parameters
from natiq.backends.pocket.objectives import LossModule, distill_on_step
from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.common.errors import DataFormatError
from natiq.training import checkpoint as run_folder
from natiq.training.accelerator import (
    check_ema_supported,
    full_state_dict,
    make_accelerator,
    processes,
    skip_full_model_files,
)
from natiq.training.batches import local_batches
from natiq.training.ema import EMA
from natiq.training.evaluation import (
    BackgroundScoring,
    SampleScorer,
    generate_on_main,
    validation_terms,
)
from natiq.training.runlog import EVAL_LOG, RunLog, RunningTerms, hparams
from natiq.training.schedule import (
    current_lr,
    make_optimizer,
    make_scheduler,
    step_schedule,
    total_steps,
)

EVAL_MAX_UTTERANCES = 8
SKIPPED_FILE = "skipped_utterances.jsonl"


@dataclass
class TrainResult:
    """What a finished (or stopped) run leaves: last step, last checkpoint, last losses."""

    step: int
    checkpoint: Path | None
    losses: dict[str, float] = field(default_factory=dict)
    eval_losses: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    processes: int = 1


def make_loss_module(trainable: torch.nn.Module, config: PocketTrainConfig) -> LossModule:
    """The module whose forward returns the losses of a batch (``.total``, ``.terms``)."""
    return LossModule(trainable, config.objective)


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

    run_dir = Path(config.output_dir)
    resume_dir = run_folder.resolve_checkpoint(config.resume, run_dir) if config.resume else None
    set_seed(config.seed)
    accelerator = make_accelerator(config, run_dir)
    world, rank = processes(accelerator)
    runlog = RunLog(accelerator, run_dir, log)
    if accelerator.is_main_process:
        if resume_dir is None:
            run_folder.check_fresh_start(run_dir)
        run_folder.remove_stale_temporaries(run_dir)
    accelerator.wait_for_everyone()

    # ---- model: base, text mode, latent statistics, trainable scope -------------------
    utterances = read_utterances(config.metadata, precomputed=config.use_precomputed_latents)
    setup = model_setup.setup_run(
        config, utterances, run_dir=run_dir, resume_dir=resume_dir, log=runlog.print
    )
    setup.tts.to(accelerator.device)  # Mimi too: on-the-fly encoding and eval samples use it
    n_train, n_total = count_parameters(setup.trainable)
    runlog.print(
        f"trainable parameters: {n_train:,} of {n_total:,} ({100 * n_train / n_total:.2f}%)"
    )

    # ---- data: global batches drawn from (seed, epoch), this process's slice of each ---
    train_utts = [u for u in utterances if u.split == "train"]
    val_utts = [u for u in utterances if u.split == "val"]
    skipped: list[str] = []
    if not train_utts:
        raise DataFormatError(f"{config.metadata}: no records with split 'train'")
    if not val_utts:
        val_utts = train_utts[:EVAL_MAX_UTTERANCES]
        skipped.append("no 'val' split in the manifest: validation uses the first train utterances")
        runlog.print(skipped[-1])
    encode = None if config.use_precomputed_latents else setup.encode
    train_data = PocketTrainData(
        train_utts,
        setup.text,
        encode=encode,
        settings=config.examples,
        max_text_tokens=config.max_text_tokens,
        seed=config.seed,
    )
    val_data = PocketTrainData(
        val_utts[:EVAL_MAX_UTTERANCES],
        setup.text,
        encode=encode,
        settings=config.examples.for_validation(),
        max_text_tokens=config.max_text_tokens,
        seed=config.seed,
        prompt_pool=train_utts,
    )
    skipped += report_examples(
        train_data, val_data, run_dir, runlog.print, write=accelerator.is_main_process
    )
    setup.set_stats_if_random(train_data)
    global_batch = config.per_device_train_batch_size * world
    sampler = EpochBatchSampler(
        len(train_data),
        global_batch,
        seed=config.seed,
        lengths=train_data.lengths(),
        bucket_batches=config.examples.bucket_batches,
    )

    def epoch_batches(epoch: int) -> list[list[tuple[int, int]]]:
        sampler.set_epoch(epoch)
        return list(sampler)

    collate = make_collate(setup.pad_id)
    steps = total_steps(config, len(sampler))

    # ---- loss, optimizer, schedule, EMA (EMA after prepare: it tracks prepared parameters)
    loss_module = make_loss_module(setup.trainable, config)
    optimizer = make_optimizer(loss_module.parameters(), config)
    scheduler = make_scheduler(optimizer, config, steps)
    loss_module, optimizer = accelerator.prepare(loss_module, optimizer)
    accelerator.register_for_checkpointing(scheduler)
    skip_full_model_files(accelerator)
    trained = accelerator.unwrap_model(loss_module)
    ema = None
    if config.ema_decay > 0:
        check_ema_supported(accelerator)
        ema = EMA(trained.flow_lm.named_parameters(), config.ema_decay)

    state = run_folder.TrainerState(global_batch_size=global_batch)
    if resume_dir is not None:
        state = run_folder.restore(
            accelerator,
            resume_dir,
            global_batch_size=global_batch,
            load_weights=lambda directory: ckpt.load_loss_module(trained, directory),
            ema=ema,
            note=runlog.print,
        )
        runlog.forget_after(state.step)
    runlog.print(
        f"{world} process(es) x {config.per_device_train_batch_size} utterances x "
        f"{config.gradient_accumulation_steps} accumulation = {global_batch * config.gradient_accumulation_steps} "
        f"per step; {steps} steps"
    )

    accelerator.init_trackers("pocket", config=hparams(config.to_dict()))
    last_step = min(steps, stop_after_step) if stop_after_step is not None else steps
    progress = tqdm(
        total=steps,
        initial=state.step,
        desc="pocket train",
        disable=not accelerator.is_main_process,
    )
    scoring = BackgroundScoring(sample_scorer, main=accelerator.is_main_process)
    result = TrainResult(step=state.step, checkpoint=resume_dir, skipped=skipped, processes=world)
    running = RunningTerms()
    runlog.start(state.step)

    # ---- the loop ----------------------------------------------------------------------
    batches = local_batches(
        epoch_batches,
        state,
        per_device=config.per_device_train_batch_size,
        processes=world,
        index=rank,
    )
    loss_module.train()
    micro = 0  # micro-batch within the optimizer step
    while state.step < last_step:
        local = next(batches)
        batch = collate([train_data[key] for key in local.keys]).to(accelerator.device)
        # the same choice on every process and after a resume
        distill = distill_on_step(config.objective, config.seed, state.step, micro)
        with accelerator.accumulate(loss_module):
            out = loss_module(batch, distill=distill)
            accelerator.backward(out.total * local.weight)
            if accelerator.sync_gradients and config.max_grad_norm > 0:
                accelerator.clip_grad_norm_(loss_module.parameters(), config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        running.add(out.terms, local.weight)
        if not accelerator.sync_gradients:
            micro += 1
            continue
        micro = 0

        lr = current_lr(scheduler)  # the rate this step was taken with
        step_schedule(optimizer, scheduler)
        state.step += 1
        if ema is not None:
            ema.update()
        progress.update(1)
        if state.step % config.logging_steps == 0 or state.step == last_step:
            result.losses = runlog.train_step(running, state.step, lr)
            progress.set_postfix(loss=f"{result.losses.get('total', float('nan')):.4f}")

        if config.eval_steps and state.step % config.eval_steps == 0:
            result.eval_losses.update(
                evaluate(
                    accelerator,
                    loss_module,
                    val_data,
                    collate,
                    setup,
                    config,
                    run_dir,
                    state.step,
                    runlog,
                )
            )
            written = sample_dir(run_dir, state.step) / "generated.jsonl"
            if accelerator.is_main_process and written.is_file():
                scoring.submit(state.step, written.parent)
            loss_module.train()
        result.eval_losses.update(runlog.scores(scoring.finished()))

        if state.step % config.save_steps == 0 or state.step == last_step:
            result.checkpoint = save_checkpoint(
                accelerator, loss_module, trained, ema, setup, config, state
            )

    progress.close()
    result.eval_losses.update(runlog.scores(scoring.finished(wait=True)))
    scoring.close()
    runlog.close()
    result.step = state.step
    return result


def report_examples(
    train_data: PocketTrainData,
    val_data: PocketTrainData,
    run_dir: Path,
    log: Callable[[str], None],
    *,
    write: bool = True,
) -> list[str]:
    """Say which utterances are skipped (and why) and which train without a paused prompt.

    The skipped ones are also written to ``<run dir>/skipped_utterances.jsonl``.
    """
    from natiq.common.files import write_jsonl

    notes = []
    skipped = train_data.skipped + val_data.skipped
    if skipped and write:
        write_jsonl(run_dir / SKIPPED_FILE, [vars(item) for item in skipped])
    if skipped:
        for item in skipped:
            notes.append(f"skipped {item.where} ({item.id}): {item.reason}")
        notes.append(f"{len(skipped)} utterance(s) skipped, listed in {run_dir / SKIPPED_FILE}")
    if train_data.without_prompt:
        notes.append(
            f"{len(train_data.without_prompt)} train utterance(s) have no other utterance of "
            "their speaker to take a voice prompt from; they train without a voice"
        )
    if train_data.without_paused_prompt:
        notes.append(
            f"{len(train_data.without_paused_prompt)} train utterance(s): no other utterance of "
            "their speaker pauses within the prompt window; their prompts are cut mid-speech"
        )
    for note in notes:
        log(note)
    return notes


def save_checkpoint(
    accelerator: Any,
    loss_module: Any,
    trained: torch.nn.Module,
    ema: EMA | None,
    setup: model_setup.RunSetup,
    config: PocketTrainConfig,
    state: run_folder.TrainerState,
) -> Path:
    """``step_<N>/``: Accelerate's state, the trained weights, EMA, the run files (every process)."""
    main = accelerator.is_main_process

    def write_files(directory: Path) -> None:
        full = full_state_dict(accelerator, loss_module)  # gathered when sharded
        if ema is not None:
            ema.save(directory, write=main)
        if main:
            ckpt.save_loss_module(trained, directory, full)
            setup.write_run_files(directory, config)

    return run_folder.save_checkpoint(
        accelerator,
        Path(config.output_dir),
        state,
        write_files=write_files,
        keep_last=config.keep_last,
    )


def sample_dir(run_dir: Path, step: int) -> Path:
    return run_dir / "samples" / f"step_{step}"


@torch.no_grad()
def evaluate(
    accelerator: Any,
    loss_module: Any,
    val_data: PocketTrainData,
    collate: Callable,
    setup: model_setup.RunSetup,
    config: PocketTrainConfig,
    run_dir: Path,
    step: int,
    runlog: RunLog,
) -> dict[str, float]:
    """Validation loss per term (every process), and a few samples (main process).

    Samples are generated with pocket-tts' own generator into
    ``samples/step_<N>/`` (wavs + ``generated.jsonl``) for a scorer to read.
    """
    loss_module.eval()

    def loss_terms(keys: list[tuple[int, int]]) -> dict[str, torch.Tensor]:
        batch = collate([val_data[key] for key in keys]).to(accelerator.device)
        return loss_module(batch).terms

    keys = [(0, index) for index in range(len(val_data))]
    losses = validation_terms(
        accelerator,
        loss_terms,
        keys,
        per_device=config.per_device_train_batch_size,
        seed=config.seed + step,
    )
    runlog.scalars({f"val/{k}": v for k, v in losses.items()}, step, log_file=EVAL_LOG)
    if config.eval_samples > 0:
        generate_on_main(
            accelerator,
            lambda: setup.write_samples(val_data, sample_dir(run_dir, step), config.eval_samples),
            runlog.print,
        )
    return losses
