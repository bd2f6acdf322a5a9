"""The ``--eval-metrics`` hook of ``natiq pocket train`` and ``natiq higgs train``.

Backends must not import ``natiq.eval`` (layering), so the CLI builds the
scorer and hands it to the trainer as a plain ``Callable[[Path], dict]``.
Settings favour speed over precision: greedy ASR (beam 1) and one thread, as
the scorer runs beside the training loop every ``--eval-steps`` steps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

TRAINING_ASR_BEAM = 1


def training_sample_scorer(
    enabled: bool, *, device: str = "auto"
) -> Callable[[Path], dict[str, float]] | None:
    """A fast ``natiq.eval`` scorer for a trainer's eval samples, or None when ``enabled`` is false."""
    if not enabled:
        return None
    from natiq.eval.asr import AsrConfig
    from natiq.eval.runner import EvalConfig, make_sample_scorer

    return make_sample_scorer(
        EvalConfig(asr=AsrConfig(beam_size=TRAINING_ASR_BEAM, device=device), device=device)
    )
