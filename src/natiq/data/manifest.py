"""The utterance manifest (``metadata.jsonl``): the one model and the one reader of its rows.

``natiq data prepare`` writes it, ``natiq pocket latents`` adds two fields
(``metadata_latents.jsonl``), and ChatML building, Pocket training, the demo
and evaluation read it, all through ``read_manifest``. Every row needs
``id``, ``audio``, ``text`` and ``speaker``; the other fields are facts that
prepare always writes and that a reader asks for when it needs them
(``require=("duration",)``), so a hand-made manifest of the four core fields
still trains. The fields are listed in ``docs/architecture.md``. This module
converts rows to and from JSON and validates them; it does not process audio
or text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from natiq.common.errors import DataFormatError
from natiq.common.rows import Rows, read_rows

SPLITS = ("train", "val")
CORE_FIELDS = ("id", "audio", "text", "speaker")
OPTIONAL_FIELDS = (
    "duration",
    "sample_rate",
    "split",
    "text_raw",
    "text_romanized",
    "romanization",
    "latents",
    "num_frames",
    "speech_end",
    "prompt_cuts",
)
# An id names files (latents/<id>.safetensors, <id>.wav): letters (any script),
# digits, '_', '.', '-', not starting with '.' or '-'.
SAFE_ID = re.compile(r"^\w[\w.\-]*$")


def check_safe_id(value: str) -> str:
    if not SAFE_ID.match(value):
        raise ValueError(
            f"{value!r} is not a safe file name (letters, digits, '_', '.', '-'; "
            "not starting with '.' or '-')"
        )
    return value


class UtteranceRecord(BaseModel):
    """One row of ``metadata.jsonl`` (or ``metadata_latents.jsonl``).

    ``audio`` and ``latents`` are stored relative to the manifest's folder;
    ``read_manifest`` resolves them to absolute paths and ``to_dict(relative_to=
    folder)`` writes them back relative. ``line`` and ``where`` (``file:line``)
    say where the row was read, for error messages; they are never written.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    audio: Path
    duration: float | None = Field(default=None, gt=0)
    sample_rate: int | None = Field(default=None, gt=0)
    speaker: str
    split: str = "train"
    text_raw: str | None = None
    text: str
    text_romanized: str | None = None
    romanization: str | None = None
    latents: Path | None = None
    num_frames: int | None = Field(default=None, gt=0)
    # Written by `natiq pocket latents`: end of the last speech (seconds) and the frame
    # counts at which a voice prompt cut from this utterance's start ends in a pause.
    speech_end: float | None = Field(default=None, ge=0)
    prompt_cuts: tuple[int, ...] | None = None
    line: int = Field(default=0, exclude=True, repr=False)
    where: str = Field(default="", exclude=True, repr=False)

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        return check_safe_id(value)

    @field_validator("speaker", "text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("split")
    @classmethod
    def _known_split(cls, value: str) -> str:
        if value not in SPLITS:
            raise ValueError(f"must be one of {SPLITS}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _scheme_with_text(self) -> UtteranceRecord:
        if (self.text_romanized is None) != (self.romanization is None):
            raise ValueError("'text_romanized' and 'romanization' go together")
        return self

    def to_dict(self, relative_to: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The JSON object of this row: fields in the documented order, unset ones left out."""
        record: dict[str, Any] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, Path):
                if relative_to is not None and value.is_absolute():
                    value = Path(os.path.relpath(value, relative_to))
                value = value.as_posix()
            record[name] = value
        return record


def _resolved(path: Path | None, base_dir: Path) -> Path | None:
    if path is None or path.is_absolute():
        return path
    return (base_dir / path).resolve()


def read_manifest(
    path: str | os.PathLike[str],
    *,
    split: str | None = None,
    require: Iterable[str] = (),
    lenient: bool = False,
) -> Rows[UtteranceRecord]:
    """Read and validate an utterance manifest; ``audio``/``latents`` paths come back absolute.

    ``split`` keeps only ``train`` or ``val`` rows; ``require`` names optional
    fields this reader needs (``duration``, ``latents``...). Strict by default:
    the first bad row or duplicate id raises ``DataFormatError`` naming
    ``file:line``; ``lenient=True`` returns the good rows and lists the bad ones
    in ``.bad``.
    """
    source = Path(path)
    if split is not None and split not in SPLITS:
        raise DataFormatError(f"split must be one of {SPLITS}, got {split!r}")
    needed = tuple(require)
    unknown = [name for name in needed if name not in OPTIONAL_FIELDS]
    if unknown:
        raise ValueError(f"require names unknown field(s) {unknown}; known: {OPTIONAL_FIELDS}")
    base_dir = source.resolve().parent

    def parse(data: dict[str, Any], line: int) -> UtteranceRecord:
        missing = [name for name in needed if data.get(name) is None]
        if missing:
            raise DataFormatError(f"missing field(s) {', '.join(missing)}")
        record = UtteranceRecord.model_validate({**data, "line": line, "where": f"{source}:{line}"})
        return record.model_copy(
            update={
                "audio": _resolved(record.audio, base_dir),
                "latents": _resolved(record.latents, base_dir),
            }
        )

    rows = read_rows(source, parse, lenient=lenient, key=lambda record: record.id)
    if split is not None:
        return Rows((r for r in rows if r.split == split), rows.bad)
    return rows
