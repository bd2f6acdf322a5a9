"""Batch texts to speak: one JSON object per line, the same format for ``natiq speak`` and the server.

``natiq speak --input-file texts.jsonl`` reads a file of them leniently (a
bad line is reported in ``failures.jsonl`` and the others are spoken);
``POST /v1/batch`` reads a request body strictly (any bad line refuses the
request, naming it). A line is::

    {"id": "utt1", "text": "...", "voice": "...", "response_format": "wav", "speed": 1.0,
     "timings": true}

``text`` is required (``input``, the OpenAI speech API's name, is accepted
for it); ``id`` is a safe file name (outputs are named after it); ``voice``
is a reference clip path for the CLI (relative to the batch file) and a
voice name for the server; ``response_format`` is checked by the runner,
which knows the formats it writes; ``speed`` (0.25-4.0) changes the tempo
with the pitch kept; ``timings: true`` asks for the line's word timings.
Unknown fields are refused, so a
misspelled one is not silently ignored. This module only parses.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from natiq.common.errors import DataFormatError
from natiq.common.rows import Rows, parse_rows, read_rows
from natiq.data.manifest import check_safe_id

MAX_ID_CHARS = 128


class BatchLine(BaseModel):
    """One line of a batch; ``line`` is its line number (never part of the JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    text: str = Field(validation_alias=AliasChoices("text", "input"))
    id: str | None = None
    voice: str | None = None
    response_format: str | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    timings: bool | None = None
    line: int = Field(default=0, exclude=True, repr=False)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) > MAX_ID_CHARS or value.endswith(".tmp"):
            raise ValueError(f"must be at most {MAX_ID_CHARS} characters and not end in '.tmp'")
        return check_safe_id(value)

    @field_validator("voice")
    @classmethod
    def _voice_given(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty (leave it out for the default voice)")
        return value

    def output_id(self) -> str:
        """The file name stem of this line's output: its ``id``, or ``line00042``."""
        return self.id if self.id is not None else f"line{self.line:05d}"


def _parse(record: dict[str, Any], line: int) -> BatchLine:
    if "line" in record:
        raise DataFormatError("unknown field 'line'")
    return BatchLine.model_validate({**record, "line": line})


def parse_batch_lines(
    lines: Iterable[str], *, source: str = "batch", lenient: bool = False
) -> Rows[BatchLine]:
    """Parse batch lines (e.g. an HTTP body's lines); every reason names ``source:line``.

    Ids must be unique (a line without an id is named after its line number).
    """
    return parse_rows(lines, _parse, source=source, lenient=lenient, key=BatchLine.output_id)


def read_batch_file(path: str | os.PathLike[str], *, lenient: bool = False) -> Rows[BatchLine]:
    """The lines of a batch file (UTF-8 JSONL); ``lenient`` collects bad lines in ``.bad``."""
    return read_rows(path, _parse, lenient=lenient, key=BatchLine.output_id)
