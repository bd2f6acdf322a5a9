"""What a run reports, from the main process only: console lines, TensorBoard, ``train_log.jsonl``.

Loss terms are averaged over the micro-batches since the last log line and
over processes with each process's batch weight (``natiq.training.batches``),
so a logged loss is the mean over every example of those steps, the same on 1
or N processes. ``reduce`` is a collective: every process calls it at the same
steps. Names: ``train/<term>``, ``train/lr``, ``val/<term>``, ``eval/<metric>``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from natiq.common.files import append_jsonl, read_jsonl, write_jsonl

TRAIN_LOG = "train_log.jsonl"
EVAL_LOG = "eval_log.jsonl"


class RunningTerms:
    """Sums of weighted loss terms over micro-batches, averaged over processes on ``reduce``."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, terms: Mapping[str, torch.Tensor], weight: float) -> None:
        for name, value in terms.items():
            self.sums[name] = self.sums.get(name, 0.0) + float(value.detach()) * weight
        self.count += 1

    def reduce(self, accelerator: Any) -> dict[str, float]:
        """Mean per micro-batch and process of ``weight x term``; resets. A collective."""
        names = sorted(self.sums)
        local = torch.tensor([self.sums[n] for n in names], dtype=torch.float64)
        total = accelerator.reduce(local.to(accelerator.device), reduction="mean").cpu()
        means = {
            name: float(value) / max(1, self.count)
            for name, value in zip(names, total, strict=True)
        }
        self.sums, self.count = {}, 0
        return means


class RunLog:
    """Console, TensorBoard (Accelerate's tracker) and JSONL logs, written by the main process."""

    def __init__(
        self, accelerator: Any, run_dir: Path, console: Callable[[str], None] = print
    ) -> None:
        self.accelerator = accelerator
        self.run_dir = Path(run_dir)
        self.console = console
        self.main = bool(accelerator.is_main_process)
        self.first_step, self.started = 0, time.monotonic()

    def start(self, step: int) -> None:
        """The loop begins at ``step`` now (for steps/s)."""
        self.first_step, self.started = step, time.monotonic()

    def train_step(self, running: RunningTerms, step: int, lr: float) -> dict[str, float]:
        """Reduce the terms since the last log line (a collective: every process calls it)
        and log them as ``train/<term>`` with ``train/lr`` and ``train/steps_per_s``."""
        losses = running.reduce(self.accelerator)
        logged = {f"train/{k}": v for k, v in losses.items()}
        logged["train/lr"] = lr
        elapsed = max(1e-9, time.monotonic() - self.started)
        logged["train/steps_per_s"] = (step - self.first_step) / elapsed
        self.scalars(logged, step)
        return losses

    def print(self, line: str) -> None:
        if self.main:
            self.console(line)

    def scalars(self, values: Mapping[str, float], step: int, *, log_file: str = TRAIN_LOG) -> None:
        if not self.main:
            return
        self.accelerator.log(dict(values), step=step)
        append_jsonl(self.run_dir / log_file, {"step": step, **values})

    def scores(self, finished: list[tuple[int, dict[str, float]]]) -> dict[str, float]:
        """Log sample scores at the step of their samples; the newest as ``eval/<metric>``."""
        latest: dict[str, float] = {}
        for step, scores in finished:
            latest = {f"eval/{k}": v for k, v in scores.items()}
            self.scalars(latest, step, log_file=EVAL_LOG)
            self.print(f"step {step} eval: {format_scores(scores)}")
        return latest

    def close(self) -> None:
        """Flush and close the trackers. Unlike ``Accelerator.end_training`` this keeps the
        process group, so a process can run another training after this one."""
        for tracker in self.accelerator.trackers:
            tracker.finish()

    def forget_after(self, step: int) -> None:
        """Drop JSONL lines past ``step`` (a resumed run logs those steps again)."""
        if not self.main:
            return
        for name in (TRAIN_LOG, EVAL_LOG):
            path = self.run_dir / name
            if path.is_file():
                kept = [
                    r
                    for _, r in read_jsonl(path, skip_partial_last_line=True)
                    if r.get("step", 0) <= step
                ]
                write_jsonl(path, kept)


def format_scores(scores: Mapping[str, float]) -> str:
    """``name value`` pairs in a stable order, for the console."""
    return ", ".join(f"{name} {value:.4g}" for name, value in sorted(scores.items()))


def hparams(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings TensorBoard can show as hyper-parameters (scalars and strings, sections flattened)."""
    flat: dict[str, Any] = {}

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                visit(f"{prefix}{key}/", inner)
        elif isinstance(value, bool | int | float | str):
            flat[prefix.rstrip("/")] = value

    visit("", settings)
    return flat
