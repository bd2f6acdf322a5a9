"""LoRA fine-tuning of Higgs Audio v2 on ChatML voice-cloning samples: read it top to bottom.

setup (config, Accelerator, front-end and system prompt, audio codes, model +
LoRA, data, optimizer, schedule, EMA) -> for each micro-batch: forward,
weighted loss, backward; at each optimizer step: clip, step, schedule, EMA,
log, eval, save. The loop is the Pocket trainer's (``natiq.training``):
Accelerate's ``prepare``/``accumulate``/``backward``/``save_state``/``load_state``
are the only wrapping, batches add up across processes (a process without
examples in an epoch's last batch runs a weight-0 stand-in), and a checkpoint
resumes exactly under any process count for the same global batch.

Outputs in ``output_dir``: the final adapter (PEFT files + ``natiq_frontend.json``
+ ``training_config.json``, EMA weights when ``--ema-decay`` is on),
``step_N/`` checkpoints (each also a usable adapter dir), ``logs/``
(TensorBoard: ``train/audio``, ``train/text``, ``train/total``,
``train/codebook_<k>``, ``train/lr``), ``train_log.jsonl``, ``eval_log.jsonl``,
``skipped.jsonl`` and ``codes/``.

With ``eval_steps`` > 0, every that many steps the first ``eval_samples``
usable samples get a validation loss (``val/*``, every process) and are cloned
into ``samples/step_N/`` (wavs + ``generated.jsonl``, main process); an
optional ``sample_scorer`` (``natiq.eval.make_sample_scorer``, handed in by the
CLI: backends never import ``natiq.eval``) scores that folder in the
background, logged as ``eval/<metric>``. Evaluation forks the RNG, so it never
changes the run.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from natiq.backends.higgs.audio_codes import CodeStore, tokenize_files
from natiq.backends.higgs.collator import HiggsCollator
from natiq.backends.higgs.config import DEFAULT_SYSTEM_PROMPT, AudioIds
from natiq.backends.higgs.dataset import encode_training_samples
from natiq.backends.higgs.frontend_io import frontend_config_from_file
from natiq.backends.higgs.loading import (
    audio_tokenizer_source,
    load_audio_tokenizer,
    load_model,
    load_text_tokenizer,
    model_source,
)
from natiq.backends.higgs.lora import add_lora, trainable_parameters
from natiq.backends.higgs.losses import HiggsTrainingObjective
from natiq.backends.higgs.train_config import STRUCTURAL_FIELDS, TRAINER, HiggsTrainConfig
from natiq.common.errors import DataFormatError
from natiq.common.files import write_jsonl
from natiq.common.runtime import resolve_precision, select_device
from natiq.training import checkpoint as run_folder
from natiq.training.accelerator import (
    check_ema_supported,
    full_state_dict,
    make_accelerator,
    processes,
    skip_full_model_files,
)
from natiq.training.batches import global_batches, local_batches
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
from natiq.training.text_frontend import run_frontend

ADAPTER_FILE = "adapter_model.safetensors"
MODEL_PREFIX = "model."  # the PEFT model inside HiggsTrainingObjective


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    resumed_from: int
    samples: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    last_losses: dict[str, float] = field(default_factory=dict)
    eval_losses: dict[str, float] = field(default_factory=dict)
    processes: int = 1


def run_training(
    config: HiggsTrainConfig,
    *,
    sample_scorer: SampleScorer | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train from the ChatML file named in ``config``."""
    from natiq.data.chatml import read_chatml

    return train_on_samples(
        config, read_chatml(config.chatml), sample_scorer=sample_scorer, log=log
    )


def with_system_prompt(samples: Sequence[Any], prompt: str | None) -> tuple[list[Any], str | None]:
    """The samples with ``prompt`` as every system message (when given), and the prompt to record:
    ``prompt``, or the one all samples share, or None when they differ."""
    if prompt is not None:
        return [dataclasses.replace(s, system=prompt) for s in samples], prompt
    used = {s.system or DEFAULT_SYSTEM_PROMPT for s in samples}
    return list(samples), used.pop() if len(used) == 1 else None


def loss_terms(out: Any) -> dict[str, torch.Tensor]:
    """The objective's output as named terms: ``total``, ``audio``, ``text``, ``codebook_<k>``."""
    terms = {"total": out.loss, "audio": out.audio}
    if out.text is not None:
        terms["text"] = out.text
    terms.update({f"codebook_{k}": value for k, value in enumerate(out.per_codebook)})
    return terms


