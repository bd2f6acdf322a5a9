"""ClArTTS (and corpora with its schema), from a local folder or the Hugging Face Hub.

ClArTTS's parquet columns are ``text`` (diacritized Arabic), ``file`` (the
original wav name), ``audio`` (a raw list of float64 samples, not a datasets
``Audio`` feature), ``sampling_rate`` (40100) and ``duration``. ``datasets``
only resolves which files make up a split (its data-file patterns and the
repository's ``configs:`` metadata); parquet files are then read row group by
row group by ``natiq.data.parquet_rows`` (see there why not through the
``datasets`` stream), so the 13 GB corpus never has to fit in memory or on
disk. A split stored in another format falls back to the ``datasets`` stream.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError
from natiq.data.clartts_rows import make_item
from natiq.data.sources import SourceItem

CLARTTS_HUB_ID = "MBZUAI/ClArTTS"
REQUIRED_COLUMNS = ("text", "file", "audio", "sampling_rate")


def resolve_dataset(name: str) -> str:
    """``clartts`` -> the Hub id; ``hf://owner/name`` -> ``owner/name``; folders as given."""
    if name.lower() == "clartts":
        return CLARTTS_HUB_ID
    return name.removeprefix("hf://")


def _open_error(source: str, split: str, local: Path, exc: Exception) -> DataFormatError:
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
    return DataFormatError(f"cannot open dataset {source!r} split {split!r}: {exc}{hint}")


def _source_of(name: str) -> tuple[str, Path]:
    source = resolve_dataset(name)
    local = Path(source)
    if local.exists() and not local.is_dir():
        raise DataFormatError(
            f"{local}: expected a folder of parquet files or a Hugging Face dataset id"
        )
    return source, local


def split_files(name: str, split: str) -> list[str]:
    """The data files of ``split`` in the order ``datasets`` resolves them (paths or ``hf://`` URLs).

    Only file listings (and, for a Hub id, the repository's metadata) are
    read. Raises ``DataFormatError`` when the dataset cannot be found (offline
    without a cache, a wrong id or folder, a missing split).
    """
    import datasets

    from natiq.common.hub import fail_fast_when_offline

    source, local = _source_of(name)
    try:
        with contextlib.nullcontext() if local.is_dir() else fail_fast_when_offline():
            builder = datasets.load_dataset_builder(str(local) if local.is_dir() else source)
        data_files = builder.config.data_files or {}
        if split not in data_files:
            raise KeyError(f"no split {split!r} (found: {', '.join(data_files) or 'none'})")
        paths = [str(f) for f in data_files[split]]
        if not paths:
            raise FileNotFoundError("the split has no data files")
    except Exception as exc:
        raise _open_error(source, split, local, exc) from None
    return paths


def is_parquet_split(paths: list[str]) -> bool:
    return bool(paths) and all(p.split("?")[0].endswith(".parquet") for p in paths)


def open_stream(name: str, split: str) -> Any:
    """A streaming ``datasets.IterableDataset`` yielding numpy arrays (for non-parquet splits).

    Raises ``DataFormatError`` when the dataset cannot be opened or lacks
    ClArTTS's columns.
    """
    import datasets

    from natiq.common.hub import fail_fast_when_offline

    source, local = _source_of(name)
    try:
        with contextlib.nullcontext() if local.is_dir() else fail_fast_when_offline():
            stream = datasets.load_dataset(
                str(local) if local.is_dir() else source, split=split, streaming=True
            )
    except Exception as exc:
        raise _open_error(source, split, local, exc) from None
    columns = set(stream.column_names or ())
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if columns and missing:
        raise DataFormatError(f"dataset {source!r} lacks ClArTTS column(s) {', '.join(missing)}")
    return stream.with_format("numpy")


def split_size(name: str, split: str) -> int | None:
    """Rows of ``split`` (for the progress bar): parquet footers, else the dataset's metadata."""
    paths = split_files(name, split)
    if is_parquet_split(paths):
        from natiq.data.parquet_rows import row_count

        return row_count(paths)
    splits = getattr(getattr(open_stream(name, split), "info", None), "splits", None) or {}
    info = splits.get(split) if hasattr(splits, "get") else None
    return int(info.num_examples) if info is not None and info.num_examples else None


def read_clartts(name: str = "clartts", split: str = "train") -> Iterator[SourceItem]:
    """One ``SourceItem`` per row, in the dataset's order.

    Parquet splits (ClArTTS, and any Hub dataset stored as parquet) give items
    carrying a ``ParquetRef``: whoever processes the item decodes its audio.
    Other formats come through the ``datasets`` stream with their samples. A
    row whose ``audio`` is missing comes out with no samples, so that
    ``prepare`` rejects it as unreadable rather than stopping.
    """
    source = resolve_dataset(name)
    paths = split_files(name, split)
    if is_parquet_split(paths):
        from natiq.data.parquet_rows import read_parquet_items

        yield from read_parquet_items(paths, source, split)
        return
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
