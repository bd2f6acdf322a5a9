"""Speech to files: one text, a live stream, or a resumable batch.

These are the jobs behind ``natiq speak``, kept out of the CLI so that they
can be called (and tested) from Python. A batch is a JSONL file of texts; each
finished utterance is written atomically, existing outputs are skipped on a
re-run, and a bad line is recorded in ``failures.jsonl`` and skipped instead
of stopping the job. Nothing here knows a model: everything goes through a
``natiq.Synthesizer``.

Word timings: the jobs take an ``on_sentence`` hook (single texts) or a
``word_timer`` (batches: each sentence's ``SentenceAudio`` -> word dicts,
e.g. ``natiq.eval.alignment.WordAligner.sentence_timings``); the timings
file is written before its wav, so a wav that exists has its timings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from natiq.backends.base import SynthesisOptions
from natiq.common.errors import DataFormatError, NatiqError
from natiq.common.files import append_jsonl, atomic_write_json
from natiq.common.rows import BadRow
from natiq.data.audio import save_wav
from natiq.data.batch_lines import BatchLine, read_batch_file

FAILURES_FILE = "failures.jsonl"
TRANSLIT_MAX_CHARS = 80


def translit_slug(text: str) -> str:
    """The ``latin`` romanization of ``text`` as a file-name-safe slug (``marhaban_bikum``)."""
    from natiq.text import romanize

    romanized = romanize(text, "latin").lower()
    slug = re.sub(r"[^a-z0-9]+", "_", romanized).strip("_")
    return slug[:TRANSLIT_MAX_CHARS].rstrip("_")


def with_translit(path: Path, text: str) -> Path:
    """``out/generated_arabic.wav`` -> ``out/generated_arabic_marhaban_bikum.wav``."""
    slug = translit_slug(text)
    return path.with_name(f"{path.stem}_{slug}{path.suffix}") if slug else path


def speak_to_file(
    synth: Any,
    text: str,
    output: Path,
    *,
    voice: Any = None,
    options: SynthesisOptions | None = None,
    ssml: bool | None = None,
    speed: float = 1.0,
    on_sentence: Callable[[Any], None] | None = None,
) -> dict[str, float]:
    """Speak ``text`` into a wav written atomically; return the timings.

    ``ssml`` as ``Synthesizer.prepare_text`` takes it (``None``: text starting with ``<speak>``);
    ``speed`` and ``on_sentence`` as ``Synthesizer.speak`` takes them.
    """
    result = synth.speak(
        text, voice=voice, options=options, ssml=ssml, speed=speed, on_sentence=on_sentence
    )
    save_wav(output, result.audio, result.sample_rate)
    return result.timings


def write_word_timings(path: Path, words: list[dict[str, Any]], audio_s: float) -> Path:
    """``{"duration": seconds, "words": [{"type": "word", "text", "start", "end"}, ...]}``, atomically."""
    atomic_write_json(path, {"duration": round(audio_s, 3), "words": words})
    return path


def stream_to_file(
    synth: Any,
    text: str,
    output: Path,
    *,
    voice: Any = None,
    options: SynthesisOptions | None = None,
    on_first_chunk: Callable[[float], None] | None = None,
    ssml: bool | None = None,
    speed: float = 1.0,
    on_sentence: Callable[[Any], None] | None = None,
) -> dict[str, float]:
    """Write the wav while it is generated (the header is updated after every chunk).

    A player can open ``output`` before generation ends. On failure the
    partial file is removed. Returns ``first_chunk_s``, ``total_s``, ``audio_s``, ``rtf``.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    first: float | None = None
    samples = 0
    try:
        with sf.SoundFile(
            str(output),
            mode="w",
            samplerate=synth.sample_rate,
            channels=1,
            subtype="PCM_16",
            format="WAV",
        ) as handle:
            chunks = synth.stream(
                text,
                voice=voice,
                options=options,
                ssml=ssml,
                speed=speed,
                on_sentence=on_sentence,
            )
            for chunk in chunks:
                if first is None:
                    first = time.perf_counter() - started
                handle.write(np.clip(chunk, -1.0, 1.0))
                handle.flush()
                if samples == 0 and on_first_chunk is not None:
                    on_first_chunk(first)  # the file already holds the first chunk
                samples += chunk.size
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    total = time.perf_counter() - started
    audio = samples / synth.sample_rate
    return {
        "first_chunk_s": first or total,
        "total_s": total,
        "audio_s": audio,
        "rtf": total / audio if audio else float("inf"),
    }


