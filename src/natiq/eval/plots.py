"""Matplotlib figures of the report, returned as PNG bytes (headless Agg backend).

Metric distributions, one spectrogram per utterance, and training curves from
a run's TensorBoard event files. Kept apart from the HTML so each can be
tested and reused (``natiq eval compare`` draws none of these).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def histograms_png(columns: dict[str, Sequence[float]], *, per_row: int = 3) -> bytes:
    """One histogram per metric, laid out on a grid."""
    plt = _pyplot()
    names = [name for name, values in columns.items() if len(values)]
    rows = max(1, math.ceil(len(names) / per_row))
    figure, axes = plt.subplots(
        rows, per_row, figsize=(4 * per_row, 2.6 * rows), dpi=80, squeeze=False
    )
    for axis in axes.flat[len(names) :]:
        axis.set_visible(False)
    for axis, name in zip(axes.flat, names, strict=False):
        values = np.asarray(columns[name], dtype=float)
        axis.hist(values, bins=min(20, max(5, values.size)), color="#3b6ea5", edgecolor="white")
        axis.axvline(float(np.mean(values)), color="#c0392b", linestyle="--", linewidth=1)
        axis.set_title(f"{name} (mean {np.mean(values):.3g}, n={values.size})", fontsize=9)
    figure.tight_layout()
    return _png(figure)


def spectrogram_png(samples: np.ndarray, sample_rate: int) -> bytes:
    """A small log-magnitude spectrogram of one clip."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(3.6, 1.3), dpi=72)
    with np.errstate(divide="ignore"):  # digital silence has zero power
        axis.specgram(samples, NFFT=512, Fs=sample_rate, noverlap=384, cmap="magma", scale="dB")
    axis.set_yticks([])
    axis.tick_params(labelsize=6)
    axis.set_xlabel("s", fontsize=6, labelpad=1)
    figure.tight_layout(pad=0.2)
    return _png(figure)


def read_scalar_curves(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in the TensorBoard event files under ``run_dir``.

    Series are keyed ``<subfolder>/<tag>`` when event files sit in several
    folders, else ``<tag>``; each is a list of ``(step, value)`` sorted by step.
    """
    from tensorboard.backend.event_processing import event_accumulator

    folders = sorted({path.parent for path in Path(run_dir).rglob("events.out.tfevents*")})
    curves: dict[str, list[tuple[int, float]]] = {}
    for folder in folders:
        accumulator = event_accumulator.EventAccumulator(
            str(folder), size_guidance={event_accumulator.SCALARS: 0}
        )
        accumulator.Reload()
        prefix = "" if len(folders) == 1 else f"{folder.relative_to(run_dir)}/"
        for tag in accumulator.Tags().get("scalars", []):
            points = sorted((event.step, float(event.value)) for event in accumulator.Scalars(tag))
            curves[f"{prefix}{tag}"] = points
    return curves


def curves_png(
    curves: dict[str, list[tuple[int, float]]], *, per_row: int = 3, limit: int = 12
) -> bytes:
    """Line plots of training curves, loss series first, at most ``limit`` panels."""
    plt = _pyplot()
    names = sorted(curves, key=lambda name: ("loss" not in name.lower(), name))[:limit]
    rows = max(1, math.ceil(len(names) / per_row))
    figure, axes = plt.subplots(
        rows, per_row, figsize=(4 * per_row, 2.6 * rows), dpi=80, squeeze=False
    )
    for axis in axes.flat[len(names) :]:
        axis.set_visible(False)
    for axis, name in zip(axes.flat, names, strict=False):
        steps, values = zip(*curves[name], strict=True)
        axis.plot(steps, values, color="#3b6ea5", linewidth=1.2)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("step", fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)
