"""The command line: tokenize (resumable) then train with a text loss (logged apart) and a
trained audio head."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from support.higgs import chatml_line, write_chatml


def test_tokenize_then_train_with_text_loss(tiny_model_dir: Path, speech_dir: Path, tmp_path: Path):
    from natiq.cli.main import app

    train_chatml = write_chatml(
        tmp_path / "train.jsonl",
        [
            chatml_line(
                "s1", "مرحبا", str(speech_dir / "ref1.wav"), "نعم", str(speech_dir / "tgt1.wav")
            ),
            chatml_line(
                "s2", "شكرا", str(speech_dir / "ref2.wav"), "كلا", str(speech_dir / "tgt2.wav")
            ),
            chatml_line(
                "lost", "شكرا", str(tmp_path / "gone.wav"), "كلا", str(speech_dir / "tgt2.wav")
            ),
        ],
    )
    runner = CliRunner()
    codes = tmp_path / "codes"
    tokenize = [
        "higgs",
        "tokenize",
        "--chatml",
        str(train_chatml),
        "--output-dir",
        str(codes),
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
    ]
    first = runner.invoke(app, tokenize)
    assert first.exit_code == 0, first.output
    assert "encoded 4, already cached 0, failed 1" in first.output
    again = runner.invoke(app, tokenize)
    assert "encoded 0, already cached 4" in again.output
    assert len(list(codes.glob("*.safetensors"))) == 4

    output = tmp_path / "adapter"
    train = [
        "higgs",
        "train",
        "--chatml",
        str(train_chatml),
        "--output-dir",
        str(output),
        "--codes-dir",
        str(codes),
    ]
    train += [
        "--model",
        str(tiny_model_dir),
        "--max-steps",
        "2",
        "--per-device-train-batch-size",
        "2",
        "--gradient-accumulation-steps",
        "1",
    ]
    train += [
        "--logging-steps",
        "1",
        "--text-loss-weight",
        "0.5",
        "--lora-target-modules",
        "q_proj,v_proj",
        "--train-audio-head",
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, train)
    assert result.exit_code == 0, result.output
    log = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [1, 2]
    for entry in log:
        assert entry["train/text"] > 5  # an untrained 128k-vocab text head: about ln(128256) = 11.8
        assert abs(entry["train/total"] - (entry["train/audio"] + 0.5 * entry["train/text"])) < 1e-3
    adapter = json.loads((output / "adapter_config.json").read_text())
    assert sorted(adapter["target_modules"]) == ["q_proj", "v_proj"]
    assert adapter["modules_to_save"] == ["audio_lm_head"]  # --train-audio-head: a trained copy
    skipped = [json.loads(line) for line in (output / "skipped.jsonl").read_text().splitlines()]
    assert [s["id"] for s in skipped] == ["lost"] and "gone.wav" in skipped[0]["reason"]
    assert "skipped lost" in result.output


def test_train_rejects_a_bad_quantize_value(
    tiny_model_dir: Path, train_chatml: Path, tmp_path: Path
):
    from natiq.cli.main import app

    args = [
        "higgs",
        "train",
        "--chatml",
        str(train_chatml),
        "--output-dir",
        str(tmp_path),
        "--model",
        str(tiny_model_dir),
        "--quantize",
        "3bit",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2  # a usage error, before anything loads
    message = " ".join(result.output.replace("│", " ").split())
    assert (
        "Invalid value for '--quantize': Value error, '3bit' is not one of 'none', '8bit', '4bit'"
        in message
    )
