"""The generated-speech manifest that evaluation reads (format in docs/evaluation.md).

One JSON object per line: ``id``, ``audio`` (the generated wav), ``text`` (the
input text), optional ``reference_audio`` (voice prompt / natural recording of
the speaker), ``reference_text``, ``target_audio`` (a natural recording of the
same text, for the duration ratio) and ``synthesis_seconds`` (for the real-time
factor). Paths are absolute or relative to the manifest's folder.

A row with a problem is still returned, with its problems listed, so that the
runner can report it and evaluate the rest; only an unreadable file or a
duplicate id is fatal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError
from natiq.common.files import read_jsonl


@dataclass(frozen=True)
class GeneratedItem:
    """One utterance to evaluate; ``problems`` lists malformed fields.

    A missing ``text`` or ``reference_audio`` is not a problem here: whether
    it matters depends on the metrics asked for, which the runner knows.
    """

    id: str
    audio: Path | None
    text: str | None
    reference_audio: Path | None = None
    reference_text: str | None = None
    target_audio: Path | None = None
    synthesis_seconds: float | None = None
    source: str = ""
    problems: tuple[str, ...] = field(default=())


def _resolve(base: Path, value: Any) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        return None
    path = Path(value)
    return path if path.is_absolute() else base / path


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def item_from_record(record: dict[str, Any], base: Path, source: str) -> GeneratedItem:
    """Build an item from one manifest object, collecting (not raising) its problems."""
    problems: list[str] = []
    item_id = record.get("id")
    if not isinstance(item_id, str) or not item_id.strip():
        problems.append("missing 'id'")
        item_id = source
    audio = _resolve(base, record.get("audio"))
    if audio is None:
        problems.append("missing 'audio' (path of the generated wav)")
    text = _optional_text(record.get("text"))
    reference = _resolve(base, record.get("reference_audio"))
    seconds = record.get("synthesis_seconds")
    if seconds is not None and (
        not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0
    ):
        problems.append(f"'synthesis_seconds' must be a non-negative number, got {seconds!r}")
        seconds = None
    return GeneratedItem(
        id=item_id,
        audio=audio,
        text=text,
        reference_audio=reference,
        reference_text=_optional_text(record.get("reference_text")),
        target_audio=_resolve(base, record.get("target_audio")),
        synthesis_seconds=float(seconds) if seconds is not None else None,
        source=source,
        problems=tuple(problems),
    )


def read_generated_manifest(path: str | os.PathLike[str]) -> list[GeneratedItem]:
    """All rows of a generated manifest; duplicate ids are a DataFormatError."""
    manifest = Path(path)
    items: list[GeneratedItem] = []
    seen: dict[str, int] = {}
    for line, record in read_jsonl(manifest):
        item = item_from_record(record, manifest.parent, f"{manifest.name}:{line}")
        if item.id in seen:
            raise DataFormatError(
                f"{manifest}:{line}: duplicate id {item.id!r} (first on line {seen[item.id]})"
            )
        seen[item.id] = line
        items.append(item)
    if not items:
        raise DataFormatError(f"{manifest}: the manifest has no rows")
    return items


@dataclass(frozen=True)
class PairedItems:
    """Items built from a generated folder and a reference utterance manifest."""

    items: list[GeneratedItem]
    unmatched_generated: list[str]


@dataclass(frozen=True)
class _Reference:
    id: str
    source: str
    text: str
    audio: Path | None  # the natural recording of the text
    voice: Path | None  # the speaker reference


def _reference_rows(reference: Path, split: str | None) -> list[_Reference]:
    """``id``, ``text``, natural ``audio`` and ``voice`` of each reference row, in file order.

    A reference is an utterance manifest (its rows have ``audio``) or a
    ``natiq speak`` batch file; each is read by its own reader, strictly.
    """
    from natiq.data.batch_lines import read_batch_file
    from natiq.data.manifest import read_manifest

    first = next((record for _, record in read_jsonl(reference)), None)
    if first is not None and "audio" in first:
        return [
            _Reference(r.id, f"{reference.name}:{r.line}", r.text, r.audio, r.audio)
            for r in read_manifest(reference, split=split)
        ]
    if split is not None:
        raise DataFormatError(f"{reference}: --split needs an utterance manifest, not a batch file")
    return [
        _Reference(
            line.output_id(),
            f"{reference.name}:{line.line}",
            line.text,
            None,
            _resolve(reference.parent, line.voice),
        )
        for line in read_batch_file(reference)
    ]


def pair_generated_dir(
    generated_dir: str | os.PathLike[str],
    reference_manifest: str | os.PathLike[str],
    *,
    split: str | None = None,
) -> PairedItems:
    """Match ``<generated_dir>/<id>.wav`` with the rows of a ``metadata.jsonl``.

    The reference row's ``text`` is the input text and its ``audio`` (the
    natural recording) serves both as the speaker reference and as the target
    for the duration ratio. A ``natiq speak --input-file`` batch file works
    too: its ``voice`` (when a path) becomes the speaker reference. Reference
    rows without a generated wav are items whose audio is missing (reported by
    the runner); generated wavs without a reference row are listed apart.
    """
    folder = Path(generated_dir)
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: generated-audio folder not found")
    reference = Path(reference_manifest)
    items: list[GeneratedItem] = []
    matched: set[str] = set()
    for ref in _reference_rows(reference, split):
        generated = folder / f"{ref.id}.wav"
        row = {
            "id": ref.id,
            "audio": str(generated),
            "text": ref.text,
            "reference_audio": str(ref.voice) if ref.voice else None,
            "target_audio": str(ref.audio) if ref.audio else None,
        }
        item = item_from_record(row, folder, ref.source)
        if not generated.is_file():
            item = GeneratedItem(
                **{
                    **item.__dict__,
                    "problems": (*item.problems, f"no generated file {generated.name}"),
                }
            )
        matched.add(ref.id)
        items.append(item)
    if not items:
        where = f" with split {split!r}" if split else ""
        raise DataFormatError(f"{reference}: no reference rows{where}")
    unmatched = sorted(p.stem for p in folder.glob("*.wav") if p.stem not in matched)
    return PairedItems(items, unmatched)
