"""The files of an evaluation folder and the metrics they hold: the contract between
running an evaluation (``runner``), reporting it (``report``) and comparing two (``compare``).

Kept apart so that each of those reads the folder through this module and none
imports another. This module computes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError
from natiq.common.files import read_jsonl

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "eval_config.json"
REPORT_FILE = "report.html"
GENERATED_MANIFEST = "generated.jsonl"

# Metrics summarized, with the direction that is better (used by compare and the report).
METRICS: dict[str, str] = {
    "cer": "lower",
    "wer": "lower",
    "speaker_similarity": "higher",
    "dnsmos_ovrl": "higher",
    "dnsmos_sig": "higher",
    "dnsmos_bak": "higher",
    "dnsmos_p808": "higher",
    "snr_db": "higher",
    "silence_ratio": "lower",
    "duration_ratio": "closer to 1",
    "chars_per_second": "info",
    "duration": "info",
    "rtf": "lower",
    "eval_seconds": "info",
}


def load_results(output_dir: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(rows, summary)`` of a finished evaluation folder."""
    out = Path(output_dir)
    summary_path = out / SUMMARY_FILE
    if not summary_path.is_file():
        raise DataFormatError(f"{out}: no {SUMMARY_FILE}; run `natiq eval` into this folder first")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    rows = [row for _, row in read_jsonl(out / RESULTS_FILE, skip_partial_last_line=True)]
    return rows, summary
