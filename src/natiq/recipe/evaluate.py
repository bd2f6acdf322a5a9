"""The evaluate stage: the model speaks held-out and test sentences; natiq's eval tools score them.

Two sets are spoken with the model's default voice:

- ``held_out``: the ``val`` utterances of the prepared corpus (never trained
  on), whose natural recordings give the expected duration;
- ``test``: natiq's fixed Arabic test list (``data/test_sentences.tsv``,
  written for natiq: numbers, dates, names, questions, long sentences,
  undiacritized input...), whose expected duration comes from the training
  speaker's speaking rate (letters per second over the train split).

Each utterance is generated once (``generation.jsonl`` + ``audio/<id>.wav``;
a killed stage resumes), then ``natiq.eval.runner.run_evaluation`` scores
them from ``generated.jsonl`` exactly as ``natiq eval --manifest`` would:
CER/WER against the spoken form of the text (Whisper, the Arabic scoring
normalizer; corpus-level and per utterance), speaker similarity to the voice
prompt (the default voice's clip), DNSMOS, SNR.

A **runaway** is an utterance whose duration divided by the expected one is
outside ``[min_ratio, max_ratio]``: a model that never emits EOS runs into the
generation cap (``cap_factor`` x expected + ``cap_pad_s`` per sentence, above
``max_ratio``, so every capped utterance counts) or into pocket-tts' own cap;
one that stops at once is too short. ``hit_cap`` records the first case.
Finally a few test sentences are timed (on the CPU by default, after a
warm-up) for first-chunk latency and real-time factor. ``evaluation.json`` holds the
figures per set and per test category; the model card is made from it.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from natiq.common.errors import DataFormatError
from natiq.common.files import atomic_write_json, read_jsonl, write_jsonl
from natiq.eval.results import GENERATED_MANIFEST

TEST_SENTENCES = Path(__file__).resolve().parent / "data" / "test_sentences.tsv"
GENERATION_FILE = "generation.jsonl"
EVALUATION_FILE = "evaluation.json"
SCORES_DIR = "scores"
AUDIO_DIR = "audio"
SETS = ("held_out", "test")
# The default voice's clip in a model folder, for every backend (the speaker-similarity prompt).
DEFAULT_VOICE_CLIP = "default_voice.wav"
# Summary metrics carried into evaluation.json (and the card), per set.
CARRIED = ("cer", "wer", "speaker_similarity", "dnsmos_ovrl", "snr_db", "rtf")


@dataclass(frozen=True)
class EvalUtterance:
    """One thing the model is asked to say."""

    id: str
    set: str
    category: str
    text: str
    target_audio: Path | None = None
    target_seconds: float | None = None


class RunawayBounds(BaseModel):
    """When a generation counts as a runaway (the recipe's ``evaluate.runaway``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_ratio: float = Field(0.4, gt=0, description="shortest plausible duration / expected")
    max_ratio: float = Field(2.5, gt=1, description="longest plausible duration / expected")
    cap_factor: float = Field(
        3.0, gt=1, description="generation is cut at cap_factor x expected + cap_pad_s"
    )
    cap_pad_s: float = Field(2.0, ge=0, description="seconds added to the cap")

    @model_validator(mode="after")
    def _capped_is_runaway(self) -> RunawayBounds:
        if self.cap_factor < self.max_ratio:
            raise ValueError(
                f"cap_factor ({self.cap_factor}) must be at least max_ratio ({self.max_ratio}): "
                "a generation cut at the cap must count as a runaway"
            )
        if self.min_ratio >= self.max_ratio:
            raise ValueError("min_ratio must be below max_ratio")
        return self


def read_test_sentences(
    path: str | Path | None = None, limit: int | None = None
) -> list[EvalUtterance]:
    """The test list: TSV rows ``id <TAB> category <TAB> text``; ``#`` lines are comments."""
    source = Path(path) if path is not None else TEST_SENTENCES
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataFormatError(
            f"{source}: cannot read the test sentences ({exc.strerror})"
        ) from None
    found: list[EvalUtterance] = []
    seen: set[str] = set()
    rows = csv.reader(
        (line for line in lines if line.strip() and not line.startswith("#")), delimiter="\t"
    )
    for row in rows:
        if len(row) != 3 or not all(part.strip() for part in row):
            raise DataFormatError(f"{source}: each row is id<TAB>category<TAB>text, got {row!r}")
        sentence_id, category, text = (part.strip() for part in row)
        if sentence_id in seen:
            raise DataFormatError(f"{source}: duplicate id {sentence_id!r}")
        seen.add(sentence_id)
        found.append(EvalUtterance(f"test-{sentence_id}", "test", category, text))
    if not found:
        raise DataFormatError(f"{source}: no test sentences")
    return found[:limit] if limit is not None else found


def held_out_utterances(metadata: str | Path, limit: int | None = None) -> list[EvalUtterance]:
    """The ``val`` rows of a prepared manifest, in file order (at most ``limit``)."""
    from natiq.data.manifest import read_manifest

    rows = read_manifest(metadata, split="val")
    chosen = rows[:limit] if limit is not None else rows
    return [
        EvalUtterance(
            f"val-{row.id}", "held_out", "held_out", row.text, Path(row.audio), row.duration
        )
        for row in chosen
    ]


def letters(text: str) -> int:
    """Letters the scoring normalizer keeps (no diacritics, punctuation or spaces)."""
    from natiq.eval.text_metrics import normalize_for_scoring

    return len(normalize_for_scoring(text).replace(" ", ""))


def speaking_rate(metadata: str | Path) -> float:
    """Letters per second of the training speaker(s) over the train split (durations recorded)."""
    from natiq.data.manifest import read_manifest

    rows = read_manifest(metadata, split="train", require=("duration",))
    seconds = sum(float(row.duration or 0) for row in rows)
    count = sum(letters(row.text) for row in rows)
    if seconds <= 0 or count == 0:
        raise DataFormatError(f"{metadata}: no train utterance with text and duration")
    return count / seconds


def expected_duration(utterance: EvalUtterance, spoken: str, rate: float) -> tuple[float, str]:
    """``(seconds, basis)``: the recording's duration, else the spoken letters at ``rate``."""
    if utterance.target_seconds:
        return float(utterance.target_seconds), "recording"
    return max(letters(spoken) / rate, 0.1), "speaking rate"


@dataclass(frozen=True)
class Verdict:
    """How one generation's length compares with the expected one."""

    cap_s: float
    ratio: float
    hit_cap: bool
    runaway: bool


def generation_cap(expected: float, bounds: RunawayBounds) -> float:
    """Seconds of audio a sentence may reach before generation is cut."""
    return bounds.cap_factor * expected + bounds.cap_pad_s


def judge(
    duration: float, expected: float, bounds: RunawayBounds, frame_s: float = 0.08
) -> Verdict:
    """A runaway: duration / expected outside ``[min_ratio, max_ratio]`` (capped ones included)."""
    cap = generation_cap(expected, bounds)
    ratio = duration / expected
    return Verdict(
        cap_s=cap,
        ratio=ratio,
        hit_cap=duration >= cap - frame_s,
        runaway=not bounds.min_ratio <= ratio <= bounds.max_ratio,
    )


def generate(
    synth: Any,
    utterances: Sequence[EvalUtterance],
    out_dir: Path,
    *,
    voice: Any,
    rate: float,
    bounds: RunawayBounds,
    seed: int,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Speak each utterance into ``out_dir/audio/<id>.wav``; rows of ``generation.jsonl``.

    Rows already in ``generation.jsonl`` whose wav exists are kept (resume).
    """
    from natiq.backends.base import SynthesisOptions
    from natiq.common.files import append_jsonl
    from natiq.data.audio import save_wav

    path = out_dir / GENERATION_FILE
    done: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for _, row in read_jsonl(path, skip_partial_last_line=True):
            if (out_dir / row["audio"]).is_file():
                done[row["id"]] = row
    for utterance in utterances:
        if utterance.id in done:
            continue
        expected, basis = expected_duration(utterance, synth.frontend.spoken(utterance.text), rate)
        options = SynthesisOptions(max_seconds=generation_cap(expected, bounds), seed=seed)
        result = synth.speak(utterance.text, voice=voice, options=options)
        audio_name = f"{AUDIO_DIR}/{utterance.id}.wav"
        save_wav(out_dir / audio_name, result.audio, result.sample_rate)
        duration = result.audio.size / result.sample_rate
        verdict = judge(duration, expected, bounds)
        row = {
            "id": utterance.id,
            "set": utterance.set,
            "category": utterance.category,
            "text": utterance.text,
            "spoken": " ".join(s.spoken for s in result.sentences),
            "audio": audio_name,
            "target_audio": str(utterance.target_audio) if utterance.target_audio else None,
            "expected_s": round(expected, 4),
            "expected_from": basis,
            "cap_s": round(verdict.cap_s, 4),
            "duration_s": round(duration, 4),
            "ratio": round(verdict.ratio, 4),
            "hit_cap": verdict.hit_cap,
            "runaway": verdict.runaway,
            "synthesis_seconds": result.timings["total_s"],
            "first_chunk_s": result.timings["first_chunk_s"],
        }
        append_jsonl(path, row)
        done[utterance.id] = row
        log(
            f"  {utterance.id}: {duration:.2f} s (expected {expected:.2f} s from the {basis})"
            + (" RUNAWAY" if row["runaway"] else "")
        )
    rows = [done[u.id] for u in utterances]
    write_jsonl(path, rows)
    return rows


def write_generated_manifest(
    rows: Sequence[dict[str, Any]], out_dir: Path, reference_audio: Path | None
) -> Path:
    """``generated.jsonl`` in the format ``natiq eval --manifest`` reads (docs/evaluation.md)."""
    manifest = out_dir / GENERATED_MANIFEST
    write_jsonl(
        manifest,
        (
            {
                "id": row["id"],
                "audio": row["audio"],
                "text": row["spoken"],
                "reference_audio": str(reference_audio) if reference_audio else None,
                "target_audio": row["target_audio"],
                "synthesis_seconds": row["synthesis_seconds"],
            }
            for row in rows
        ),
    )
    return manifest


def load_model_folder(backend: str, model_dir: Path, device: str) -> Any:
    """A ``Synthesizer`` of a recipe's model folder (a Pocket export, a merged Higgs model)."""
    from natiq.synthesizer import Synthesizer

    if backend == "pocket":
        return Synthesizer.load("pocket", checkpoint=model_dir, device=device)
    return Synthesizer.load(backend, model=str(model_dir), device=device)


def time_speech(
    backend: str,
    model_dir: Path,
    texts: Sequence[tuple[str, float]],
    *,
    device: str,
    threads: int,
    seed: int,
) -> dict[str, Any]:
    """First-chunk latency and real-time factor of ``(text, cap seconds)`` pairs on ``device``.

    The model is loaded with ``threads`` torch threads and speaks the first
    text once as a warm-up (allocations, caches) before the timed runs.
    """
    import torch

    from natiq.backends.base import SynthesisOptions

    if not texts:
        return {}
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        synth = load_model_folder(backend, model_dir, device)
        voice = synth.prepare_voice(None)

        def speak(text: str, cap: float) -> dict[str, float]:
            options = SynthesisOptions(seed=seed, max_seconds=cap)
            return synth.speak(text, voice=voice, options=options).timings

        speak(*texts[0])  # warm-up
        timings = [speak(text, cap) for text, cap in texts]
    finally:
        torch.set_num_threads(previous)
    first = [t["first_chunk_s"] for t in timings]
    rtf = [t["rtf"] for t in timings]
    return {
        "sentences": len(texts),
        "device": device,
        "threads": threads,
        "first_chunk_s_median": statistics.median(first),
        "rtf_median": statistics.median(rtf),
        "first_chunk_s": first,
        "rtf": rtf,
    }


def _set_figures(
    results: Sequence[dict[str, Any]], generation: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    from natiq.eval.runner import summarize

    summary = summarize(list(results))
    figures: dict[str, Any] = {
        "count": len(generation),
        "failed": summary["counts"]["failed"],
        "runaway_rate": sum(bool(g["runaway"]) for g in generation) / len(generation),
        "hit_cap": sum(bool(g["hit_cap"]) for g in generation),
    }
    for name, value in summary["corpus"].items():
        figures[f"corpus_{name}"] = value
    for name in CARRIED:
        if name in summary["metrics"]:
            figures[f"{name}_mean"] = summary["metrics"][name]["mean"]
    return figures


def figures_by_set(
    results: Sequence[dict[str, Any]], generation: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Per set (and per test category): corpus CER/WER, metric means, runaway rate."""
    by_id = {row["id"]: row for row in results}
    figures: dict[str, Any] = {}
    for name in SETS:
        rows = [g for g in generation if g["set"] == name]
        if not rows:
            continue
        figures[name] = _set_figures([by_id[g["id"]] for g in rows if g["id"] in by_id], rows)
        if name == "test":
            categories = sorted({g["category"] for g in rows})
            figures[name]["by_category"] = {
                category: _set_figures(
                    [
                        by_id[g["id"]]
                        for g in rows
                        if g["category"] == category and g["id"] in by_id
                    ],
                    [g for g in rows if g["category"] == category],
                )
                for category in categories
            }
    return figures


def write_evaluation(out_dir: Path, evaluation: dict[str, Any]) -> Path:
    path = out_dir / EVALUATION_FILE
    atomic_write_json(path, evaluation)
    return path


def read_evaluation(out_dir: str | Path) -> dict[str, Any]:
    import json

    path = Path(out_dir) / EVALUATION_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise DataFormatError(f"{path}: missing; run the evaluate stage first") from None


def run_evaluate(
    backend: str,
    model_dir: Path,
    metadata: Path,
    out_dir: Path,
    settings: Any,
    *,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The whole stage: speak both sets, score them, time them, write ``evaluation.json``.

    ``settings`` is the recipe's ``evaluate`` section (``EvaluateSection``).
    """
    from natiq.eval.manifest import read_generated_manifest
    from natiq.eval.results import load_results
    from natiq.eval.runner import run_evaluation

    out_dir.mkdir(parents=True, exist_ok=True)
    bounds = settings.runaway
    tests = read_test_sentences(settings.test_sentences, settings.test_limit)
    utterances = held_out_utterances(metadata, settings.held_out) + tests
    rate = speaking_rate(metadata)
    log(
        f"speaking {len(utterances)} utterances ({len(tests)} test sentences), {rate:.1f} letters/s"
    )
    synth = load_model_folder(backend, model_dir, settings.device)
    voice = synth.prepare_voice(None)
    generation = generate(
        synth,
        utterances,
        out_dir,
        voice=voice,
        rate=rate,
        bounds=bounds,
        seed=settings.seed,
        log=log,
    )
    del synth, voice
    clip = model_dir / DEFAULT_VOICE_CLIP  # the same name for every backend
    manifest = write_generated_manifest(generation, out_dir, clip if clip.is_file() else None)
    scores_dir = out_dir / SCORES_DIR
    run_evaluation(
        read_generated_manifest(manifest),
        scores_dir,
        config=settings.scoring,
        report=settings.html_report,
    )
    results, summary = load_results(scores_dir)
    caps = {row["id"]: row["cap_s"] for row in generation}
    timed = [(u.text, caps[u.id]) for u in tests[: settings.latency_sentences]]
    device = settings.latency_device
    log(f"timing {len(timed)} test sentences on {device} ({settings.latency_threads} thread(s))")
    latency = time_speech(
        backend,
        model_dir,
        timed,
        device=device,
        threads=settings.latency_threads,
        seed=settings.seed,
    )
    evaluation = {
        "sets": figures_by_set(results, generation),
        "latency": latency,
        "speaking_rate_letters_per_s": rate,
        "runaway_rule": bounds.model_dump(),
        "asr_model": summary.get("asr_model"),
        "speaker_model": summary.get("speaker_model"),
        "voice_prompt": DEFAULT_VOICE_CLIP if clip.is_file() else None,
    }
    write_evaluation(out_dir, evaluation)
    return evaluation
