"""The folder of a training run, owned by one module: layout, records, atomic publish, pruning.

A run directory (``--output-dir``) of either trainer holds::

    step_<N>/                 one complete checkpoint per --save-steps
      trainer_state.json      step and data position; written last, so its presence
                              marks a complete checkpoint
      training_config.json    {"trainer", "config", "base", ...}: the effective settings,
                              the base model and its fingerprint, backend facts
      natiq_frontend.json     the text front-end (``FrontendConfig.save``)
      optimizer.bin, scheduler.bin, random_states_<rank>.pkl   Accelerate's ``save_state``
      ...                     the trained weights (each backend documents its files)
    logs/                     TensorBoard
    train_log.jsonl           one line per logged step (lines past a resumed step are dropped)
    samples/step_<N>/         eval samples (wavs + generated.jsonl)

A checkpoint is written into a hidden ``.step_<N>.tmp`` and renamed into place
only when complete; ``--keep-last`` prunes the oldest. Files a run keeps using
(a tokenizer trained at its start, a random base's weights) live in the run
directory, never only inside a checkpoint that pruning may delete. Readers of a
checkpoint (resume, export, inference) go through ``read_record`` and
``FrontendConfig.load``; nothing else parses these files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from natiq.common.errors import CheckpointMismatchError, DataFormatError, ModelLoadError
from natiq.common.files import atomic_path, atomic_write_json

TRAINER_STATE_FILE = "trainer_state.json"
TRAINING_CONFIG_FILE = "training_config.json"
STEP_PATTERN = re.compile(r"^step_(\d+)$")
TMP_PATTERN = re.compile(r"^\.step_\d+\.tmp$")


@dataclass
class TrainerState:
    """Where a run stands: optimizer steps done and the data position.

    ``batches_in_epoch`` counts *global* batches (all processes together) of
    ``global_batch_size`` examples, so a run saved by N processes resumes in M.
    """

    step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0
    global_batch_size: int = 0

    def save(self, directory: Path) -> None:
        atomic_write_json(Path(directory) / TRAINER_STATE_FILE, asdict(self))

    def rescale(self, global_batch_size: int) -> str | None:
        """Convert the position to another global batch size; a note when that changes it."""
        saved = self.global_batch_size
        self.global_batch_size = global_batch_size
        if saved in (0, global_batch_size):
            return None
        examples = self.batches_in_epoch * saved
        self.batches_in_epoch = examples // global_batch_size
        exact = examples % global_batch_size == 0
        return (
            f"the checkpoint used global batches of {saved} examples, this run {global_batch_size}: "
            f"continuing at example {self.batches_in_epoch * global_batch_size} of epoch {self.epoch}"
            + ("" if exact else f" (not {examples}: the rest of this epoch is ordered differently)")
        )

    @classmethod
    def load(cls, directory: Path) -> TrainerState:
        path = Path(directory) / TRAINER_STATE_FILE
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise DataFormatError(f"{path}: unreadable trainer state ({exc})") from None


@dataclass
class TrainingRecord:
    """``training_config.json``: which trainer, its effective config, the base, backend facts."""

    trainer: str
    config: dict[str, Any]
    base: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: Path) -> Path:
        path = Path(directory) / TRAINING_CONFIG_FILE
        atomic_write_json(
            path, {"trainer": self.trainer, "config": self.config, "base": self.base, **self.extra}
        )
        return path


def read_record(directory: str | Path, *, trainer: str | None = None) -> TrainingRecord:
    """The record of a checkpoint or adapter directory; ``trainer`` checks whose it is."""
    path = Path(directory) / TRAINING_CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ModelLoadError(
            f"{path}: missing; {directory} is not a directory written by natiq training"
        ) from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: invalid JSON ({exc.msg})") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("config"), dict)
        or "trainer" not in data
    ):
        raise DataFormatError(f"{path}: not a natiq training record (needs 'trainer' and 'config')")
    if trainer is not None and data["trainer"] != trainer:
        raise CheckpointMismatchError(
            f"{directory} was written by the {data['trainer']} trainer, not {trainer}"
        )
    extra = {k: v for k, v in data.items() if k not in ("trainer", "config", "base")}
    return TrainingRecord(
        trainer=str(data["trainer"]),
        config=data["config"],
        base=data.get("base") or {},
        extra=extra,
    )


def differing_keys(recorded: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Top-level keys whose values differ between two fingerprints (order-insensitive JSON)."""

    def canonical(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    return [
        key
        for key in sorted(set(recorded) | set(found))
        if canonical(recorded.get(key)) != canonical(found.get(key))
    ]


def check_same_base(
    recorded: dict[str, Any],
    found: dict[str, Any],
    *,
    where: Path | str,
    base: str,
    keys: tuple[str, ...] | None = None,
) -> None:
    """Raise ``CheckpointMismatchError`` when ``found`` is not the base fingerprint ``recorded``.

    ``keys`` limits the comparison (e.g. to the architecture).
    """
    if keys is not None:
        recorded = {k: recorded.get(k) for k in keys}
        found = {k: found.get(k) for k in keys}
    differing = differing_keys(recorded, found)
    if differing:
        raise CheckpointMismatchError(
            f"{where} was trained from another base model than {base!r} (differs in: "
            f"{', '.join(differing)}); use the base recorded in its {TRAINING_CONFIG_FILE}"
        )


def check_resumable(
    recorded: dict[str, Any], config: dict[str, Any], fields: tuple[str, ...], *, where: Path
) -> None:
    """Refuse to resume with other structural settings (rank, scope...) than the checkpoint's."""
    differing = [name for name in fields if recorded.get(name) != config.get(name)]
    if differing:
        details = ", ".join(
            f"{n}: checkpoint {recorded.get(n)!r} vs now {config.get(n)!r}" for n in differing
        )
        raise CheckpointMismatchError(f"{where}: cannot resume with other settings ({details})")


def step_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / f"step_{step}"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = STEP_PATTERN.match(child.name)
        if match and (child / TRAINER_STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def resolve_checkpoint(spec: str | Path, run_dir: str | Path | None = None) -> Path:
    """``latest`` (newest checkpoint of ``run_dir``) or a checkpoint directory."""
    if str(spec) == "latest":
        if run_dir is None:
            raise ModelLoadError("--resume latest needs --output-dir")
        found = list_checkpoints(run_dir)
        if not found:
            raise ModelLoadError(f"{run_dir}: no complete checkpoint (step_N/) to resume from")
        return found[-1][1]
    path = Path(spec)
    if not (path / TRAINER_STATE_FILE).is_file():
        raise ModelLoadError(
            f"{path}: not a training checkpoint (no {TRAINER_STATE_FILE}); give a step_N/ dir or 'latest'"
        )
    return path


def check_fresh_start(run_dir: Path) -> None:
    """A run without ``--resume`` must not mix its checkpoints with an older run's."""
    found = list_checkpoints(run_dir)
    if found:
        raise CheckpointMismatchError(
            f"{run_dir} already holds checkpoints (newest {found[-1][1].name}): pass "
            "--resume latest to continue that run, or choose another --output-dir"
        )


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete ``.step_N.tmp`` folders a crashed save left behind (never complete checkpoints)."""
    root = Path(run_dir)
    stale = [p for p in root.iterdir() if TMP_PATTERN.match(p.name)] if root.is_dir() else []
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def temporary_dir(run_dir: Path, step: int) -> Path:
    """The hidden directory a checkpoint is written into (emptied first) before ``publish``."""
    tmp = Path(run_dir) / f".step_{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def publish(tmp: Path, step: int) -> Path:
    """Rename a complete temporary checkpoint to ``step_<step>/`` (replacing an older one)."""
    target = step_dir(tmp.parent, step)
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
    return target


def prune_checkpoints(run_dir: Path, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints; return what was deleted."""
    found = list_checkpoints(run_dir)
    doomed = [path for _, path in found[: max(0, len(found) - keep_last)]]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def keep_in_run_dir(source: Path, run_dir: Path, name: str | None = None) -> Path:
    """Copy a file a run keeps using (e.g. a tokenizer read from a checkpoint) into the run dir.

    A resumed run must not point into the checkpoint it resumed from: pruning
    deletes that checkpoint a few saves later.
    """
    target = Path(run_dir) / (name or source.name)
    if source.resolve() != target.resolve():
        with atomic_path(target) as tmp:  # several processes may copy it at once
            shutil.copyfile(source, tmp)
    return target


def restore(
    accelerator: Any,
    resume_dir: Path,
    *,
    global_batch_size: int,
    load_weights: Callable[[Path], None],
    ema: Any = None,
    note: Callable[[str], None] = print,
) -> TrainerState:
    """Put a checkpoint back into a prepared run; every process must call this.

    Accelerate's state (optimizer, registered schedule, RNG; the model itself
    under FSDP/DeepSpeed), then ``load_weights(resume_dir)`` (the trained
    weights in natiq's files, when parameters are not sharded), EMA and the
    data position, converted if the global batch size changed.
    """
    from natiq.training.accelerator import parameters_sharded

    accelerator.load_state(str(resume_dir))
    if not parameters_sharded(accelerator):
        load_weights(resume_dir)
    state = TrainerState.load(resume_dir)
    message = state.rescale(global_batch_size)
    if message:
        note(f"note: {message}")
    if ema is not None:
        ema.load(resume_dir)
    note(
        f"resumed from {resume_dir} at step {state.step} (epoch {state.epoch}, "
        f"batch {state.batches_in_epoch})"
    )
    return state


def save_checkpoint(
    accelerator: Any,
    run_dir: Path,
    state: TrainerState,
    *,
    write_files: Callable[[Path], None],
    keep_last: int,
) -> Path:
    """Write ``step_<N>/`` atomically and prune; every process must call this.

    Every process takes part in ``save_state`` (its RNG state; shards under FSDP
    or DeepSpeed) and in ``write_files(tmp)``, which may gather sharded weights
    and writes files on the main process only. The main process then writes
    ``trainer_state.json`` (last), renames the folder into place and prunes.
    """
    tmp = Path(run_dir) / f".step_{state.step}.tmp"
    if accelerator.is_main_process:
        tmp = temporary_dir(run_dir, state.step)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    write_files(tmp)
    accelerator.wait_for_everyone()
    target = step_dir(run_dir, state.step)
    if accelerator.is_main_process:
        state.save(tmp)
        publish(tmp, state.step)
        prune_checkpoints(run_dir, keep_last)
    accelerator.wait_for_everyone()
    return target
