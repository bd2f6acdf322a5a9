"""Fixtures for the Higgs tests: a tiny random model of the real classes saved
to disk once per session, and Arabic speech made by espeak-ng."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.higgs import chatml_line, espeak, write_chatml


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from natiq.backends.higgs.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("higgs") / "tiny")


@pytest.fixture(scope="session")
def lora_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hidden 256: big enough for the default recipe (LoRA only, frozen random heads) to overfit."""
    from natiq.backends.higgs.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("higgs") / "tiny256", hidden_size=256)


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("speech")
    espeak("مرحبا", folder / "ref1.wav")
    espeak("نعم", folder / "tgt1.wav")
    espeak("شكرا", folder / "ref2.wav")
    espeak("كلا", folder / "tgt2.wav")
    return folder


@pytest.fixture(scope="session")
def train_chatml(speech_dir: Path) -> Path:
    return write_chatml(
        speech_dir / "train.jsonl",
        [
            chatml_line("s1", "مرحبا", "ref1.wav", "نعم", "tgt1.wav"),
            chatml_line("s2", "شكرا", "ref2.wav", "كلا", "tgt2.wav"),
        ],
    )
