"""Raw corpora as a stream of ``SourceItem``: one utterance as found, not yet processed.

Readers for an input manifest (JSONL or CSV), a folder of audio + transcript
pairs, and an LJSpeech-style folder (``metadata.csv``). ClArTTS and other
Hugging Face datasets live in ``natiq.data.clartts``. Readers only describe
items (ids, transcripts, where the audio is) in a deterministic order; loading
and checking audio is the processing step's job.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from natiq.common.errors import DataFormatError
from natiq.common.files import read_jsonl

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
TEXT_FIELDS = ("text", "transcript", "sentence", "text_raw")
DEFAULT_SPEAKER = "spk0"
_UNSAFE = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class ParquetRef:
    """Where one row's audio lives in a local parquet file (read by a worker)."""

    path: str
    row_group: int
    row: int
    file_name: str


@dataclass
class SourceItem:
    """One utterance as the corpus gives it.

    The signal comes from exactly one of: ``audio_path`` (the worker reads the
    file), ``samples`` with ``sample_rate`` (datasets that store raw arrays),
    or ``parquet`` with ``sample_rate`` (the worker decodes the row itself).
    ``origin`` says where the item came from, for rejects and error messages.
    """

    id: str
    text: str
    speaker: str
    origin: str
    audio_path: Path | None = None
    samples: np.ndarray | None = None
    sample_rate: int | None = None
    parquet: ParquetRef | None = None


def safe_id(name: str) -> str:
    """A file-stem-safe utterance id: letters, digits, ``_ . -``; other runs become ``_``."""
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", name.strip())).strip("._")
    return cleaned


def _text_of(record: dict[str, object]) -> str | None:
    for name in TEXT_FIELDS:
        value = record.get(name)
        if value is not None:
            return str(value)
    return None


def _item_from_record(record: dict[str, object], base_dir: Path, where: str) -> SourceItem:
    audio = record.get("audio") or record.get("audio_path") or record.get("path")
    if not isinstance(audio, str) or not audio:
        raise DataFormatError(
            f"{where}: missing 'audio' (path of the audio file, relative to the manifest)"
        )
    text = _text_of(record)
    if text is None:
        raise DataFormatError(f"{where}: missing 'text' (one of {', '.join(TEXT_FIELDS)})")
    audio_path = Path(audio)
    if not audio_path.is_absolute():
        audio_path = base_dir / audio_path
    utt_id = safe_id(str(record.get("id") or Path(audio).stem))
    speaker = str(record.get("speaker") or DEFAULT_SPEAKER)
    return SourceItem(id=utt_id, text=text, speaker=speaker, origin=where, audio_path=audio_path)


def read_jsonl_manifest(path: Path) -> Iterator[SourceItem]:
    """Items of a JSONL manifest: ``audio`` (relative to the file), ``text``, optional ``id``, ``speaker``."""
    base_dir = path.resolve().parent
    for number, record in read_jsonl(path):
        yield _item_from_record(record, base_dir, f"{path}:{number}")


def read_csv_manifest(path: Path) -> Iterator[SourceItem]:
    """Items of a CSV/TSV manifest with a header row naming the same columns as the JSONL form."""
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file")
    base_dir = path.resolve().parent
    with open(path, encoding="utf-8", newline="") as handle:
        header = handle.readline()
        delimiter = max(",\t|;", key=header.count)
        handle.seek(0)
        reader = csv.DictReader(handle, delimiter=delimiter)
        columns = set(reader.fieldnames or ())
        if "audio" not in columns or not columns & set(TEXT_FIELDS):
            raise DataFormatError(
                f"{path}:1: the header must name an 'audio' column and a text column "
                f"({', '.join(TEXT_FIELDS)}); found {sorted(columns)}"
            )
        for row in reader:
            yield _item_from_record(dict(row), base_dir, f"{path}:{reader.line_num}")


def read_manifest_source(path: str | Path) -> Iterator[SourceItem]:
    """Dispatch on the suffix: ``.jsonl`` / ``.json`` or ``.csv`` / ``.tsv``."""
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return read_jsonl_manifest(source)
    if suffix in (".csv", ".tsv"):
        return read_csv_manifest(source)
    raise DataFormatError(f"{source}: unknown manifest type '{suffix}'; use .jsonl or .csv")


def read_ljspeech(folder: Path) -> Iterator[SourceItem]:
    """LJSpeech layout: ``metadata.csv`` lines ``id|text[|normalized]``, audio in ``wavs/<id>.wav``."""
    metadata = folder / "metadata.csv"
    audio_dir = folder / "wavs" if (folder / "wavs").is_dir() else folder
    with open(metadata, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("|")
            if len(fields) < 2:
                raise DataFormatError(f"{metadata}:{number}: expected 'id|text', got {line[:60]!r}")
            stem = fields[0].strip()
            yield SourceItem(
                id=safe_id(stem),
                text=fields[1],
                speaker=DEFAULT_SPEAKER,
                origin=f"{metadata}:{number}",
                audio_path=audio_dir / f"{stem}.wav",
            )


def read_audio_pairs(folder: Path) -> Iterator[SourceItem]:
    """Every audio file under ``folder`` with a same-stem ``.txt`` transcript beside it.

    The speaker is the first sub-folder under ``folder`` (``spk/utt.wav``), or
    ``spk0`` for files directly in it. A missing transcript gives empty text,
    which ``prepare`` rejects.
    """
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
    )
    for audio_path in files:
        relative = audio_path.relative_to(folder)
        speaker = relative.parts[0] if len(relative.parts) > 1 else DEFAULT_SPEAKER
        transcript = audio_path.with_suffix(".txt")
        text = transcript.read_text(encoding="utf-8").strip() if transcript.is_file() else ""
        stem = relative.with_suffix("").as_posix().replace("/", "_")
        yield SourceItem(
            id=safe_id(stem),
            text=text,
            speaker=speaker,
            origin=str(audio_path),
            audio_path=audio_path,
        )


def read_audio_dir(path: str | Path) -> Iterator[SourceItem]:
    """An LJSpeech folder when it has ``metadata.csv``, otherwise audio + ``.txt`` pairs."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: not a folder")
    if (folder / "metadata.csv").is_file():
        return read_ljspeech(folder)
    return read_audio_pairs(folder)
