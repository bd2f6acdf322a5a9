"""ClArTTS (and corpora with its schema) read through Hugging Face ``datasets``.

ClArTTS's parquet columns are ``text`` (diacritized Arabic), ``file`` (the
original wav name), ``audio`` (a raw list of float64 samples, not a datasets
``Audio`` feature), ``sampling_rate`` (40100) and ``duration``. The dataset is
always opened in streaming mode, so rows are read one parquet batch at a time
and the 13 GB corpus never has to fit in memory or even on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from natiq.common.errors import DataFormatError
from natiq.data.sources import ParquetRef, SourceItem, safe_id

CLARTTS_HUB_ID = "MBZUAI/ClArTTS"
CLARTTS_SPEAKER = "clartts"
REQUIRED_COLUMNS = ("text", "file", "audio", "sampling_rate")


def resolve_dataset(name: str) -> str:
    """``clartts`` -> the Hub id; ``hf://owner/name`` -> ``owner/name``; folders as given."""
    if name.lower() == "clartts":
        return CLARTTS_HUB_ID
    return name.removeprefix("hf://")


def split_size(stream: Any, split: str) -> int | None:
    """Number of rows of ``split`` when the dataset's metadata says so (for the progress bar)."""
    splits = getattr(getattr(stream, "info", None), "splits", None) or {}
    info = splits.get(split) if hasattr(splits, "get") else None
    return int(info.num_examples) if info is not None and info.num_examples else None


def open_stream(name: str, split: str) -> Any:
    """A streaming ``datasets.IterableDataset`` yielding numpy arrays.

    Raises ``DataFormatError`` when the dataset cannot be opened (offline
    without a cache, a wrong id or folder, a missing split) or lacks
    ClArTTS's columns.
    """
    import datasets

    source = resolve_dataset(name)
    local = Path(source)
    if local.exists() and not local.is_dir():
        raise DataFormatError(
            f"{local}: expected a folder of parquet files or a Hugging Face dataset id"
        )
    try:
        stream = datasets.load_dataset(
            str(local) if local.is_dir() else source, split=split, streaming=True
        )
    except Exception as exc:
        offline = (
            os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
        )
        hint = (
            f"; without network access{' (HF_HUB_OFFLINE is set)' if offline else ''}, download the "
            f"parquet files elsewhere (`hf download {source} --repo-type dataset --local-dir DIR`) "
            "and pass --dataset DIR"
        )
        if local.is_dir() or "/" not in source:
            hint = "; give 'clartts', a Hub id 'owner/name' or a folder of parquet files"
        raise DataFormatError(
            f"cannot open dataset {source!r} split {split!r}: {exc}{hint}"
        ) from None
    columns = set(stream.column_names or ())
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if columns and missing:
        raise DataFormatError(f"dataset {source!r} lacks ClArTTS column(s) {', '.join(missing)}")
    return stream.with_format("numpy")


def make_item(
    index: int,
    file_name: object,
    text: object,
    rate: object,
    samples: object,
    source: str,
    split: str,
    *,
    parquet: ParquetRef | None = None,
) -> SourceItem:
    """One row as a ``SourceItem``: id from ``file``'s stem (``row_<n>`` when empty)."""
    name = "" if file_name is None else str(file_name)
    if parquet is None:
        signal = np.asarray(samples) if samples is not None else np.zeros(0, dtype=np.float32)
    else:
        signal = None
    return SourceItem(
        id=safe_id(Path(name).stem) or f"row_{index:06d}",
        text="" if text is None else str(text),
        speaker=CLARTTS_SPEAKER,
        origin=f"{source}[{split}] row {index}",
        samples=signal,
        sample_rate=int(rate) if rate is not None else 0,  # type: ignore[call-overload]
        parquet=parquet,
    )


def read_clartts(name: str = "clartts", split: str = "train") -> Iterator[SourceItem]:
    """Stream ``SourceItem``s, one per row, in the dataset's order.

    A row whose ``audio`` is missing comes out with no samples, so that
    ``prepare`` rejects it as unreadable rather than stopping.
    """
    source = resolve_dataset(name)
    for index, row in enumerate(open_stream(name, split)):
        yield make_item(
            index,
            row.get("file"),
            row.get("text"),
            row.get("sampling_rate"),
            row.get("audio"),
            source,
            split,
        )
