"""``prepare`` on a parquet file with ClArTTS's exact schema, read through ``datasets``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from natiq.common.errors import DataFormatError
from natiq.common.files import read_jsonl
from natiq.data.manifest import read_manifest
from natiq.data.prepare import PrepareConfig, run_prepare
from natiq.data.processing import AudioOptions
from support.data import BAD_ROWS, GOOD_ROWS

FIELDS = ["id", "audio", "duration", "sample_rate", "speaker", "split", "text_raw", "text"]


def _config(clartts_dir: Path, output: Path, **kwargs) -> PrepareConfig:
    audio = AudioOptions(sample_rate=24000, min_duration=0.5, max_duration=6.0)
    return PrepareConfig(
        output_dir=output, dataset=str(clartts_dir), audio=audio, progress=False, **kwargs
    )


@pytest.fixture(scope="module")
def prepared(clartts_dir, tmp_path_factory) -> tuple[Path, object]:
    output = tmp_path_factory.mktemp("clartts_out")
    return output, run_prepare(_config(clartts_dir, output, val_fraction=0.2))


def test_good_rows_become_24khz_records_with_exact_fields(prepared):
    output, summary = prepared
    records = [r for _, r in read_jsonl(output / "metadata.jsonl")]
    assert [r["id"] for r in records] == [f"good_{i:03d}" for i in range(GOOD_ROWS)]
    for record in records:
        assert list(record) == FIELDS
        info = sf.info(str(output / record["audio"]))
        assert info.samplerate == 24000 and info.channels == 1
        assert record["duration"] == pytest.approx(info.frames / 24000, abs=1e-3)
        assert 1.5 < record["duration"] < 4.0
        assert record["sample_rate"] == 24000 and record["speaker"] == "clartts"
        assert record["text"] and record["text_raw"]
    assert {r["split"] for r in records} == {"train", "val"}
    assert summary.kept == GOOD_ROWS and summary.processed == GOOD_ROWS + len(BAD_ROWS)


def test_every_bad_row_is_rejected_with_its_reason(prepared):
    output, summary = prepared
    rejects = {r["id"]: r for _, r in read_jsonl(output / "rejects.jsonl")}
    assert {i: r["reason"] for i, r in rejects.items()} == BAD_ROWS
    assert all(r["detail"] and r["origin"] for r in rejects.values())
    assert summary.rejected == len(BAD_ROWS)
    assert not (output / "audio" / "bad_silent.wav").exists()


def test_prepared_manifest_reads_back(prepared):
    from natiq.data.splits import assign_splits

    output, summary = prepared
    records = read_manifest(output / "metadata.jsonl")
    assert all(r.audio.is_absolute() and r.audio.is_file() for r in records)
    rule = assign_splits([(r.id, r.speaker) for r in records], 0.2)
    val = read_manifest(output / "metadata.jsonl", split="val")
    assert [r.id for r in val] == [r.id for r in records if rule[r.id] == "val"]
    assert len(val) == summary.val >= 1


def test_rerun_skips_everything_and_changes_nothing(prepared, clartts_dir):
    output, _ = prepared
    before = {p.name: p.read_bytes() for p in output.rglob("*.jsonl")}
    mtimes = {p: p.stat().st_mtime_ns for p in (output / "audio").iterdir()}
    summary = run_prepare(_config(clartts_dir, output, val_fraction=0.2))
    assert summary.processed == 0 and summary.resumed == GOOD_ROWS + len(BAD_ROWS)
    assert {p.name: p.read_bytes() for p in output.rglob("*.jsonl")} == before
    assert {p: p.stat().st_mtime_ns for p in (output / "audio").iterdir()} == mtimes


def test_two_workers_decode_row_groups_to_the_same_files(prepared, clartts_dir, tmp_path):
    output, _ = prepared
    summary = run_prepare(_config(clartts_dir, tmp_path, val_fraction=0.2, num_workers=2))
    assert summary.processed == GOOD_ROWS + len(BAD_ROWS)

    def files(folder: Path) -> dict[str, bytes]:
        found = [p for p in folder.rglob("*") if p.is_file() and ".progress" not in p.parts]
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in found}

    assert files(tmp_path) == files(output)


def test_rerun_with_other_settings_is_refused(prepared, clartts_dir):
    output, _ = prepared
    with pytest.raises(DataFormatError, match="other settings"):
        run_prepare(_config(clartts_dir, output, val_fraction=0.5))


def test_limit_and_romanization(clartts_dir, tmp_path):
    summary = run_prepare(_config(clartts_dir, tmp_path, limit=3, text=_romanized()))
    records = [r for _, r in read_jsonl(tmp_path / "metadata.jsonl")]
    assert summary.processed == 3 and len(records) == 3
    assert all(r["romanization"] == "buckwalter" and r["text_romanized"].isascii() for r in records)


def _romanized():
    from natiq.data.transcripts import TextOptions

    return TextOptions(diacritics="keep", romanize="buckwalter")


def test_missing_dataset_is_a_clear_error(tmp_path):
    config = PrepareConfig(
        output_dir=tmp_path / "out", dataset=str(tmp_path / "nowhere"), progress=False
    )
    with pytest.raises(DataFormatError, match="cannot open dataset"):
        run_prepare(config)
    assert not (tmp_path / "out").exists()


def test_row_audio_is_checked_against_its_file_name(clartts_dir):
    from natiq.data.clartts import split_files
    from natiq.data.parquet_rows import load_row_audio, read_parquet_items

    (path,) = split_files(str(clartts_dir), "train")
    items = list(read_parquet_items([path], str(clartts_dir), "train"))
    assert [i.id for i in items][:2] == ["good_000", "good_001"]
    ref = items[6].parquet
    assert ref is not None and (ref.row_group, ref.row) == (1, 1)
    assert load_row_audio(ref).dtype == np.float32
    with pytest.raises(RuntimeError, match=r"not 'other\.wav'"):
        load_row_audio(type(ref)(path, ref.row_group, ref.row, "other.wav"))


def test_row_audio_equals_the_stored_samples_in_every_row_group(clartts_dir):
    import pyarrow.parquet as pq

    from natiq.data.clartts import split_files
    from natiq.data.parquet_rows import load_row_audio, read_parquet_items

    (path,) = split_files(str(clartts_dir), "train")
    stored = pq.read_table(path, columns=["audio"]).column("audio").to_pylist()
    items = list(read_parquet_items([path], str(clartts_dir), "train"))
    for index in (0, 4, 6, 9, 13):  # first and last row of a group, rows of later groups
        expected = np.asarray(stored[index], dtype=np.float32)
        got = load_row_audio(items[index].parquet)
        assert got.dtype == np.float32 and np.array_equal(got, expected)
