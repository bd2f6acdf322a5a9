"""The utterance manifest (``metadata.jsonl``) that every later stage reads.

One record per prepared utterance, with exactly the fields listed in
``docs/architecture.md``. This module converts records to and from JSON and
validates them; it does not process audio or text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError
from natiq.common.files import read_jsonl

SPLITS = ("train", "val")
REQUIRED_FIELDS = ("id", "audio", "duration", "sample_rate", "speaker", "split", "text_raw", "text")


@dataclass(frozen=True)
class UtteranceRecord:
    """One line of ``metadata.jsonl``.

    ``audio`` is stored relative to the manifest's folder; ``read_manifest``
    resolves it to an absolute path, ``to_dict(relative_to=folder)`` writes it
    back relative.
    """

    id: str
    audio: Path
    duration: float
    sample_rate: int
    speaker: str
    split: str
    text_raw: str
    text: str
    text_romanized: str | None = None
    romanization: str | None = None

    def to_dict(self, relative_to: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The JSON object of this record, fields in the documented order."""
        audio = Path(self.audio)
        if relative_to is not None and audio.is_absolute():
            audio = Path(os.path.relpath(audio, relative_to))
        record: dict[str, Any] = {
            "id": self.id,
            "audio": audio.as_posix(),
            "duration": self.duration,
            "sample_rate": self.sample_rate,
            "speaker": self.speaker,
            "split": self.split,
            "text_raw": self.text_raw,
            "text": self.text,
        }
        if self.text_romanized is not None:
            record["text_romanized"] = self.text_romanized
            record["romanization"] = self.romanization
        return record


def record_from_dict(data: dict[str, Any], *, base_dir: Path, where: str) -> UtteranceRecord:
    """Validate one manifest object; ``where`` (``file:line``) prefixes any error."""
    missing = [name for name in REQUIRED_FIELDS if name not in data]
    if missing:
        raise DataFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    for name in ("id", "audio", "speaker", "split", "text_raw", "text"):
        if not isinstance(data[name], str):
            raise DataFormatError(f"{where}: field '{name}' must be a string")
    if not data["id"]:
        raise DataFormatError(f"{where}: field 'id' is empty")
    if data["split"] not in SPLITS:
        raise DataFormatError(f"{where}: split must be one of {SPLITS}, got {data['split']!r}")
    try:
        duration = float(data["duration"])
        sample_rate = int(data["sample_rate"])
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: 'duration' and 'sample_rate' must be numbers") from None
    if duration <= 0 or sample_rate <= 0:
        raise DataFormatError(f"{where}: 'duration' and 'sample_rate' must be positive")
    romanized = data.get("text_romanized")
    if romanized is not None and not data.get("romanization"):
        raise DataFormatError(f"{where}: 'text_romanized' given without 'romanization'")
    audio = Path(data["audio"])
    return UtteranceRecord(
        id=data["id"],
        audio=audio if audio.is_absolute() else (base_dir / audio).resolve(),
        duration=duration,
        sample_rate=sample_rate,
        speaker=data["speaker"],
        split=data["split"],
        text_raw=data["text_raw"],
        text=data["text"],
        text_romanized=romanized,
        romanization=data.get("romanization") if romanized is not None else None,
    )


def read_manifest(
    path: str | os.PathLike[str], *, split: str | None = None
) -> list[UtteranceRecord]:
    """Read and validate ``metadata.jsonl``; audio paths come back absolute.

    ``split`` keeps only ``train`` or ``val`` records. Raises
    ``DataFormatError`` naming ``file:line`` for a malformed record or a
    duplicate id.
    """
    source = Path(path)
    if split is not None and split not in SPLITS:
        raise DataFormatError(f"split must be one of {SPLITS}, got {split!r}")
    base_dir = source.resolve().parent
    records: list[UtteranceRecord] = []
    seen: dict[str, int] = {}
    for number, data in read_jsonl(source):
        where = f"{source}:{number}"
        record = record_from_dict(data, base_dir=base_dir, where=where)
        if record.id in seen:
            raise DataFormatError(
                f"{where}: duplicate id {record.id!r} (first on line {seen[record.id]})"
            )
        seen[record.id] = number
        if split is None or record.split == split:
            records.append(record)
    return records
