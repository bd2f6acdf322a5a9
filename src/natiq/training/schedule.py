"""Optimizer and learning-rate schedule, counted in optimizer steps whatever the process count.

The schedule comes from transformers (``get_scheduler``: linear warmup, then
linear, cosine or cosine-to-a-floor decay). It is deliberately **not** passed
to ``accelerator.prepare``: Accelerate's scheduler wrapper steps the schedule
once per process at every optimizer step (it assumes the schedule counts
examples of one process), so with 2 processes warmup and decay ran twice as
fast. Here the loop calls ``step_schedule`` once per optimizer step, and the
schedule is registered for checkpointing, so the learning rate at step k is
the same on 1 or N processes and a checkpoint resumes under any process count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from natiq.training.config import TrainConfig


def make_optimizer(
    params: Iterable[torch.nn.Parameter], config: TrainConfig
) -> torch.optim.Optimizer:
    """AdamW over the trainable ``params`` with the config's rate, betas and weight decay."""
    return torch.optim.AdamW(
        [p for p in params if p.requires_grad],
        lr=config.learning_rate,
        betas=(config.adam_beta1, config.adam_beta2),
        weight_decay=config.weight_decay,
    )


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int) -> Any:
    """transformers' ``config.lr_scheduler_type`` schedule over ``total_steps`` optimizer steps."""
    from transformers import get_scheduler

    specific = (
        {"min_lr_rate": config.min_lr_rate}
        if config.lr_scheduler_type == "cosine_with_min_lr"
        else {}
    )
    return get_scheduler(
        config.lr_scheduler_type,
        optimizer,
        num_warmup_steps=config.warmup_steps,
        num_training_steps=total_steps,
        scheduler_specific_kwargs=specific,
    )


def total_steps(config: TrainConfig, batches_per_epoch: int) -> int:
    """``--max-steps``, else the optimizer steps of ``--num-train-epochs`` epochs."""
    if config.max_steps is not None:
        return config.max_steps
    micro = config.num_train_epochs * batches_per_epoch
    return max(1, math.ceil(micro / config.gradient_accumulation_steps))


def step_schedule(optimizer: Any, scheduler: Any) -> None:
    """Advance the schedule by one optimizer step (not when mixed precision skipped the step)."""
    if not getattr(optimizer, "step_was_skipped", False):
        scheduler.step()


def current_lr(scheduler: Any) -> float:
    return float(scheduler.get_last_lr()[0])
