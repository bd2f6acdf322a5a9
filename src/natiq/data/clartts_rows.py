"""One ClArTTS-schema row as a ``SourceItem``: the row shape both readers share.

``natiq.data.clartts`` (which resolves a split's files and falls back to the
``datasets`` stream) and ``natiq.data.parquet_rows`` (which reads parquet row
groups) both build items from rows; keeping the row shape here lets each of
them import it without importing the other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from natiq.data.sources import ParquetRef, SourceItem, safe_id

CLARTTS_SPEAKER = "clartts"


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
