"""The evaluation run: per-row results, bad rows reported, summary, resume, scorer for trainers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from natiq.common.errors import DataFormatError, NatiqError
from natiq.common.files import read_jsonl, write_jsonl
from natiq.eval.manifest import pair_generated_dir, read_generated_manifest
from natiq.eval.runner import EvalConfig, Evaluator, run_evaluation, score_manifest


def test_good_rows_get_every_metric(evaluated_run: dict[str, Any]):
    rows = evaluated_run["rows"]
    for key in ("g1", "g2"):
        row = rows[key]
        assert row["status"] == "ok", row["error"]
        assert row["error"] is None
        assert row["transcript"]
        assert 0.0 <= row["cer"] <= 2.0 and 0.0 <= row["wer"] <= 2.0
        assert row["duration"] == pytest.approx(sf.info(row["audio"]).duration)
        assert 0.0 <= row["silence_ratio"] < 0.9 and -20.0 < row["snr_db"] < 100.0
        assert 0.5 < row["speaker_similarity"] <= 1.0
        assert 1.0 < row["dnsmos_ovrl"] < 5.0
    assert rows["g1"]["rtf"] == pytest.approx(0.5 / rows["g1"]["duration"])
    assert rows["g2"]["duration_ratio"] == pytest.approx(1.0)
    assert "rtf" not in rows["g2"]
    print("ASR on espeak clips, CER:", {k: round(rows[k]["cer"], 3) for k in ("g1", "g2")})


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        ("corrupt", "failed", "unreadable audio"),
        ("empty", "failed", "empty"),
        ("missing", "failed", "not found"),
        ("no_text", "partial", "missing 'text'"),
        ("no_reference", "partial", "missing 'reference_audio'"),
    ],
)
def test_bad_rows_are_reported_per_row(
    evaluated_run: dict[str, Any], key: str, status: str, message: str
):
    row = evaluated_run["rows"][key]
    assert row["status"] == status
    assert message in row["error"]


def test_partial_rows_keep_the_metrics_they_can_have(evaluated_run: dict[str, Any]):
    rows = evaluated_run["rows"]
    assert "cer" not in rows["no_text"] and "transcript" not in rows["no_text"]
    assert 1.0 < rows["no_text"]["dnsmos_ovrl"] < 5.0
    assert "speaker_similarity" not in rows["no_reference"]
    assert 0.0 <= rows["no_reference"]["cer"] <= 2.0


def test_summary_counts_means_and_failures(evaluated_run: dict[str, Any]):
    summary = json.loads((evaluated_run["output"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"total": 7, "ok": 2, "partial": 2, "failed": 3}
    assert summary["metrics"]["cer"]["count"] == 3  # g1, g2 and no_reference
    assert summary["metrics"]["speaker_similarity"]["count"] == 3  # g1, g2 and no_text
    rows = evaluated_run["rows"]
    cers = [rows[k]["cer"] for k in ("g1", "g2", "no_reference")]
    assert summary["metrics"]["cer"]["mean"] == pytest.approx(sum(cers) / 3)
    assert {f["id"] for f in summary["failures"]} == {
        "corrupt",
        "empty",
        "missing",
        "no_text",
        "no_reference",
    }
    assert summary["asr_model"] == "packaged:base"
    ids = [row["id"] for _, row in read_jsonl(evaluated_run["output"] / "results.jsonl")]
    assert ids == ["g1", "g2", "corrupt", "empty", "missing", "no_text", "no_reference"]


def test_a_rerun_resumes_and_retries_only_failed_rows(
    evaluated_run: dict[str, Any], evaluator: Evaluator, tmp_path: Path
):
    output = tmp_path / "eval"
    shutil.copytree(evaluated_run["output"], output)
    seen: list[str] = []
    summary = run_evaluation(
        read_generated_manifest(evaluated_run["manifest"]),
        output,
        evaluator=evaluator,
        report=False,
        progress=lambda row: seen.append(row["id"]),
    )
    assert summary["resumed"] == 4
    assert sorted(seen) == ["corrupt", "empty", "missing"]
    assert summary["metrics"]["cer"] == evaluated_run["summary"]["metrics"]["cer"]


def test_a_rerun_after_editing_one_rows_text_rescores_exactly_that_row(
    evaluated_run: dict[str, Any], evaluator: Evaluator, tmp_path: Path
):
    output = tmp_path / "eval"
    shutil.copytree(evaluated_run["output"], output)
    records = [r for _, r in read_jsonl(evaluated_run["manifest"])]
    base = evaluated_run["manifest"].parent
    for record in records:  # the copied manifest must point at the same files
        for key in ("audio", "reference_audio", "target_audio"):
            if key in record and not Path(record[key]).is_absolute():
                record[key] = str(base / record[key])
    records = [r for r in records if r["id"] in ("g1", "g2", "no_text", "no_reference")]
    edited = next(r for r in records if r["id"] == "g2")
    edited["text"] = "نص آخر تماما"
    manifest = tmp_path / "generated.jsonl"
    write_jsonl(manifest, records)
    seen: list[str] = []
    summary = run_evaluation(
        read_generated_manifest(manifest),
        output,
        evaluator=evaluator,
        report=False,
        progress=lambda row: seen.append(row["id"]),
    )
    assert seen == ["g2"]
    assert summary["resumed"] == 3
    rows = {row["id"]: row for _, row in read_jsonl(output / "results.jsonl")}
    assert rows["g2"]["text"] == "نص آخر تماما"
    assert rows["g2"]["cer"] != evaluated_run["rows"]["g2"]["cer"]
    assert rows["g1"] == evaluated_run["rows"]["g1"]


def test_input_hash_follows_the_audio_bytes_not_the_path(mini_corpus, tmp_path: Path):
    from natiq.eval.manifest import GeneratedItem
    from natiq.eval.runner import input_hash

    clip = Path(mini_corpus["spk1_000"]["audio"])
    moved = tmp_path / "moved.wav"
    shutil.copyfile(clip, moved)
    config = EvalConfig()
    first = input_hash(GeneratedItem("a", clip, "نص"), config)
    assert input_hash(GeneratedItem("a", moved, "نص"), config) == first
    moved.write_bytes(moved.read_bytes()[:-2] + b"\x01\x00")
    assert input_hash(GeneratedItem("a", moved, "نص"), config) != first
    assert input_hash(GeneratedItem("a", clip, "نص آخر"), config) != first
    assert input_hash(GeneratedItem("a", clip, "نص"), EvalConfig(quality=False)) != first


def test_nan_or_infinite_audio_is_one_failed_row(
    mini_corpus: dict[str, Any], evaluator: Evaluator, tmp_path: Path
):
    import numpy as np
    import soundfile as sf

    samples, rate = sf.read(mini_corpus["spk1_004"]["audio"], dtype="float32")
    for name, value in (("nan", np.nan), ("inf", np.inf)):
        broken = samples.copy()
        broken[100:110] = value
        sf.write(str(tmp_path / f"{name}.wav"), broken, rate, subtype="FLOAT")
    rows = [
        {"id": "nan", "audio": "nan.wav", "text": "نص"},
        {"id": "inf", "audio": "inf.wav", "text": "نص"},
        {"id": "good", "audio": mini_corpus["spk1_004"]["audio"], "text": "نص"},
    ]
    write_jsonl(tmp_path / "generated.jsonl", rows)
    summary = run_evaluation(
        read_generated_manifest(tmp_path / "generated.jsonl"),
        tmp_path / "eval",
        evaluator=evaluator,
        report=False,
    )
    # "good" has no reference_audio: partial (no speaker similarity), but scored
    assert summary["counts"] == {"total": 3, "ok": 0, "partial": 1, "failed": 2}
    assert summary["metrics"]["cer"]["count"] == 1
    failures = {f["id"]: f["error"] for f in summary["failures"]}
    assert "10 of" in failures["nan"] and "NaN or infinite" in failures["inf"]


def test_other_settings_in_the_same_folder_are_refused(
    evaluated_run: dict[str, Any], tmp_path: Path
):
    output = tmp_path / "eval"
    shutil.copytree(evaluated_run["output"], output)
    items = read_generated_manifest(evaluated_run["manifest"])
    with pytest.raises(NatiqError, match="--overwrite"):
        run_evaluation(items, output, config=EvalConfig(speaker_model="wavlm:elsewhere"))


def test_score_manifest_gives_flat_scores_for_trainers(
    mini_corpus: dict[str, Any], evaluator: Evaluator, tmp_path: Path
):
    clip = mini_corpus["spk2_005"]
    manifest = tmp_path / "generated.jsonl"
    write_jsonl(
        manifest,
        [
            {
                "id": "s1",
                "audio": clip["audio"],
                "text": clip["text"],
                "reference_audio": mini_corpus["spk2_001"]["audio"],
                "synthesis_seconds": 0.25,
            }
        ],
    )
    scores = score_manifest(tmp_path, evaluator=evaluator)  # a samples folder, as trainers pass
    assert scores["count"] == 1.0 and scores["failed"] == 0.0
    assert scores["rtf_mean"] == pytest.approx(0.25 / sf.info(clip["audio"]).duration)
    assert 0.0 <= scores["cer_mean"] <= 2.0 and 0.0 <= scores["wer_mean"] <= 2.0
    assert 0.5 < scores["speaker_similarity_mean"] <= 1.0  # same speaker
    assert 1.0 < scores["dnsmos_ovrl_mean"] < 5.0
    assert scores["corpus_cer"] == pytest.approx(scores["cer_mean"])  # one row
    assert (tmp_path / "eval" / "results.jsonl").is_file()


def test_a_samples_folder_without_manifest_is_a_clear_error(tmp_path: Path):
    with pytest.raises(DataFormatError, match=r"generated\.jsonl"):
        score_manifest(tmp_path)


def test_manifest_errors_name_file_and_line(tmp_path: Path):
    manifest = tmp_path / "dup.jsonl"
    write_jsonl(
        manifest,
        [{"id": "a", "audio": "a.wav", "text": "x"}, {"id": "a", "audio": "b.wav", "text": "y"}],
    )
    with pytest.raises(DataFormatError, match=r"dup.jsonl:2: duplicate id 'a'"):
        read_generated_manifest(manifest)
    manifest.write_text('{"id": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r":2: invalid JSON"):
        read_generated_manifest(manifest)


def test_generated_folder_is_paired_with_reference_metadata(
    mini_corpus: dict[str, Any], tmp_path: Path
):
    generated = tmp_path / "gen"
    generated.mkdir()
    for key in ("spk1_000", "spk2_001"):
        shutil.copyfile(mini_corpus[key]["audio"], generated / f"{key}.wav")
    shutil.copyfile(mini_corpus["spk1_002"]["audio"], generated / "stray.wav")
    reference = tmp_path / "metadata.jsonl"
    rows = [
        {**mini_corpus[k], "split": "val" if k != "spk1_004" else "train"}
        for k in ("spk1_000", "spk2_001", "spk1_004")
    ]
    write_jsonl(reference, rows)
    paired = pair_generated_dir(generated, reference, split="val")
    assert [item.id for item in paired.items] == ["spk1_000", "spk2_001"]
    first = paired.items[0]
    assert first.audio == generated / "spk1_000.wav"
    assert first.text == mini_corpus["spk1_000"]["text"]
    assert str(first.reference_audio) == mini_corpus["spk1_000"]["audio"] == str(first.target_audio)
    assert paired.unmatched_generated == ["stray"]
    everything = pair_generated_dir(generated, reference)
    assert everything.items[2].id == "spk1_004" and not everything.items[2].audio.exists()