@dataclass
class BatchSummary:
    written: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    audio_s: float = 0.0
    total_s: float = 0.0


def speak_batch(
    synth: Any,
    input_file: Path,
    output_dir: Path,
    *,
    voice: Any = None,
    options: SynthesisOptions | None = None,
    progress: bool = True,
    ssml: bool | None = None,
    speed: float = 1.0,
    word_timer: Callable[[Any], list[dict[str, Any]]] | None = None,
    timings_dir: Path | None = None,
) -> BatchSummary:
    """Speak every line of ``input_file`` into ``output_dir/<id>.wav``.

    A line's ``speed`` overrides ``speed``. With ``word_timer``, each line's
    word timings are written to ``timings_dir/<id>.json`` (``write_word_timings``).
    Existing outputs are skipped, so a killed job resumes where it stopped.
    Each failing line (bad JSON, unsafe id, unspeakable text, bad voice file)
    is appended to ``output_dir/failures.jsonl`` with its line number and
    reason, and the job goes on. ``failures.jsonl`` describes the latest run.
    """
    from tqdm import tqdm

    lines = read_batch_file(input_file, lenient=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    failures = output_dir / FAILURES_FILE
    failures.unlink(missing_ok=True)
    summary = BatchSummary()
    started = time.perf_counter()
    in_file_order = sorted([*lines, *lines.bad], key=lambda entry: entry.line)
    for item in tqdm(in_file_order, desc="speak", unit="line", disable=not progress):
        if isinstance(item, BadRow):
            _record_failure(summary, failures, item.line, item.id, item.error, item.message)
            continue
        target = output_dir / f"{item.output_id()}.wav"
        if target.exists():
            summary.skipped_existing.append(item.output_id())
            continue
        try:
            if item.response_format not in (None, "wav"):
                raise DataFormatError(
                    f"{input_file}:{item.line}: natiq speak writes wav files; drop "
                    f"'response_format' {item.response_format!r} (the server writes others)"
                )
            if item.timings and word_timer is None:
                raise DataFormatError(
                    f"{input_file}:{item.line}: this line asks for word timings: "
                    "run natiq speak with --timings DIR"
                )
            voice_of_line = _voice_of(item, input_file) or voice
            words: list[dict[str, Any]] = []
            result = synth.speak(
                item.text,
                voice=voice_of_line,
                options=options,
                ssml=ssml,
                speed=item.speed if item.speed is not None else speed,
                on_sentence=None if word_timer is None else _collector(words, word_timer),
            )
            timings = result.timings
            if word_timer is not None:
                folder = timings_dir or output_dir
                write_word_timings(folder / f"{item.output_id()}.json", words, timings["audio_s"])
            save_wav(target, result.audio, result.sample_rate)
        except NatiqError as exc:
            _record_failure(summary, failures, item.line, item.id, type(exc).__name__, str(exc))
            continue
        summary.written.append(item.output_id())
        summary.audio_s += timings["audio_s"]
    summary.total_s = time.perf_counter() - started
    return summary


def _collector(
    words: list[dict[str, Any]], word_timer: Callable[[Any], list[dict[str, Any]]]
) -> Callable[[Any], None]:
    """An ``on_sentence`` hook that adds each sentence's word timings to ``words``."""
    return lambda segment: words.extend(word_timer(segment))


def _voice_of(item: BatchLine, input_file: Path) -> Path | None:
    """A line's voice clip: absolute, or relative to the batch file's folder."""
    if item.voice is None:
        return None
    path = Path(item.voice)
    return path if path.is_absolute() else input_file.parent / path


def _record_failure(
    summary: BatchSummary, failures: Path, line: int, item_id: str | None, error: str, message: str
) -> None:
    failure = {"line": line, "id": item_id, "error": error, "message": message}
    append_jsonl(failures, failure)
    summary.failed.append(failure)
