"""``natiq eval`` on the command line: a light run, argument errors, compare, report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from natiq.cli.eval import app
from natiq.common.errors import NatiqError
from natiq.common.files import read_jsonl, write_jsonl
from natiq.data.audio import duration_seconds
from natiq.eval.compare import comparability_warnings, compare_summaries, load_summary


def test_cli_runs_a_manifest_without_models(mini_corpus: dict[str, Any], tmp_path: Path):
    clip = mini_corpus["spk1_004"]
    manifest = tmp_path / "generated.jsonl"
    write_jsonl(
        manifest,
        [
            {"id": "a", "audio": clip["audio"], "text": clip["text"], "synthesis_seconds": 1.0},
            {"id": "b", "audio": "missing.wav", "text": "نص"},
        ],
    )
    output = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "--manifest",
            str(manifest),
            "--output-dir",
            str(output),
            "--no-asr",
            "--no-speaker",
            "--no-quality",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 utterances: 1 ok, 0 partial, 1 failed" in result.output
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    assert summary["metrics"]["rtf"]["count"] == 1
    assert (output / "report.html").is_file()


def test_cli_pairs_a_speak_batch_folder(mini_corpus: dict[str, Any], tmp_path: Path):
    batch = tmp_path / "batch.jsonl"
    voice = mini_corpus["spk2_003"]["audio"]
    write_jsonl(batch, [{"id": "x", "text": "نص أول", "voice": voice}, {"text": "نص ثان"}])
    generated = tmp_path / "out"
    generated.mkdir()
    shutil.copyfile(mini_corpus["spk2_001"]["audio"], generated / "x.wav")
    shutil.copyfile(mini_corpus["spk2_005"]["audio"], generated / "line00002.wav")
    output = tmp_path / "ev"
    args = ["--generated", str(generated), "--reference", str(batch), "--output-dir", str(output)]
    result = CliRunner().invoke(app, [*args, "--no-asr", "--no-speaker", "--no-quality"])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for _, row in read_jsonl(output / "results.jsonl")}
    assert rows["x"]["reference_audio"] == voice
    assert rows["x"]["text"] == "نص أول"
    assert rows["line00002"]["reference_audio"] is None
    assert rows["line00002"]["duration"] == pytest.approx(
        duration_seconds(generated / "line00002.wav")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "either --manifest"),
        (["--generated", "gen"], "--reference"),
        (["--manifest", "m.jsonl", "--split", "val"], "go with --generated"),
    ],
)
def test_cli_argument_mistakes_are_user_errors(args: list[str], message: str):
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, NatiqError)
    assert message in str(result.exception)


def test_compare_lines_up_two_runs(evaluated_run: dict[str, Any], tmp_path: Path):
    better = tmp_path / "b"
    shutil.copytree(evaluated_run["output"], better)
    summary = json.loads((better / "summary.json").read_text(encoding="utf-8"))
    summary["metrics"]["cer"]["mean"] = evaluated_run["summary"]["metrics"]["cer"]["mean"] / 2
    (better / "summary.json").write_text(json.dumps(summary), encoding="utf-8")

    rows = {
        row.name: row
        for row in compare_summaries(load_summary(evaluated_run["output"]), load_summary(better))
    }
    assert rows["cer"].better == "b"
    assert rows["cer"].delta == pytest.approx(
        -evaluated_run["summary"]["metrics"]["cer"]["mean"] / 2
    )
    assert rows["dnsmos_ovrl"].better == "same"

    result = CliRunner().invoke(app, ["compare", str(evaluated_run["output"]), str(better)])
    assert result.exit_code == 0, result.output
    assert "speaker_similarity" in result.output and "corpus_cer" in result.output


def test_compare_warns_when_runs_are_not_comparable(evaluated_run: dict[str, Any]):
    a = load_summary(evaluated_run["output"])
    assert comparability_warnings(a, a) == []
    b = {**a, "asr_model": "large-v3", "counts": {**a["counts"], "total": 3}}
    warnings = comparability_warnings(a, b)
    assert len(warnings) == 2
    assert "CER/WER" in warnings[0] and "large-v3" in warnings[0]


def test_compare_rejects_a_folder_without_summary(tmp_path: Path):
    result = CliRunner().invoke(app, ["compare", str(tmp_path), str(tmp_path)])
    assert isinstance(result.exception, NatiqError)
    assert "summary.json" in str(result.exception)


def test_cli_prints_corpus_cer_and_wer_beside_the_means(evaluated_run: dict[str, Any]):
    from natiq.cli.eval import summary_lines

    summary = evaluated_run["summary"]
    rows = [r for r in evaluated_run["rows"].values() if "cer" in r]
    chars = sum(r["char_errors"] for r in rows) / sum(r["char_count"] for r in rows)
    words = sum(r["word_errors"] for r in rows) / sum(r["word_count"] for r in rows)
    lines = summary_lines(summary)
    corpus = next(line for line in lines if "corpus" in line)
    assert f"CER {chars:.4f}" in corpus and f"WER {words:.4f}" in corpus
    assert any(line.startswith("  cer: mean") for line in lines)
