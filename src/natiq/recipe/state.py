"""What a recipe run remembers about each stage, and the fingerprints it compares.

A stage's record (``<run_dir>/.recipe/<stage>.json``) holds the hash of its
*key* — the stage's settings plus the fingerprints of its inputs (the
recorded output fingerprint of each earlier stage it reads, or of an external
file or folder) — its status (``running`` while it works, ``done`` once its
outputs are complete), the fingerprint of its output folder, and the outputs
later stages read (paths relative to the run folder, and a few facts).

A stage is skipped when its record is ``done``, its key is unchanged and its
output folder still has the recorded fingerprint; it resumes when the record
is ``running`` with the same key (its work was interrupted); otherwise its
folder is cleared and it runs from scratch. Fingerprints are taken from file
names, sizes and modification times (``stat``), never by reading gigabytes
of audio again, except for small text files (manifests, configs, the card:
``TEXT_SUFFIXES`` under ``CONTENT_HASH_BYTES``) whose content is hashed, so a
rewritten-but-identical record is not a change.
This module reads and writes records; it runs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError
from natiq.common.files import atomic_write_json

STATE_DIR = ".recipe"
CONTENT_HASH_BYTES = 8 << 20
TEXT_SUFFIXES = frozenset({".json", ".jsonl", ".yaml", ".yml", ".md", ".txt", ".tsv"})
RUNNING = "running"
DONE = "done"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def hash_of(value: Any) -> str:
    """SHA-256 of a JSON-able value, independent of key order."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _file_entry(path: Path, stat: os.stat_result) -> list[Any]:
    if path.suffix in TEXT_SUFFIXES and stat.st_size <= CONTENT_HASH_BYTES:
        return [stat.st_size, hashlib.sha256(path.read_bytes()).hexdigest()]
    return [stat.st_size, stat.st_mtime_ns]


def fingerprint(path: str | os.PathLike[str], *, ignore: tuple[str, ...] = ()) -> str:
    """A digest of a file or a folder tree (names, sizes, and contents or mtimes).

    A missing path has the fingerprint ``"missing"``; hidden names (``.recipe``,
    temporary files) and the relative paths in ``ignore`` are left out.
    """
    root = Path(path)
    if not root.exists():
        return "missing"
    if root.is_file():
        return hash_of(["file", _file_entry(root, root.stat())])
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            file = Path(dirpath) / name
            relative = file.relative_to(root).as_posix()
            if relative not in ignore:
                entries.append([relative, _file_entry(file, file.stat())])
    return hash_of(["tree", entries])


@dataclass
class StageRecord:
    """One stage's memory: what it was run with, whether it finished, what it left."""

    stage: str
    key: str
    settings: dict[str, Any]
    inputs: dict[str, str]
    status: str = RUNNING
    output_fingerprint: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0
    seconds: float = 0.0

    def changed_keys(self, settings: dict[str, Any], inputs: dict[str, str]) -> list[str]:
        """Names of the settings and inputs that differ from this record's."""
        changed = [
            f"settings.{k}"
            for k in sorted(set(self.settings) | set(settings))
            if canonical_json(self.settings.get(k)) != canonical_json(settings.get(k))
        ]
        changed += [
            f"input {k}"
            for k in sorted(set(self.inputs) | set(inputs))
            if self.inputs.get(k) != inputs.get(k)
        ]
        return changed


def stage_key(settings: dict[str, Any], inputs: dict[str, str]) -> str:
    return hash_of({"settings": settings, "inputs": inputs})


class RunState:
    """The records of one run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.folder = self.run_dir / STATE_DIR

    def path(self, stage: str) -> Path:
        return self.folder / f"{stage}.json"

    def load(self, stage: str) -> StageRecord | None:
        path = self.path(stage)
        if not path.is_file():
            return None
        try:
            return StageRecord(**json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as exc:
            raise DataFormatError(
                f"{path}: unreadable stage record ({exc}); delete it to run the stage again"
            ) from None

    def save(self, record: StageRecord) -> None:
        atomic_write_json(self.path(record.stage), asdict(record))

    def start(self, stage: str, settings: dict[str, Any], inputs: dict[str, str]) -> StageRecord:
        record = StageRecord(
            stage=stage,
            key=stage_key(settings, inputs),
            settings=settings,
            inputs=inputs,
            started=time.time(),
        )
        self.save(record)
        return record

    def finish(
        self,
        record: StageRecord,
        outputs: dict[str, Any],
        output_dir: Path,
        *,
        ignore: tuple[str, ...] = (),
    ) -> None:
        record.status = DONE
        record.outputs = outputs
        record.output_fingerprint = fingerprint(output_dir, ignore=ignore)
        record.seconds = time.time() - record.started
        self.save(record)

    def forget(self, stage: str) -> None:
        self.path(stage).unlink(missing_ok=True)
