"""ClArTTS-schema parquet read with pyarrow, one row group at a time, locally or from the Hub.

Why not the ``datasets`` stream: it reads parquet through
``pyarrow.dataset.Fragment.to_batches``, and a partially consumed iterator of
that API either aborts the interpreter ("terminate called without an active
exception") or hangs it for ever in ``arrow::internal::ThreadPool::Shutdown``
when the process exits (apache/arrow#45214; ``datasets`` only works around it
for pyarrow <= 24). Every early stop of ``prepare`` (``--limit``, a refused
configuration, an error) leaves such an iterator behind. ``ParquetFile`` reads
with ``use_threads=False`` do not have that problem, so both local folders
and Hub datasets are read here.

The main process reads only the light columns (``text``, ``file``,
``sampling_rate``) of each row group, in the order ``datasets`` resolves the
split's files (so ids and ``row_<n>`` fallbacks match what ``datasets`` would
give), and hands out ``ParquetRef``s. Whoever processes the row (the main
process with one worker, a worker process otherwise) decodes the ``audio``
column of that row group once and checks that the row's ``file`` value
matches, so a row can never get another row's audio. Hub files are opened
through ``huggingface_hub.HfFileSystem`` (range requests; nothing is
downloaded whole).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from natiq.common.errors import DataFormatError
from natiq.data.clartts_rows import make_item
from natiq.data.sources import ParquetRef, SourceItem

LIGHT_COLUMNS = ["text", "file", "sampling_rate"]
REQUIRED_COLUMNS = ("text", "file", "audio", "sampling_rate")

# One row group's decoded ``file`` and ``audio`` columns per process: rows are
# handed out in order, so consecutive rows share it.
_group_cache: dict[str, Any] = {}
_open_files: dict[str, Any] = {}


def is_remote(path: str) -> bool:
    return path.startswith("hf://")


def open_parquet(path: str) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` for a local path or an ``hf://`` URL (kept open per process)."""
    import pyarrow.parquet as pq

    if path not in _open_files:
        if len(_open_files) >= 2:
            _open_files.clear()
        if is_remote(path):
            from huggingface_hub import HfFileSystem

            handle = HfFileSystem().open(path, "rb")
            _open_files[path] = pq.ParquetFile(handle)
        else:
            # memory-mapped: decoding reads the page cache directly, without a copy
            _open_files[path] = pq.ParquetFile(path, memory_map=True)
    return _open_files[path]


def check_schema(path: str, parquet: Any) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in parquet.schema_arrow.names]
    if missing:
        raise DataFormatError(f"{path}: lacks ClArTTS column(s) {', '.join(missing)}")


def row_count(paths: list[str]) -> int:
    """Rows in all ``paths``, from the parquet footers (no data read)."""
    return sum(open_parquet(path).metadata.num_rows for path in paths)


def read_parquet_items(paths: list[str], source: str, split: str) -> Iterator[SourceItem]:
    """One ``SourceItem`` per row, with a ``ParquetRef`` instead of samples, in file order."""

    index = 0
    for path in paths:
        parquet = open_parquet(path)
        check_schema(path, parquet)
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=LIGHT_COLUMNS, use_threads=False)
            columns = table.to_pydict()
            for row, (text, file_name, rate) in enumerate(
                zip(columns["text"], columns["file"], columns["sampling_rate"], strict=True)
            ):
                ref = ParquetRef(path, group, row, "" if file_name is None else str(file_name))
                yield make_item(index, file_name, text, rate, None, source, split, parquet=ref)
                index += 1


def _decoded_group(path: str, group: int) -> dict[str, Any]:
    key = f"{path}#{group}"
    if _group_cache.get("key") != key:
        _group_cache.clear()
        table = open_parquet(path).read_row_group(
            group, columns=["file", "audio"], use_threads=False
        )
        _group_cache.update(key=key, files=table.column("file"), audio=table.column("audio"))
    return _group_cache


def release_group() -> None:
    """Drop the decoded row group (a batch is done; it may hold tens of MB)."""
    _group_cache.clear()


def close_files() -> None:
    """Close the files this process opened (and their memory maps)."""
    _group_cache.clear()
    _open_files.clear()


def load_row_audio(ref: ParquetRef) -> np.ndarray:
    """The samples of one row as float32 (its row group is decoded once per process)."""
    group = _decoded_group(ref.path, ref.row_group)
    found = group["files"][ref.row].as_py()
    if ("" if found is None else str(found)) != ref.file_name:
        raise RuntimeError(
            f"{ref.path}: row {ref.row} of row group {ref.row_group} is {found!r}, not {ref.file_name!r}"
        )
    cell = group["audio"][ref.row]
    if not cell.is_valid:
        return np.zeros(0, dtype=np.float32)
    return as_float32(cell.values)


def as_float32(values: Any) -> np.ndarray:
    """A numeric Arrow array as float32 samples.

    Read straight from the Arrow buffer when the array has no nulls:
    pyarrow's ``to_numpy`` imports pandas on first use (0.2 s of CPU, paid
    again by every fresh worker process).
    """
    dtype = _NUMPY_TYPES.get(str(values.type))
    if dtype is None or values.null_count:
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float32)
    data = values.buffers()[1]
    samples = np.frombuffer(
        data, dtype=dtype, count=len(values), offset=values.offset * dtype.itemsize
    )
    return samples.astype(np.float32)


_NUMPY_TYPES = {
    "double": np.dtype(np.float64),
    "float": np.dtype(np.float32),
    "halffloat": np.dtype(np.float16),
    "int16": np.dtype(np.int16),
    "int32": np.dtype(np.int32),
}
