"""Parallel decoding of a local ClArTTS-schema parquet folder.

Decoding the float64 ``audio`` column is the most expensive part of reading
ClArTTS, and in the ``datasets`` stream it happens in the main process, so
extra workers cannot speed it up. For a local folder and ``num_workers > 1``,
``prepare`` instead reads only the light columns (``text``, ``file``,
``sampling_rate``) here, in ``datasets``' own file order (the files
``datasets`` resolves for the split, row groups and rows in order), and each
worker decodes whole row groups of ``audio`` itself. A worker checks that
the ``file`` value at the row matches, so a row can never get another row's
audio.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from natiq.common.errors import DataFormatError
from natiq.data.sources import ParquetRef, SourceItem

LIGHT_COLUMNS = ["text", "file", "sampling_rate"]

_cache: dict[str, Any] = {}


def local_parquet_files(folder: Path, split: str) -> list[Path]:
    """The parquet files ``datasets`` would stream for ``split`` of ``folder``, in its order."""
    import datasets

    try:
        builder = datasets.load_dataset_builder(str(folder))
        files = builder.config.data_files[split]
    except Exception as exc:
        raise DataFormatError(
            f"cannot open dataset {str(folder)!r} split {split!r}: {exc}"
        ) from None
    paths = [Path(str(f)) for f in files]
    if not paths or any(p.suffix != ".parquet" for p in paths):
        raise DataFormatError(f"{folder}: split {split!r} is not a set of parquet files")
    return paths


def read_parquet_light(folder: Path, split: str, source: str) -> Iterator[SourceItem]:
    """Items with a ``ParquetRef`` instead of samples, in the same order and ids as the stream."""
    import pyarrow.parquet as pq

    from natiq.data.clartts import make_item

    index = 0
    for path in local_parquet_files(folder, split):
        parquet = pq.ParquetFile(path)
        missing = [c for c in [*LIGHT_COLUMNS, "audio"] if c not in parquet.schema_arrow.names]
        if missing:
            raise DataFormatError(f"{path}: lacks ClArTTS column(s) {', '.join(missing)}")
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=LIGHT_COLUMNS).to_pydict()
            for row, (text, file_name, rate) in enumerate(
                zip(table["text"], table["file"], table["sampling_rate"], strict=True)
            ):
                ref = ParquetRef(str(path), group, row, "" if file_name is None else str(file_name))
                yield make_item(index, file_name, text, rate, None, source, split, parquet=ref)
                index += 1


def load_row_audio(ref: ParquetRef) -> np.ndarray:
    """Decode the audio of one row (its whole row group is decoded once and kept)."""
    import pyarrow.parquet as pq

    key = f"{ref.path}#{ref.row_group}"
    if _cache.get("key") != key:
        _cache.clear()
        table = pq.ParquetFile(ref.path).read_row_group(ref.row_group, columns=["file", "audio"])
        _cache.update(key=key, files=table.column("file"), audio=table.column("audio"))
    found = _cache["files"][ref.row].as_py()
    if ("" if found is None else str(found)) != ref.file_name:
        raise RuntimeError(
            f"{ref.path}: row {ref.row} of row group {ref.row_group} is {found!r}, not {ref.file_name!r}"
        )
    cell = _cache["audio"][ref.row]
    if not cell.is_valid:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(cell.values.to_numpy(zero_copy_only=False), dtype=np.float32)
