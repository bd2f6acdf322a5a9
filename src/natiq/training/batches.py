"""Batches for N processes that add up to the batches of one process: sharding and weights.

A backend describes an epoch as a list of **global** batches (keys of at most
``per_device_train_batch_size x processes`` examples, drawn from ``(seed,
epoch)`` only; bucketing by length happens there). Each process takes its
contiguous slice of every global batch. The last global batch of an epoch may
be short: a process whose slice is empty still runs one example (the batch's
first) so that every process makes the same collective calls, but with
**weight 0**, so it adds nothing to the gradient.

``weight`` scales each process's mean loss so that the average over processes
(what DDP's gradient all-reduce computes) is the mean over the global batch's
examples: ``weight = examples here x processes / examples in the global batch``.
One process with the whole batch gets weight 1. Losses that are means over
examples (or over equally many frames per example) are therefore identical on
1 or N processes, and the data position (global batches consumed in the epoch)
is the same whatever the process count. Accelerate's data-loader sharding is
not used because it completes a short last batch with repeated examples at full
weight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from natiq.training.checkpoint import TrainerState

Key = TypeVar("Key")
# epoch -> that epoch's global batches, in order (the same on every process)
EpochBatches = Callable[[int], Sequence[Sequence[Key]]]


@dataclass
class LocalBatch(Generic[Key]):
    """This process's part of one global batch."""

    keys: list[Key]
    weight: float  # multiply the mean loss by this before backward
    real: int  # examples that count (0 for a weight-0 stand-in)


def shard(
    global_batch: Sequence[Key], *, per_device: int, processes: int, index: int
) -> LocalBatch[Key]:
    """This process's slice of ``global_batch`` and its loss weight."""
    if not global_batch:
        raise ValueError("a global batch must hold at least one example")
    if len(global_batch) > per_device * processes:
        raise ValueError(
            f"a global batch of {len(global_batch)} examples does not fit "
            f"{processes} processes x {per_device} examples"
        )
    part = list(global_batch[index * per_device : (index + 1) * per_device])
    if not part:
        return LocalBatch(keys=[global_batch[0]], weight=0.0, real=0)
    return LocalBatch(keys=part, weight=len(part) * processes / len(global_batch), real=len(part))


def local_batches(
    epoch_batches: EpochBatches,
    state: TrainerState,
    *,
    per_device: int,
    processes: int,
    index: int,
) -> Iterator[LocalBatch]:
    """This process's batches forever, epoch after epoch, from the position in ``state``.

    ``state.epoch`` / ``state.batches_in_epoch`` advance as batches are taken, so a
    checkpoint saved between steps records exactly what was consumed.
    """
    while True:
        batches = epoch_batches(state.epoch)
        if not batches:
            raise ValueError(f"epoch {state.epoch} has no batches")
        while state.batches_in_epoch < len(batches):
            batch = batches[state.batches_in_epoch]
            state.batches_in_epoch += 1
            yield shard(batch, per_device=per_device, processes=processes, index=index)
        state.epoch += 1
        state.batches_in_epoch = 0


def global_batches(order: Sequence[Key], size: int) -> list[list[Key]]:
    """Consecutive batches of ``size`` keys (the last one may be short)."""
    return [list(order[start : start + size]) for start in range(0, len(order), size)]
