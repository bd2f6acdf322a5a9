"""The progress journal that makes ``prepare`` resumable.

Each finished item (kept or rejected) is one complete JSON line, appended
*after* its wav was written atomically; the lines of one batch are appended
with a single write and fsync. A kill can only
cut the last line short; opening the journal again truncates that fragment,
so the next append starts on a clean line. The final manifests are rebuilt
from the journals, never from memory, so an interrupted and resumed run ends
with exactly the files of an uninterrupted one.

Several shards may share one output folder: each writes its own journal file
under ``.progress/`` and ``read_journals`` merges them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from natiq.common.files import append_jsonl, append_jsonl_many, read_jsonl

JOURNAL_DIR = ".progress"


def journal_path(output_dir: Path, shard_index: int, shard_count: int) -> Path:
    """``.progress/journal.jsonl`` or ``.progress/journal.shard-<i>-of-<n>.jsonl``."""
    name = (
        "journal.jsonl"
        if shard_count == 1
        else f"journal.shard-{shard_index}-of-{shard_count}.jsonl"
    )
    return output_dir / JOURNAL_DIR / name


def repair_partial_line(path: Path) -> bool:
    """Cut a trailing line without newline (a write killed half-way); True if one was cut."""
    if not path.is_file():
        return False
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return False
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return False
        block = min(size, 1 << 16)
        keep = 0
        position = size
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            position = start
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def append_entry(path: Path, entry: dict[str, Any]) -> None:
    """Record one finished item (see ``append_jsonl``: one write, flushed and fsynced)."""
    append_jsonl(path, entry)


def append_entries(path: Path, entries: list[dict[str, Any]]) -> None:
    """Record several finished items with one write and one fsync."""
    append_jsonl_many(path, entries)


def read_journals(output_dir: Path) -> dict[str, dict[str, Any]]:
    """All finished entries of every journal in ``output_dir``, by item key."""
    entries: dict[str, dict[str, Any]] = {}
    folder = output_dir / JOURNAL_DIR
    if not folder.is_dir():
        return entries
    for path in sorted(folder.glob("journal*.jsonl")):
        for _, entry in read_jsonl(path, skip_partial_last_line=True):
            entries[str(entry["key"])] = entry
    return entries
