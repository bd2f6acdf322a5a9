"""Speech to files: one text, a live stream, or a resumable batch.

These are the jobs behind ``natiq speak``, kept out of the CLI so that they
can be called (and tested) from Python. A batch is a JSONL file of texts; each
finished utterance is written atomically, existing outputs are skipped on a
re-run, and a bad line is recorded in ``failures.jsonl`` and skipped instead
of stopping the job. Nothing here knows a model: everything goes through a
``natiq.Synthesizer``.
"""

from __future__ import annotations

import json
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
from natiq.common.files import append_jsonl
from natiq.data.audio import save_wav

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
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
) -> dict[str, float]:
    """Speak ``text`` into a wav written atomically; return the timings."""
    result = synth.speak(text, voice=voice, options=options)
    save_wav(output, result.audio, result.sample_rate)
    return result.timings


def stream_to_file(
    synth: Any,
    text: str,
    output: Path,
    *,
    voice: Any = None,
    options: SynthesisOptions | None = None,
    on_first_chunk: Callable[[float], None] | None = None,
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
            for chunk in synth.stream(text, voice=voice, options=options):
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
class BatchItem:
    line: int
    id: str
    text: str
    voice: Path | None = None


@dataclass
class BatchSummary:
    written: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    audio_s: float = 0.0
    total_s: float = 0.0


def read_batch_line(path: Path, number: int, line: str) -> BatchItem:
    """Parse one line of a batch file: ``{"id": ..., "text": ..., "voice": optional}``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise DataFormatError(f"{path}:{number}: expected a JSON object with a 'text' field")
    text = record.get("text")
    if not isinstance(text, str):
        raise DataFormatError(f"{path}:{number}: missing 'text' (a string)")
    item_id = record.get("id", f"line{number:05d}")
    if not isinstance(item_id, str) or not SAFE_ID.match(item_id) or item_id.endswith(".tmp"):
        raise DataFormatError(
            f"{path}:{number}: id {item_id!r} is not a safe file name (letters, digits, '.', '_', '-')"
        )
    voice = record.get("voice")
    if voice is not None and not isinstance(voice, str):
        raise DataFormatError(f"{path}:{number}: 'voice' must be a path string")
    voice_path = (
        None
        if voice is None
        else (path.parent / voice if not Path(voice).is_absolute() else Path(voice))
    )
    return BatchItem(line=number, id=item_id, text=text, voice=voice_path)


def speak_batch(
    synth: Any,
    input_file: Path,
    output_dir: Path,
    *,
    voice: Any = None,
    options: SynthesisOptions | None = None,
    progress: bool = True,
) -> BatchSummary:
    """Speak every line of ``input_file`` into ``output_dir/<id>.wav``.

    Existing outputs are skipped, so a killed job resumes where it stopped.
    Each failing line (bad JSON, unsafe id, unspeakable text, bad voice file)
    is appended to ``output_dir/failures.jsonl`` with its line number and
    reason, and the job goes on. ``failures.jsonl`` describes the latest run.
    """
    from tqdm import tqdm

    if not input_file.is_file():
        raise DataFormatError(f"{input_file}: no such batch file")
    output_dir.mkdir(parents=True, exist_ok=True)
    failures = output_dir / FAILURES_FILE
    failures.unlink(missing_ok=True)
    lines = input_file.read_text(encoding="utf-8").splitlines()
    summary = BatchSummary()
    seen: set[str] = set()
    started = time.perf_counter()
    for number, line in enumerate(
        tqdm(lines, desc="speak", unit="line", disable=not progress), start=1
    ):
        if not line.strip():
            continue
        try:
            item = read_batch_line(input_file, number, line)
            if item.id in seen:
                raise DataFormatError(f"{input_file}:{number}: id {item.id!r} appears twice")
            seen.add(item.id)
            target = output_dir / f"{item.id}.wav"
            if target.exists():
                summary.skipped_existing.append(item.id)
                continue
            timings = speak_to_file(
                synth, item.text, target, voice=item.voice or voice, options=options
            )
            summary.written.append(item.id)
            summary.audio_s += timings["audio_s"]
        except NatiqError as exc:
            failure = {
                "line": number,
                "id": _id_of(line),
                "error": type(exc).__name__,
                "message": str(exc),
            }
            append_jsonl(failures, failure)
            summary.failed.append(failure)
    summary.total_s = time.perf_counter() - started
    return summary


def _id_of(line: str) -> str | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    value = record.get("id") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None
