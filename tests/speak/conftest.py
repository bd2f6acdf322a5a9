"""Shared fixtures of the speak tests: a second architecture, voice clips, a Synthesizer.

The tiny model itself is tests/conftest.py's ``tiny_yaml`` (built once per
run); voice clips are made with espeak-ng at a rate and channel count the
model does not use, so loading must convert them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="session")
def other_tiny_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model of another architecture (wider transformer)."""
    from natiq.backends.pocket.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("other_tiny"), d_model=96, num_heads=4)


@pytest.fixture(scope="session")
def voice_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An espeak-ng Arabic clip, resampled to 16 kHz stereo on purpose."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is required for the speak tests (apt-get install espeak-ng)")
    folder = tmp_path_factory.mktemp("voice")
    raw = folder / "raw.wav"
    subprocess.run(
        ["espeak-ng", "-v", "ar", "-w", str(raw), "مرحبا بكم في هذا البرنامج"],
        check=True,
        capture_output=True,
    )
    samples, rate = sf.read(str(raw), dtype="float32")
    from natiq.data.audio import resample

    mono16 = resample(samples, rate, 16000)
    stereo = np.stack([mono16, 0.5 * mono16], axis=1)
    path = folder / "reference_16k_stereo.wav"
    sf.write(str(path), stereo, 16000)
    return path


@pytest.fixture(scope="session")
def synth(tiny_yaml: Path):
    from natiq.synthesizer import Synthesizer

    return Synthesizer.load("pocket", model=str(tiny_yaml), device="cpu")
