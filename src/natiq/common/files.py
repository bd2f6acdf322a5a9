"""Crash-safe file writing and line-numbered JSONL reading.

Long jobs (data preparation, latents, training, batch synthesis) must survive
being killed at any moment: every file is written to a temporary sibling and
renamed into place, so a reader sees either the old file or the whole new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` on success.

    Use this for writers that want a file name (soundfile, safetensors, torch.save).
    On an exception the temporary file is removed and ``path`` is untouched.
    ``durable=False`` skips the fsync before the rename: a killed process still
    leaves the old file or the whole new one, but after a power loss the new
    file may be empty or short. Callers that write many files that way check
    their sizes on resume and call ``sync_filesystem`` once at the end.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600 files; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing that replaces ``path`` only when closed cleanly."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as handle:
        yield handle


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def write_jsonl(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Atomically write ``records`` as JSON Lines (UTF-8, Arabic kept readable)."""
    count = 0
    with atomic_open(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def append_jsonl(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append one record and flush it to disk.

    A line is written with a single ``write`` call of a complete line, so a
    kill can at worst leave a final partial line, which ``read_jsonl`` with
    ``skip_partial_last_line=True`` ignores.
    """
    append_jsonl_many(path, [record])


def append_jsonl_many(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> None:
    """Append several records with one ``write`` and one fsync (see ``append_jsonl``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    if not text:
        return
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def sync_filesystem(path: str | os.PathLike[str]) -> None:
    """Flush every written file of the file system holding ``path`` to disk (``syncfs``).

    Falls back to ``os.sync`` where ``syncfs`` is not available.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def read_jsonl(
    path: str | os.PathLike[str], *, skip_partial_last_line: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each non-empty line (1-based numbers).

    Raises ``DataFormatError`` naming the file and line for invalid JSON or a
    line that is not an object. With ``skip_partial_last_line`` a final line
    without a newline that does not parse (a write cut off by a crash) is skipped.
    Formats with fields are read with ``natiq.common.rows.read_rows`` instead.
    """
    from natiq.common.rows import read_rows

    yield from read_rows(
        path, lambda record, number: (number, record), skip_partial_last_line=skip_partial_last_line
    )
