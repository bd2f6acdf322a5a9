"""Side-by-side summary of two evaluations (``natiq eval compare RUN_A RUN_B``).

Reads each folder's ``summary.json`` (or the file itself), lines up the
metric means, and says which run is better where the direction is known.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError
from natiq.eval.results import METRICS, SUMMARY_FILE


@dataclass(frozen=True)
class MetricComparison:
    name: str
    a: float | None
    b: float | None
    better: str  # "a", "b", "same" or "" when unknown / not comparable

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


def load_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``summary.json``, given the file or the evaluation folder holding it."""
    source = Path(path)
    if source.is_dir():
        source = source / SUMMARY_FILE
    if not source.is_file():
        raise DataFormatError(f"{path}: no {SUMMARY_FILE} found; pass an evaluation output folder")
    try:
        summary = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{source}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(summary, dict) or "metrics" not in summary:
        raise DataFormatError(f"{source}: not an evaluation summary (no 'metrics')")
    return summary


def _better(name: str, a: float, b: float) -> str:
    direction = METRICS.get(name, "info")
    if direction == "info":
        return ""
    if a == b:
        return "same"
    if direction == "closer to 1":
        return "a" if abs(a - 1) < abs(b - 1) else ("b" if abs(b - 1) < abs(a - 1) else "same")
    a_wins = a < b if direction == "lower" else a > b
    return "a" if a_wins else "b"


def compare_summaries(a: dict[str, Any], b: dict[str, Any]) -> list[MetricComparison]:
    """One comparison per metric present in either summary (means), plus corpus CER/WER."""
    names = [name for name in METRICS if name in a["metrics"] or name in b["metrics"]]
    rows = []
    for name in names:
        mean_a = a["metrics"].get(name, {}).get("mean")
        mean_b = b["metrics"].get(name, {}).get("mean")
        better = _better(name, mean_a, mean_b) if mean_a is not None and mean_b is not None else ""
        rows.append(MetricComparison(name, mean_a, mean_b, better))
    for name in ("cer", "wer"):
        value_a, value_b = a.get("corpus", {}).get(name), b.get("corpus", {}).get(name)
        if value_a is not None or value_b is not None:
            better = (
                _better(name, value_a, value_b)
                if value_a is not None and value_b is not None
                else ""
            )
            rows.append(MetricComparison(f"corpus_{name}", value_a, value_b, better))
    return rows


def comparability_warnings(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Reasons the two summaries' numbers are not directly comparable."""
    warnings = []
    for key, what in (("asr_model", "CER/WER"), ("speaker_model", "speaker similarity")):
        if a.get(key) and b.get(key) and a[key] != b[key]:
            warnings.append(
                f"{what} come from different models ({a[key]} vs {b[key]}): compare with care"
            )
    if a["counts"]["total"] != b["counts"]["total"]:
        warnings.append(
            f"the runs scored different numbers of utterances ({a['counts']['total']} vs {b['counts']['total']})"
        )
    return warnings
