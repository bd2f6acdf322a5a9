"""Evaluate a list of generated utterances and write results, summary and report.

``Evaluator`` loads the models once (ASR, speaker encoder, DNSMOS, VAD) and
scores one item at a time; ``run_evaluation`` appends each result to
``results.jsonl`` as it goes (so a killed run resumes where it stopped), then
writes ``summary.json`` and ``report.html``. Each row carries ``input_hash``,
a SHA-256 of everything its scores depend on (the texts, the bytes of the
generated, reference and target audio, the synthesis time and the metric
settings): a re-run keeps a row only when that hash is unchanged, so an
edited text or a regenerated wav is scored again. A row that cannot be scored
fully keeps an ``error`` field saying why (audio that is missing, unreadable,
silent or holds NaN/infinite samples fails that row only), and the other rows
are still evaluated.
``make_sample_scorer`` gives trainers a ``Callable[[Path], dict[str, float]]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from natiq.common.errors import AudioInputError, DataFormatError, NatiqError
from natiq.common.files import append_jsonl, atomic_write_json, read_jsonl, write_jsonl
from natiq.data.audio import load_audio
from natiq.eval.asr import ASR_SAMPLE_RATE, AsrConfig
from natiq.eval.manifest import GeneratedItem, read_generated_manifest
from natiq.eval.quality import estimate_snr_db, real_time_factor
from natiq.eval.results import (
    CONFIG_FILE,
    GENERATED_MANIFEST,
    METRICS,
    REPORT_FILE,
    RESULTS_FILE,
    SUMMARY_FILE,
)
from natiq.eval.speaker import DEFAULT_SPEAKER_MODEL, cosine_similarity
from natiq.eval.text_metrics import character_edits, normalize_for_scoring, word_edits

SAMPLE_RATE = ASR_SAMPLE_RATE  # every model here takes 16 kHz


@dataclass(frozen=True)
class EvalConfig:
    """Which metrics to compute and with which models (one field per CLI flag)."""

    asr: AsrConfig = field(default_factory=AsrConfig)
    speaker_model: str = DEFAULT_SPEAKER_MODEL
    device: str = "auto"
    intelligibility: bool = True
    similarity: bool = True
    quality: bool = True
    num_threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def require_finite(samples: np.ndarray, path: Path) -> None:
    """``AudioInputError`` when a clip holds NaN or infinite samples (no model can score it)."""
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        raise AudioInputError(f"{path}: {bad} of {samples.size} samples are NaN or infinite")


def _file_digest(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return "unreadable"


def input_hash(item: GeneratedItem, config: EvalConfig) -> str:
    """SHA-256 of everything a row's scores depend on (not of paths: moving a wav re-scores nothing)."""
    described = {
        "text": item.text,
        "reference_text": item.reference_text,
        "audio": _file_digest(item.audio),
        "reference_audio": _file_digest(item.reference_audio),
        "target_audio": _file_digest(item.target_audio),
        "synthesis_seconds": item.synthesis_seconds,
        "problems": list(item.problems),
        "settings": config.to_dict(),
    }
    encoded = json.dumps(described, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


class Evaluator:
    """The models of one evaluation, loaded once; ``evaluate`` scores one item."""

    def __init__(self, config: EvalConfig | None = None, *, cache_dir: Path | None = None) -> None:
        self.config = config or EvalConfig()
        self.transcriber = None
        self.speaker_encoder = None
        self.dnsmos = None
        self.vad = None
        if self.config.intelligibility:
            from natiq.eval.asr import WhisperTranscriber

            self.transcriber = WhisperTranscriber(self.config.asr, cache_dir=cache_dir)
        if self.config.similarity:
            from natiq.eval.speaker import load_speaker_encoder

            self.speaker_encoder = load_speaker_encoder(
                self.config.speaker_model, self.config.device
            )
        if self.config.quality:
            from natiq.eval.quality import DnsmosScorer, VoiceActivityDetector

            self.dnsmos = DnsmosScorer(num_threads=self.config.num_threads)
            self.vad = VoiceActivityDetector()
        self._reference_embeddings: dict[Path, np.ndarray] = {}

    def _reference_embedding(self, path: Path) -> np.ndarray:
        if path not in self._reference_embeddings:
            samples, _ = load_audio(path, SAMPLE_RATE)
            require_finite(samples, path)
            self._reference_embeddings[path] = self.speaker_encoder.embed(samples)
        return self._reference_embeddings[path]

    def evaluate(self, item: GeneratedItem) -> dict[str, Any]:
        """All applicable metrics of one item; problems go to ``error``, never raise for bad input."""
        started = time.perf_counter()
        row: dict[str, Any] = {
            "id": item.id,
            "source": item.source,
            "audio": str(item.audio) if item.audio else None,
            "reference_audio": str(item.reference_audio) if item.reference_audio else None,
            "text": item.text,
        }
        if item.reference_text is not None:
            row["reference_text"] = item.reference_text
        errors = list(item.problems)
        if item.text is None and self.transcriber is not None:
            errors.append("missing 'text': CER/WER not computed")
        if item.reference_audio is None and self.speaker_encoder is not None:
            errors.append("missing 'reference_audio': speaker similarity not computed")
        try:
            if item.audio is None:
                raise AudioInputError("no generated audio to evaluate")
            samples, _ = load_audio(item.audio, SAMPLE_RATE)
            require_finite(samples, item.audio)
            if not np.any(samples):
                raise AudioInputError(f"{item.audio}: the audio is all zeros (silent)")
        except AudioInputError as exc:
            if str(exc) not in errors:
                errors.append(str(exc))
            return self._finish(row, errors, started, failed=True)

        duration = samples.size / SAMPLE_RATE
        row["duration"] = duration
        if self.transcriber is not None and item.text is not None:
            transcript = self.transcriber.transcribe(samples)
            row["transcript"] = transcript
            self._add_text_scores(row, item.text, transcript)
        if self.speaker_encoder is not None and item.reference_audio is not None:
            try:
                generated = self.speaker_encoder.embed(samples)
                reference = self._reference_embedding(item.reference_audio)
                row["speaker_similarity"] = cosine_similarity(generated, reference)
            except AudioInputError as exc:
                errors.append(f"speaker similarity not computed: {exc}")
        if self.dnsmos is not None and self.vad is not None:
            row.update(self.dnsmos.score(samples))
            activity = self.vad.detect(samples)
            row["speech_seconds"] = activity.speech_seconds
            row["silence_ratio"] = activity.silence_ratio
            row["snr_db"] = estimate_snr_db(samples, activity)
            if item.text is not None and activity.speech_seconds > 0:
                letters = normalize_for_scoring(item.text).replace(" ", "")
                row["chars_per_second"] = len(letters) / activity.speech_seconds
        if item.target_audio is not None:
            try:
                target, _ = load_audio(item.target_audio, SAMPLE_RATE)
                row["target_duration"] = target.size / SAMPLE_RATE
                row["duration_ratio"] = duration / row["target_duration"]
            except AudioInputError as exc:
                errors.append(f"duration ratio not computed: {exc}")
        if item.synthesis_seconds is not None:
            row["synthesis_seconds"] = item.synthesis_seconds
            row["rtf"] = real_time_factor(item.synthesis_seconds, duration)
        return self._finish(row, errors, started, failed=False)

    @staticmethod
    def _add_text_scores(row: dict[str, Any], text: str, transcript: str) -> None:
        chars = character_edits(text, transcript)
        words = word_edits(text, transcript)
        row["text_normalized"] = normalize_for_scoring(text)
        row["transcript_normalized"] = normalize_for_scoring(transcript)
        row["cer"] = chars.rate
        row["wer"] = words.rate
        row["char_errors"] = chars.errors
        row["char_count"] = chars.reference_length
        row["word_errors"] = words.errors
        row["word_count"] = words.reference_length

    @staticmethod
    def _finish(
        row: dict[str, Any], errors: list[str], started: float, *, failed: bool
    ) -> dict[str, Any]:
        row["status"] = "failed" if failed else ("partial" if errors else "ok")
        row["error"] = "; ".join(errors) if errors else None
        row["eval_seconds"] = time.perf_counter() - started
        return row


def _describe(values: list[float]) -> dict[str, float | int]:
    return {
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "count": len(values),
    }


def summarize(rows: list[dict[str, Any]], *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Means/medians per metric, corpus-level CER/WER, status counts and the failures."""
    metrics: dict[str, Any] = {}
    for name in METRICS:
        values = [float(r[name]) for r in rows if isinstance(r.get(name), int | float)]
        if values:
            metrics[name] = _describe(values)
    char_total = sum(r.get("char_count", 0) for r in rows if "cer" in r)
    word_total = sum(r.get("word_count", 0) for r in rows if "wer" in r)
    corpus: dict[str, float] = {}
    if char_total:
        corpus["cer"] = sum(r["char_errors"] for r in rows if "cer" in r) / char_total
    if word_total:
        corpus["wer"] = sum(r["word_errors"] for r in rows if "wer" in r) / word_total
    counts = {
        status: sum(1 for r in rows if r.get("status") == status)
        for status in ("ok", "partial", "failed")
    }
    return {
        "counts": {"total": len(rows), **counts},
        "metrics": metrics,
        "corpus": corpus,
        "failures": [
            {"id": r["id"], "status": r["status"], "error": r["error"]}
            for r in rows
            if r.get("error")
        ],
        **(extra or {}),
    }


def flat_scores(summary: dict[str, Any]) -> dict[str, float]:
    """``{metric_mean: value, ..., corpus_cer, count, failed}`` for training logs."""
    scores = {f"{name}_mean": stats["mean"] for name, stats in summary["metrics"].items()}
    scores.update({f"corpus_{name}": value for name, value in summary["corpus"].items()})
    scores["count"] = float(summary["counts"]["total"])
    scores["failed"] = float(summary["counts"]["failed"])
    return scores


def _check_config(output_dir: Path, config: EvalConfig) -> None:
    saved = output_dir / CONFIG_FILE
    if saved.is_file():
        previous = json.loads(saved.read_text(encoding="utf-8"))
        if previous != config.to_dict():
            raise NatiqError(
                f"{output_dir} holds results made with other settings ({saved}); "
                f"use a new --output-dir or pass --overwrite to start again"
            )
    else:
        atomic_write_json(saved, config.to_dict())


def run_evaluation(
    items: Iterable[GeneratedItem],
    output_dir: str | os.PathLike[str],
    *,
    config: EvalConfig | None = None,
    evaluator: Evaluator | None = None,
    overwrite: bool = False,
    extra: dict[str, Any] | None = None,
    report: bool = True,
    run_dir: Path | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Score ``items`` into ``output_dir`` and return the summary.

    Rows already in ``results.jsonl`` whose ``input_hash`` still matches
    (except failed ones) are kept, so a killed run resumes and an edited row
    is scored again; settings must match the folder's ``eval_config.json``.
    """
    config = evaluator.config if evaluator is not None else (config or EvalConfig())
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / RESULTS_FILE
    if overwrite:
        for name in (RESULTS_FILE, SUMMARY_FILE, CONFIG_FILE, REPORT_FILE):
            (out / name).unlink(missing_ok=True)
    _check_config(out, config)
    items = list(items)
    hashes = {item.id: input_hash(item, config) for item in items}
    done: dict[str, dict[str, Any]] = {}
    if results_path.is_file():
        for _, row in read_jsonl(results_path, skip_partial_last_line=True):
            unchanged = row.get("input_hash") == hashes.get(row.get("id"))
            if unchanged and row.get("status") != "failed":
                done[row["id"]] = row
            else:
                done.pop(row.get("id"), None)  # a later line for the same id supersedes it
    resumed = len(done)
    todo = [item for item in items if item.id not in done]
    if todo and evaluator is None:
        evaluator = Evaluator(config)
    for item in todo:
        row = {**evaluator.evaluate(item), "input_hash": hashes[item.id]}
        append_jsonl(results_path, row)
        done[item.id] = row
        if progress is not None:
            progress(row)
    rows = [done[item.id] for item in items]
    write_jsonl(results_path, rows)  # manifest order, one row per id
    summary = summarize(
        rows,
        extra={
            "asr_model": config.asr.model if config.intelligibility else None,
            "speaker_model": config.speaker_model if config.similarity else None,
            "resumed": resumed,
            **(extra or {}),
        },
    )
    atomic_write_json(out / SUMMARY_FILE, summary)
    if report:
        from natiq.eval.report import write_report

        write_report(out, run_dir=run_dir)
    return summary


def resolve_generated_manifest(path: str | os.PathLike[str]) -> Path:
    """A manifest file as given, or ``<folder>/generated.jsonl`` for a folder."""
    source = Path(path)
    if source.is_dir():
        source = source / GENERATED_MANIFEST
        if not source.is_file():
            raise DataFormatError(
                f"{source.parent}: no {GENERATED_MANIFEST}; whoever writes the samples must also write "
                f"this manifest (id, audio, text, reference_audio, synthesis_seconds; see docs/evaluation.md)"
            )
    return source


def score_manifest(
    manifest_path: str | os.PathLike[str],
    *,
    evaluator: Evaluator | None = None,
    config: EvalConfig | None = None,
    output_dir: str | os.PathLike[str] | None = None,
) -> dict[str, float]:
    """Evaluate a generated manifest and return flat scores (see ``flat_scores``).

    ``manifest_path`` is the manifest or a folder holding ``generated.jsonl``
    (the trainers' ``samples/step_N/``).
    Results go to ``output_dir`` (default: ``<manifest folder>/eval``), fresh
    each call. Pass a shared ``evaluator`` to avoid reloading the models.
    """
    manifest = resolve_generated_manifest(manifest_path)
    items = read_generated_manifest(manifest)
    target = Path(output_dir) if output_dir is not None else manifest.parent / "eval"
    summary = run_evaluation(
        items, target, config=config, evaluator=evaluator, overwrite=True, report=False
    )
    return flat_scores(summary)


def make_sample_scorer(config: EvalConfig | None = None) -> Callable[[Path], dict[str, float]]:
    """A ``sample_scorer`` for the trainers: models load once, on the first call."""
    state: dict[str, Evaluator] = {}

    def scorer(manifest_path: Path) -> dict[str, float]:
        if "evaluator" not in state:
            state["evaluator"] = Evaluator(config)
        return score_manifest(manifest_path, evaluator=state["evaluator"])

    return scorer