def train_on_samples(
    config: HiggsTrainConfig,
    samples: Sequence[Any],
    *,
    sample_scorer: SampleScorer | None = None,
    stop_after_step: int | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train a LoRA adapter on already-read ChatML samples."""
    from accelerate.utils import set_seed

    from natiq.text import TextFrontend

    run_dir = Path(config.output_dir)
    resume_dir = run_folder.resolve_checkpoint(config.resume, run_dir) if config.resume else None
    set_seed(config.seed)
    # Without a text loss the last layer's text `mlp` gets no gradient (its output only
    # reaches the text head), so DDP must be told that some parameters go unused.
    accelerator = make_accelerator(config, run_dir, find_unused_parameters=True)
    world, rank = processes(accelerator)
    runlog = RunLog(accelerator, run_dir, log)
    if accelerator.is_main_process:
        if resume_dir is None:
            run_folder.check_fresh_start(run_dir)
        run_folder.remove_stale_temporaries(run_dir)

    # ---- text front-end, system prompt, audio codes (encoded once, on the main process)
    frontend_config = run_frontend(
        resume_dir, lambda: frontend_config_from_file(config.frontend_config), config.lexicon
    )
    frontend = TextFrontend(frontend_config)
    samples, system_prompt = with_system_prompt(samples, config.system_prompt)
    source = model_source(config.model)
    tokenizer = load_text_tokenizer(source)
    store = CodeStore(config.codes_dir or run_dir / "codes")
    audio_tokenizer = None
    if accelerator.is_main_process:
        audio_tokenizer = load_audio_tokenizer(
            audio_tokenizer_source(config.audio_tokenizer, source), accelerator.device
        )
        audio_paths = [p for s in samples for p in (s.ref_audio, s.target_audio) if p is not None]
        tokenize_files(audio_tokenizer, audio_paths, store)
        if not config.eval_steps:
            audio_tokenizer = None  # only evaluation decodes audio
    accelerator.wait_for_everyone()

    # ---- model + LoRA --------------------------------------------------------------------
    precision = resolve_precision(config.precision, select_device(config.device))
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float32}[precision]
    model = load_model(
        source,
        device=accelerator.device,
        dtype=dtype,
        quantize=config.quantize,
        use_text_head=config.text_loss_weight > 0,
    )
    ids = AudioIds.from_config(model.config)
    if config.quantize != "none":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    checkpointing = config.gradient_checkpointing
    if checkpointing is None:
        checkpointing = accelerator.device.type == "cuda"
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    base_record = {
        "spec": config.model,
        "source": str(source),
        "fingerprint": fingerprint(model.config),
    }
    model = add_lora(
        model,
        r=config.lora_r,
        alpha=config.lora_alpha,
        dropout=config.lora_dropout,
        targets=config.lora_target_modules,
        train_audio_head=config.train_audio_head,
    )

    # ---- data: encoded samples, global batches from (seed, epoch) ------------------------
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
        write_jsonl(run_dir / "skipped.jsonl", (s.to_dict() for s in skipped))
    if not encoded:
        raise DataFormatError(
            f"{config.chatml}: no usable training sample ({len(skipped)} skipped, see skipped.jsonl)"
        )
    skipped_ids = {s.id for s in skipped}
    usable = [s for s in samples if str(s.id) not in skipped_ids]
    eval_keys = list(range(min(config.eval_samples, len(encoded))))
    collator = HiggsCollator(tokenizer.pad_token_id, ids.stream_eos, ids.num_codebooks)
    global_batch = config.per_device_train_batch_size * world

    def epoch_batches(epoch: int) -> list[list[int]]:
        generator = torch.Generator().manual_seed(config.seed + epoch)
        return global_batches(
            torch.randperm(len(encoded), generator=generator).tolist(), global_batch
        )

    steps = total_steps(config, math.ceil(len(encoded) / global_batch))

    # ---- objective, optimizer, schedule, EMA (EMA after prepare) --------------------------
    objective = HiggsTrainingObjective(model, text_loss_weight=config.text_loss_weight)
    optimizer = make_optimizer(objective.parameters(), config)
    scheduler = make_scheduler(optimizer, config, steps)
    objective, optimizer = accelerator.prepare(objective, optimizer)
    accelerator.register_for_checkpointing(scheduler)
    skip_full_model_files(accelerator)
    trained = accelerator.unwrap_model(objective)
    ema = None
    if config.ema_decay > 0:
        check_ema_supported(accelerator)
        ema = EMA(trained.model.named_parameters(), config.ema_decay)

    state = run_folder.TrainerState(global_batch_size=global_batch)
    if resume_dir is not None:
        record = run_folder.read_record(resume_dir, trainer=TRAINER)
        run_folder.check_resumable(
            record.config, config.to_dict(), STRUCTURAL_FIELDS, where=resume_dir
        )
        run_folder.check_same_base(
            record.base.get("fingerprint", {}),
            base_record["fingerprint"],
            where=resume_dir,
            base=config.model,
        )
        state = run_folder.restore(
            accelerator,
            resume_dir,
            global_batch_size=global_batch,
            load_weights=functools.partial(load_adapter_weights, trained.model),
            ema=ema,
            note=runlog.print,
        )
        runlog.forget_after(state.step)
    resumed_from = state.step
    n_train, n_total = trainable_parameters(trained)
    runlog.print(
        f"trainable parameters: {n_train:,} of {n_total:,}; {len(encoded)} samples; {world} "
        f"process(es) x {config.per_device_train_batch_size} x {config.gradient_accumulation_steps} "
        f"accumulation; {steps} steps" + (f"; resumed at step {state.step}" if resume_dir else "")
    )

    accelerator.init_trackers("higgs", config=hparams(config.to_dict()))
    last_step = min(steps, stop_after_step) if stop_after_step is not None else steps
    scoring = BackgroundScoring(sample_scorer, main=accelerator.is_main_process)
    result = TrainResult(
        output_dir=run_dir,
        steps=state.step,
        resumed_from=resumed_from,
        samples=len(encoded),
        skipped=[s.to_dict() for s in skipped],
        processes=world,
    )
    running = RunningTerms()
    record = run_folder.TrainingRecord(
        trainer=TRAINER,
        config=config.to_dict(),
        base=base_record,
        extra={"system_prompt": system_prompt},
    )
    runlog.start(state.step)

    def batch_of(keys: list[int]) -> dict[str, torch.Tensor]:
        return {
            k: v.to(accelerator.device) for k, v in collator([encoded[i] for i in keys]).items()
        }

    # ---- the loop ----------------------------------------------------------------------
    batches = local_batches(
        epoch_batches,
        state,
        per_device=config.per_device_train_batch_size,
        processes=world,
        index=rank,
    )
    objective.train()
    while state.step < last_step:
        local = next(batches)
        batch = batch_of(local.keys)
        with accelerator.accumulate(objective):
            out = objective(batch)
            accelerator.backward(out.loss * local.weight)
            if accelerator.sync_gradients and config.max_grad_norm > 0:
                accelerator.clip_grad_norm_(objective.parameters(), config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        running.add(loss_terms(out), local.weight)
        if not accelerator.sync_gradients:
            continue

        lr = current_lr(scheduler)  # the rate this step was taken with
        step_schedule(optimizer, scheduler)
        state.step += 1
        if ema is not None:
            ema.update()
        if state.step % config.logging_steps == 0 or state.step == last_step:
            result.last_losses = runlog.train_step(running, state.step, lr)
            text = f" text {result.last_losses['text']:.3f}" if "text" in result.last_losses else ""
            runlog.print(
                f"step {state.step}: audio {result.last_losses['audio']:.3f}{text} lr {lr:.2e}"
            )

        if config.eval_steps and state.step % config.eval_steps == 0:
            objective.eval()
            val = validation_terms(
                accelerator,
                lambda keys: loss_terms(objective(batch_of(keys))),
                eval_keys,
                per_device=config.per_device_train_batch_size,
                seed=config.seed + state.step,
            )
            runlog.scalars({f"val/{k}": v for k, v in val.items()}, state.step, log_file=EVAL_LOG)
            result.eval_losses.update(val)
            sample_dir = run_dir / "samples" / f"step_{state.step}"
            write_samples = functools.partial(
                write_eval_samples,
                trained.model,
                tokenizer,
                audio_tokenizer,
                frontend,
                usable[: len(eval_keys)],
                store,
                config,
                sample_dir,
                seed=config.seed + state.step,
                system_prompt=system_prompt,
            )
            if config.eval_samples > 0 and generate_on_main(
                accelerator, write_samples, runlog.print
            ):
                scoring.submit(state.step, sample_dir)
            objective.train()
        result.eval_losses.update(runlog.scores(scoring.finished()))

        if state.step % config.save_steps == 0 or state.step == last_step:
            write = adapter_writer(accelerator, objective, trained, ema, frontend_config, record)
            run_folder.save_checkpoint(
                accelerator, run_dir, state, write_files=write, keep_last=config.keep_last
            )

    # ---- the final adapter (EMA weights when on) in OUTPUT_DIR ------------------------------
    final = adapter_writer(
        accelerator, objective, trained, ema, frontend_config, record, use_ema=True
    )
    publish_adapter(accelerator, run_dir, final)
    result.eval_losses.update(runlog.scores(scoring.finished(wait=True)))
    scoring.close()
    runlog.close()
    result.steps = state.step
    return result


def fingerprint(model_config: Any) -> dict[str, Any]:
    """What identifies a Higgs base: its architecture (the weights are the hub id's or folder's)."""
    keys = (
        "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "vocab_size", "num_codebooks", "codebook_size",
    )  # fmt: skip
    return {key: getattr(model_config, key, None) for key in keys}


def adapter_writer(
    accelerator: Any,
    objective: Any,
    trained: Any,
    ema: EMA | None,
    frontend_config: Any,
    record: run_folder.TrainingRecord,
    *,
    use_ema: bool = False,
) -> Callable[[Path], None]:
    """A ``write_files`` for ``save_checkpoint``: a usable adapter dir (every process calls it)."""

    def write(directory: Path) -> None:
        full = full_state_dict(accelerator, objective)  # gathered when sharded
        shadow = ema.full_shadow() if ema is not None else None
        if ema is not None and not use_ema:
            ema.save(directory, write=accelerator.is_main_process)
        if not accelerator.is_main_process:
            return
        state = {
            k.removeprefix(MODEL_PREFIX): v for k, v in full.items() if k.startswith(MODEL_PREFIX)
        }
        if use_ema and shadow is not None:
            state.update(shadow)
        trained.model.save_pretrained(str(directory), state_dict=state, safe_serialization=True)
        frontend_config.save(directory)
        record.save(directory)

    return write


def publish_adapter(accelerator: Any, run_dir: Path, write: Callable[[Path], None]) -> None:
    """Write the final adapter into a hidden folder, then move its files into ``run_dir``."""
    tmp = run_dir / ".final.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    write(tmp)
    if accelerator.is_main_process:
        for path in sorted(tmp.iterdir()):
            os.replace(path, run_dir / path.name)
        tmp.rmdir()
    accelerator.wait_for_everyone()


def load_adapter_weights(peft_model: Any, directory: Path) -> None:
    """Put the adapter weights of a checkpoint into the PEFT model being trained."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(peft_model, load_file(str(Path(directory) / ADAPTER_FILE)))


def write_eval_samples(
    model: Any,
    tokenizer: Any,
    audio_tokenizer: Any,
    frontend: Any,
    samples: Sequence[Any],
    store: CodeStore,
    config: HiggsTrainConfig,
    sample_dir: Path,
    *,
    seed: int,
    system_prompt: str | None = None,
) -> list[dict[str, Any]]:
    """Clone each eval sample's target text in its reference voice: ``<id>.wav`` + ``generated.jsonl``.

    The prompt's system message is the one training used (``system_prompt``).

    Generation is capped at twice the ground-truth length plus one second; a
    sample that cannot be spoken keeps its row without ``audio`` (the
    evaluator reports it) and the others are still written.
    """
    from natiq.backends.higgs.audio_codes import decode_codes
    from natiq.backends.higgs.cloning import CloneOptions, HiggsCloner
    from natiq.backends.higgs.config import FRAMES_PER_SECOND
    from natiq.common.errors import NatiqError
    from natiq.data.audio import save_wav

    cloner = HiggsCloner(
        model,
        tokenizer,
        audio_tokenizer,
        frontend,
        system_prompt=system_prompt or DEFAULT_SYSTEM_PROMPT,
    )
    rows = []
    for sample in samples:
        target_frames = int(store.load(sample.target_audio).shape[1])
        options = CloneOptions(
            seed=seed,
            max_new_tokens=2 * target_frames + int(FRAMES_PER_SECOND),
            max_ref_seconds=config.max_ref_seconds,
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
            model_text = frontend.prepare(sample.target_text).model_text
            generated = cloner.generate_codes(reference, model_text, options)
            if generated.codes.shape[1] == 0:
                raise NatiqError("the model stopped before its first audio frame")
            audio = decode_codes(audio_tokenizer, generated.codes)
            row["synthesis_seconds"] = time.perf_counter() - started
            path = save_wav(sample_dir / f"{sample.id}.wav", audio, cloner.sample_rate)
            row["audio"] = path.name
        except NatiqError as exc:
            row["error"] = f"not generated: {exc}"
        rows.append(row)
    write_jsonl(sample_dir / "generated.jsonl", rows)
    return rows
