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
from natiq.data.sources import SourceItem, safe_id

CLARTTS_HUB_ID = "MBZUAI/ClArTTS"
CLARTTS_SPEAKER = "clartts"
REQUIRED_COLUMNS = ("text", "file", "audio", "sampling_rate")


def resolve_dataset(name: str) -> str:
    """``clartts`` -> the Hub id; a local folder of parquet files or another Hub id as given."""
    return CLARTTS_HUB_ID if name.lower() == "clartts" else name


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
        hint = ""
        if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
            hint = (
                " (Hugging Face is offline here: download the parquet files and pass their folder)"
            )
        raise DataFormatError(
            f"cannot open dataset {source!r} split {split!r}: {exc}{hint}"
        ) from None
    columns = set(stream.column_names or ())
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if columns and missing:
        raise DataFormatError(f"dataset {source!r} lacks ClArTTS column(s) {', '.join(missing)}")
    return stream.with_format("numpy")


def read_clartts(name: str = "clartts", split: str = "train") -> Iterator[SourceItem]:
    """Stream ``SourceItem``s, one per row, in the dataset's order.

    The id is the stem of ``file`` (``row_<n>`` when it is empty). A row whose
    ``audio`` is missing comes out with no samples, so that ``prepare``
    rejects it as unreadable rather than stopping.
    """
    source = resolve_dataset(name)
    for index, row in enumerate(open_stream(name, split)):
        file_name = str(row.get("file") or "")
        utt_id = safe_id(Path(file_name).stem) or f"row_{index:06d}"
        samples = row.get("audio")
        rate = row.get("sampling_rate")
        yield SourceItem(
            id=utt_id,
            text="" if row.get("text") is None else str(row["text"]),
            speaker=CLARTTS_SPEAKER,
            origin=f"{source}[{split}] row {index}",
            samples=np.asarray(samples) if samples is not None else np.zeros(0, dtype=np.float32),
            sample_rate=int(rate) if rate is not None else 0,
        )
