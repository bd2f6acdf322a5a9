"""Inputs other than ClArTTS: JSONL/CSV manifests, LJSpeech folders, wav + txt pairs,
Buckwalter transcripts; and the errors a malformed input gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from natiq.common.errors import DataFormatError
from natiq.common.files import read_jsonl, write_jsonl
from natiq.data.mini_corpus import MINI_CORPUS_DIR, mini_corpus_manifest
from natiq.data.prepare import PrepareConfig, run_prepare
from natiq.data.sources import read_audio_dir, read_manifest_source, safe_id
from natiq.data.transcripts import TextOptions, prepare_transcript

MINI = [record for _, record in read_jsonl(mini_corpus_manifest())]


def _prepare(tmp_path: Path, **kwargs) -> list[dict]:
    output = tmp_path / "out"
    run_prepare(PrepareConfig(output_dir=output, progress=False, val_fraction=0.0, **kwargs))
    return [record for _, record in read_jsonl(output / "metadata.jsonl")]


def test_mini_corpus_has_two_speakers_and_diacritized_text():
    assert len(MINI) == 20
    assert {r["speaker"] for r in MINI} == {"spk1", "spk2"}
    assert all("\u064e" in r["text"] or "\u064f" in r["text"] for r in MINI)
    total = sum(p.stat().st_size for p in MINI_CORPUS_DIR.rglob("*") if p.is_file())
    assert total < 2_000_000


def test_csv_manifest_with_speakers(tmp_path):
    lines = ["id,audio,text,speaker"]
    for record in MINI[:4]:
        audio = (MINI_CORPUS_DIR / record["audio"]).as_posix()
        lines.append(f"{record['id']},{audio},{record['text']},{record['speaker']}")
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = _prepare(tmp_path, manifest=tmp_path / "in.csv")
    assert [r["id"] for r in records] == sorted(r["id"] for r in MINI[:4])
    assert {r["speaker"] for r in records} == {"spk1", "spk2"}


def test_ljspeech_folder(tmp_path):
    corpus = tmp_path / "lj"
    (corpus / "wavs").mkdir(parents=True)
    lines = []
    for record in MINI[:3]:
        shutil.copy(MINI_CORPUS_DIR / record["audio"], corpus / "wavs" / f"{record['id']}.wav")
        lines.append(f"{record['id']}|{record['text']}|{record['text']}")
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = _prepare(tmp_path, audio_dir=corpus)
    assert len(records) == 3 and {r["speaker"] for r in records} == {"spk0"}


def test_wav_txt_pairs_take_speaker_from_subfolder_and_buckwalter(tmp_path):
    from natiq.text import romanize

    corpus = tmp_path / "pairs"
    for record in MINI[:4]:
        folder = corpus / record["speaker"]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(MINI_CORPUS_DIR / record["audio"], folder / f"{record['id']}.wav")
        (folder / f"{record['id']}.txt").write_text(
            romanize(record["text"], "buckwalter"), encoding="utf-8"
        )
    (corpus / "spk1" / "orphan.wav").write_bytes((MINI_CORPUS_DIR / MINI[0]["audio"]).read_bytes())
    records = _prepare(tmp_path, audio_dir=corpus, text=TextOptions(transcript_format="buckwalter"))
    assert [r["id"] for r in records] == sorted(f"{r['speaker']}_{r['id']}" for r in MINI[:4])
    expected = {f"{r['speaker']}_{r['id']}": r["text"] for r in MINI[:4]}
    for record in records:
        assert record["text_raw"].isascii()
        plain = prepare_transcript(expected[record["id"]], TextOptions()).text
        assert record["text"] == plain
    rejects = [r for _, r in read_jsonl(tmp_path / "out" / "rejects.jsonl")]
    assert [(r["id"], r["reason"]) for r in rejects] == [("spk1_orphan", "empty_text")]


def test_strip_diacritics_removes_harakat(tmp_path):
    records = _prepare(
        tmp_path, manifest=mini_corpus_manifest(), limit=2, text=TextOptions(diacritics="strip")
    )
    assert all(not any("\u064b" <= c <= "\u0652" for c in r["text"]) for r in records)
    assert all(any("\u064b" <= c <= "\u0652" for c in r["text_raw"]) for r in records)


def test_missing_audio_file_is_a_reject_not_a_crash(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"audio": "nope.wav", "text": MINI[0]["text"]}])
    records = _prepare(tmp_path, manifest=tmp_path / "in.jsonl")
    rejects = [r for _, r in read_jsonl(tmp_path / "out" / "rejects.jsonl")]
    assert (
        records == []
        and rejects[0]["reason"] == "unreadable_audio"
        and "nope.wav" in rejects[0]["detail"]
    )


def test_malformed_manifest_names_file_and_line(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"audio": "a.wav", "text": "x"}, {"text": "y"}])
    with pytest.raises(DataFormatError, match=r"in\.jsonl:2: missing 'audio'"):
        list(read_manifest_source(tmp_path / "in.jsonl"))
    (tmp_path / "in.csv").write_text("path,words\nx,y\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"in\.csv:1"):
        list(read_manifest_source(tmp_path / "in.csv"))
    with pytest.raises(DataFormatError, match="not a folder"):
        read_audio_dir(tmp_path / "missing")


def test_exactly_one_input_is_required(tmp_path):
    with pytest.raises(DataFormatError, match="exactly one input"):
        run_prepare(PrepareConfig(output_dir=tmp_path, progress=False))


def test_unknown_romanization_fails_before_any_work(tmp_path):
    with pytest.raises(DataFormatError, match="klingon"):
        run_prepare(
            PrepareConfig(
                output_dir=tmp_path,
                manifest=mini_corpus_manifest(),
                text=TextOptions(romanize="klingon"),
            )
        )
    assert not (tmp_path / "audio").exists()


def test_safe_id_keeps_arabic_and_replaces_separators():
    assert safe_id(" a/b c.wav ") == "a_b_c.wav"
    assert safe_id("نص_1") == "نص_1"
    assert safe_id("../..") == ""
