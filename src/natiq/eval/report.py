"""The HTML report of an evaluation folder: summary, plots, per-utterance table.

Reads only the folder's files (``results.jsonl``, ``summary.json``) and, when
given, a training run folder's TensorBoard logs, so it can be rebuilt at any
time (``natiq eval report``). Plots are PNGs embedded as base64; audio players
point at the wavs by paths relative to the report, so the folder must stay
beside the audio it evaluated (or be served from a common root).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from natiq.common.errors import AudioInputError
from natiq.common.files import atomic_write_text
from natiq.eval.results import METRICS, REPORT_FILE, load_results

REPORT_COLUMNS = (
    ("cer", "CER", "{:.3f}"),
    ("wer", "WER", "{:.3f}"),
    ("speaker_similarity", "SIM", "{:.3f}"),
    ("dnsmos_ovrl", "DNSMOS", "{:.2f}"),
    ("snr_db", "SNR dB", "{:.1f}"),
    ("silence_ratio", "silence", "{:.2f}"),
    ("duration", "dur s", "{:.2f}"),
    ("rtf", "RTF", "{:.3f}"),
)
PLOTTED_METRICS = (
    "cer",
    "wer",
    "speaker_similarity",
    "dnsmos_ovrl",
    "snr_db",
    "silence_ratio",
    "duration_ratio",
    "rtf",
)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _audio_src(path: str | None, report_dir: Path) -> str | None:
    if not path or not Path(path).is_file():
        return None
    relative = os.path.relpath(Path(path).resolve(), report_dir.resolve())
    return quote(Path(relative).as_posix())


def _format(value: Any, pattern: str) -> str:
    return pattern.format(value) if isinstance(value, int | float) else "–"


def build_report_html(
    rows: list[dict[str, Any]],
    summary: dict[str, Any],
    report_dir: Path,
    *,
    curves: dict[str, list[tuple[int, float]]] | None = None,
    max_spectrograms: int = 50,
    title: str = "natiq evaluation",
) -> str:
    """Render the report; spectrograms for the first ``max_spectrograms`` readable rows."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from natiq.data.audio import load_audio
    from natiq.eval.plots import curves_png, histograms_png, spectrogram_png

    columns = {
        name: [float(r[name]) for r in rows if isinstance(r.get(name), int | float)]
        for name in PLOTTED_METRICS
    }
    histogram = _data_uri(histograms_png(columns)) if any(columns.values()) else None
    curves_image = _data_uri(curves_png(curves)) if curves else None

    table = []
    for index, row in enumerate(rows):
        spectrogram = None
        if index < max_spectrograms and row.get("status") != "failed" and row.get("audio"):
            try:
                samples, rate = load_audio(row["audio"], 16000)
                spectrogram = _data_uri(spectrogram_png(samples, rate))
            except AudioInputError:
                spectrogram = None
        table.append(
            {
                "id": row.get("id"),
                "status": row.get("status"),
                "error": row.get("error"),
                "text": row.get("text") or "",
                "transcript": row.get("transcript") or "",
                "cells": [_format(row.get(key), pattern) for key, _, pattern in REPORT_COLUMNS],
                "audio": _audio_src(row.get("audio"), report_dir),
                "reference": _audio_src(row.get("reference_audio"), report_dir),
                "spectrogram": spectrogram,
            }
        )
    metrics = [
        {"name": name, "better": METRICS.get(name, ""), **stats}
        for name, stats in summary.get("metrics", {}).items()
    ]
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return environment.get_template("report.html").render(
        title=title,
        summary=summary,
        metrics=metrics,
        histogram=histogram,
        curves=curves_image,
        curve_names=sorted(curves) if curves else [],
        headers=[label for _, label, _ in REPORT_COLUMNS],
        rows=table,
    )


def write_report(
    output_dir: str | os.PathLike[str],
    *,
    run_dir: str | os.PathLike[str] | None = None,
    max_spectrograms: int = 50,
) -> Path:
    """Write ``<output_dir>/report.html`` from the folder's results (+ a run's TensorBoard logs)."""
    from natiq.eval.plots import read_scalar_curves

    out = Path(output_dir)
    rows, summary = load_results(out)
    curves = read_scalar_curves(Path(run_dir)) if run_dir is not None else None
    html = build_report_html(rows, summary, out, curves=curves, max_spectrograms=max_spectrograms)
    target = out / REPORT_FILE
    atomic_write_text(target, html)
    return target
