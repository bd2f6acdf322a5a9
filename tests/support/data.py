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
