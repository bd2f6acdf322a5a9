"""Test data for the data tests: a parquet file with ClArTTS's exact schema built from
the bundled mini-corpus, plus deliberately bad rows (imported by conftest and tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from natiq.common.files import read_jsonl
from natiq.data.audio import load_audio
from natiq.data.mini_corpus import mini_corpus_manifest

CLARTTS_RATE = 40100

# id -> expected reject reason of the bad rows written by ``clartts_parquet``.
BAD_ROWS = {
    "bad_empty_text": "empty_text",
    "bad_latin_text": "no_arabic_letters",
    "bad_too_short": "too_short",
    "bad_too_long": "too_long",
    "bad_silent": "silent",
    "bad_clipped": "clipped",
    "bad_no_audio": "unreadable_audio",
    "good_000": "duplicate_id",
}
GOOD_ROWS = 6


def mini_items() -> list[dict[str, object]]:
    manifest = mini_corpus_manifest()
    items = []
    for _, record in read_jsonl(manifest):
        samples, _ = load_audio(manifest.parent / str(record["audio"]), target_sr=CLARTTS_RATE)
        items.append({"text": record["text"], "speaker": record["speaker"], "samples": samples})
    return items


def write_clartts_parquet(folder: Path) -> Path:
    """``folder/data/train-00000-of-00001.parquet`` with ClArTTS's columns and types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    items = mini_items()
    rng = np.random.default_rng(0)
    rows: list[tuple[str | None, str, np.ndarray | None]] = []
    for index in range(GOOD_ROWS):
        rows.append((str(items[index]["text"]), f"good_{index:03d}.wav", items[index]["samples"]))
    speech = items[GOOD_ROWS]["samples"]
    arabic = str(items[GOOD_ROWS]["text"])
    rows += [
        ("", "bad_empty_text.wav", speech),
        ("hello world 123", "bad_latin_text.wav", speech),
        (arabic, "bad_too_short.wav", speech[: CLARTTS_RATE // 5]),
        (arabic, "bad_too_long.wav", np.tile(speech, 4)),
        (arabic, "bad_silent.wav", np.zeros(CLARTTS_RATE * 2)),
        (arabic, "bad_clipped.wav", np.sign(rng.standard_normal(CLARTTS_RATE * 2))),
        (arabic, "bad_no_audio.wav", None),
        (arabic, "good_000.wav", speech),
    ]
    audio = [None if s is None else np.asarray(s, dtype=np.float64).tolist() for _, _, s in rows]
    table = pa.table(
        {
            "text": pa.array([t for t, _, _ in rows], pa.string()),
            "file": pa.array([f for _, f, _ in rows], pa.string()),
            "audio": pa.array(audio, pa.list_(pa.float64())),
            "sampling_rate": pa.array([CLARTTS_RATE] * len(rows), pa.int64()),
            "duration": pa.array(
                [0.0 if a is None else len(a) / CLARTTS_RATE for a in audio], pa.float64()
            ),
        }
    )
    path = folder / "data" / "train-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path, row_group_size=5)
    return folder


def write_hub_layout_parquet(
    folder: Path, *, rows: int = 208, seconds: float = 3.5, group_rows: int = 16
) -> Path:
    """A ClArTTS-schema parquet laid out as the Hub writes it: many ``group_rows``-row groups.

    About 175 MB: the ``datasets`` stream's exit hang (apache/arrow#45214)
    needs that much data left unread when the process stops, so a smaller
    file would not catch it coming back. Each group repeats the same speech
    (the mini-corpus tiled to ``seconds``) under distinct file names, so
    writing it takes a second.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    items = mini_items()
    length = int(seconds * CLARTTS_RATE)
    chosen = [items[i % len(items)] for i in range(group_rows)]
    audio = pa.array(
        [np.resize(np.asarray(i["samples"], dtype=np.float64), length) for i in chosen],
        pa.list_(pa.float64()),
    )
    texts = pa.array([str(i["text"]) for i in chosen], pa.string())
    path = folder / "data" / "train-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    writer = None
    for start in range(0, rows, group_rows):
        count = min(group_rows, rows - start)
        table = pa.table(
            {
                "text": texts.slice(0, count),
                "file": pa.array([f"hub_{start + k:05d}.wav" for k in range(count)], pa.string()),
                "audio": audio.slice(0, count),
                "sampling_rate": pa.array([CLARTTS_RATE] * count, pa.int64()),
                "duration": pa.array([length / CLARTTS_RATE] * count, pa.float64()),
            }
        )
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=group_rows)
    assert writer is not None
    writer.close()
    return folder
