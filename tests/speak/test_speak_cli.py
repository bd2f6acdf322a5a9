"""``natiq speak`` / ``natiq voice export`` through the real typer app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from natiq.common.errors import CheckpointMismatchError, InputTextError, OptionError

ARABIC_TEXT = "مَرْحَبًا بِكُمْ"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    from natiq.cli.main import app

    return runner.invoke(app, [str(arg) for arg in args])


def test_speak_writes_a_24k_wav_with_translit_name(
    runner, tiny_yaml: Path, voice_wav: Path, tmp_path: Path
) -> None:
    output = tmp_path / "generated_arabic.wav"
    result = invoke(
        runner,
        "speak",
        "--text",
        ARABIC_TEXT,
        "--model",
        tiny_yaml,
        "--voice",
        voice_wav,
        "--output",
        output,
        "--append-translit",
        "--seed",
        "0",
        "--max-seconds",
        "0.3",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    written = tmp_path / "generated_arabic_marhaban_bikum.wav"
    info = sf.info(str(written))
    assert (info.samplerate, info.channels, info.frames) == (24000, 1, 7200)
    assert "real-time factor" in result.output


def test_a_sampling_option_the_backend_lacks_is_refused(runner, tmp_path: Path) -> None:
    args = ["speak", "--text", ARABIC_TEXT, "--model", tmp_path / "never-loaded.yaml"]
    result = invoke(runner, *args, "--top-k", "5", "--output", tmp_path / "x.wav")
    assert isinstance(result.exception, OptionError)
    assert str(result.exception).startswith("the pocket backend does not support")
    assert not (tmp_path / "x.wav").exists()


def test_stream_writes_incrementally_and_reports_first_chunk(
    runner, tiny_yaml: Path, voice_wav: Path, tmp_path: Path
) -> None:
    output = tmp_path / "streamed.wav"
    result = invoke(
        runner,
        "speak",
        "--text",
        ARABIC_TEXT,
        "--model",
        tiny_yaml,
        "--voice",
        voice_wav,
        "--output",
        output,
        "--stream",
        "--temperature",
        "0.5",
        "--max-seconds",
        "0.4",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    assert "first chunk after" in result.output
    assert sf.info(str(output)).frames == 9600  # the header was finalized at 0.4 s


def test_voice_export_then_speak_with_the_state(
    runner, tiny_yaml: Path, voice_wav: Path, tmp_path: Path
) -> None:
    state = tmp_path / "voice.safetensors"
    result = invoke(
        runner, "voice", "export", voice_wav, state, "--model", tiny_yaml, "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {state}"
    spoken = {}
    for name, voice in (("from_state", state), ("from_clip", voice_wav)):
        output = tmp_path / f"{name}.wav"
        args = ["--model", tiny_yaml, "--voice", voice, "--seed", "4", "--max-seconds", "0.5"]
        args += ["--device", "cpu"]
        result = invoke(runner, "speak", "--text", ARABIC_TEXT, *args, "--output", output)
        assert result.exit_code == 0, result.output
        spoken[name], rate = sf.read(str(output), dtype="float32")
    assert rate == 24000 and spoken["from_state"].shape == (12000,)
    # the exported state is the clip's voice: same seed, same speech (to a 16-bit step)
    np.testing.assert_allclose(spoken["from_state"], spoken["from_clip"], atol=2**-15)


def test_batch_skips_bad_lines_and_resumes(
    runner, tiny_yaml: Path, voice_wav: Path, tmp_path: Path
) -> None:
    batch = tmp_path / "texts.jsonl"
    lines = [
        json.dumps({"id": "greeting", "text": ARABIC_TEXT}, ensure_ascii=False),
        "{this is not json",
        json.dumps({"id": "punct", "text": "!!! ..."}),
        json.dumps({"id": "../escape", "text": ARABIC_TEXT}, ensure_ascii=False),
        json.dumps({"text": "شُكْرًا"}, ensure_ascii=False),
    ]
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = [
        "speak",
        "--input-file",
        batch,
        "--output-dir",
        out,
        "--model",
        tiny_yaml,
        "--voice",
        voice_wav,
        "--device",
        "cpu",
    ]
    result = invoke(runner, *args)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.glob("*.wav")) == ["greeting.wav", "line00005.wav"]
    failures = [
        json.loads(line)
        for line in (out / "failures.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [failure["line"] for failure in failures] == [2, 3, 4]
    assert failures[1]["error"] == "InputTextError"
    assert "wrote 2 wav(s)" in result.output

    before = (out / "greeting.wav").stat().st_mtime_ns
    result = invoke(runner, *args)
    assert result.exit_code == 0, result.output
    assert "wrote 0 wav(s)" in result.output and "skipped 2 existing" in result.output
    assert (out / "greeting.wav").stat().st_mtime_ns == before


def test_empty_text_is_refused(runner, tiny_yaml: Path, voice_wav: Path, tmp_path: Path) -> None:
    result = invoke(
        runner,
        "speak",
        "--text",
        "  ",
        "--model",
        tiny_yaml,
        "--voice",
        voice_wav,
        "--output",
        tmp_path / "x.wav",
        "--device",
        "cpu",
    )
    assert isinstance(result.exception, InputTextError)
    assert str(result.exception) == "--text is empty; give some Arabic text to speak"
    assert not (tmp_path / "x.wav").exists()


def test_latinize_must_agree_with_the_checkpoint(
    runner, tiny_yaml: Path, voice_wav: Path, tmp_path: Path
) -> None:
    import shutil

    from natiq.text import FrontendConfig

    export = tmp_path / "export"
    shutil.copytree(tiny_yaml.parent, export)
    FrontendConfig(scheme="buckwalter").save(export)
    result = invoke(
        runner,
        "speak",
        "--text",
        ARABIC_TEXT,
        "--checkpoint",
        export,
        "--latinize",
        "--voice",
        voice_wav,
        "--output",
        tmp_path / "x.wav",
        "--device",
        "cpu",
    )
    assert isinstance(result.exception, CheckpointMismatchError)
    assert "buckwalter" in str(result.exception)
