"""``natiq demo`` end to end, as a user runs it: a real subprocess, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf


@pytest.mark.slow
def test_demo_runs_offline_and_writes_speech_and_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NATIQ_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    natiq = Path(sys.executable).with_name("natiq")
    completed = subprocess.run(
        [str(natiq), "demo", "--output-dir", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    info = sf.info(str(out / "speech.wav"))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    spoken_s = report["speech"]["timings"]["audio_s"]
    assert (info.samplerate, info.channels) == (24000, 1)
    assert info.frames == round(spoken_s * 24000) and spoken_s >= 2 * 0.08  # 2 sentences
    assert [stage["name"] for stage in report["stages"]] == [
        "tiny base model",
        "data prepare",
        "pocket latents",
        "LoRA training",
        "export",
        "speak",
    ]
    assert report["losses"] and all(value == value for value in report["losses"].values())
    export_yaml = Path(report["stages"][4]["outputs"]["export config"])
    assert export_yaml.is_file() and export_yaml.with_suffix(".safetensors").is_file()
    assert (export_yaml.parent / "natiq_frontend.json").is_file()
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "not intelligible" in markdown and "speech.wav" in markdown
