"""Helpers shared by the Higgs tests: espeak-ng clips and ChatML samples."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from natiq.data.audio import load_audio, resample

SYSTEM = "Generate audio following instruction.\n\n<|scene_desc_start|>\nAudio is recorded from a quiet room.\n<|scene_desc_end|>"


def espeak(text: str, path: Path, *, rate: int | None = None, stereo: bool = False) -> Path:
    """Arabic speech by espeak-ng (22.05 kHz mono), optionally resampled / made stereo."""
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(
        ["espeak-ng", "-v", "ar", "-s", "190", "-w", str(raw), text],
        check=True,
        capture_output=True,
    )
    samples, sr = load_audio(raw)
    if rate is not None and rate != sr:
        samples, sr = resample(samples, sr, rate), rate
    data = np.stack([samples, samples * 0.5], axis=1) if stereo else samples
    sf.write(str(path), data, sr)
    raw.unlink()
    return path


def chatml_line(
    sample_id: str, ref_text: str, ref_audio: str, target_text: str, target_audio: str | None
) -> dict:
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": ref_text},
        {"role": "assistant", "content": {"type": "audio", "audio_url": ref_audio}},
        {"role": "user", "content": target_text},
    ]
    if target_audio is not None:
        messages.append(
            {"role": "assistant", "content": {"type": "audio", "audio_url": target_audio}}
        )
    return {"id": sample_id, "speaker": "spk1", "messages": messages}


def write_chatml(path: Path, lines: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    return path
