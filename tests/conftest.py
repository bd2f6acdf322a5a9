"""Test-wide settings and the fixtures every area shares.

Settings: one torch thread (two threads were seen 30x slower on a busy 2-core
machine), offline Hugging Face, a shared output folder for artifacts such as
screenshots. Shared fixtures: the tiny random Pocket TTS models, built once
per test run (tests must not write into their folders: copy them first).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("NATIQ_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"


def pytest_configure(config: pytest.Config) -> None:
    # CI replays a fixed set of examples (a red CI blocks everything); local runs
    # keep exploring new ones and remember failures in .hypothesis/.
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None)
    if os.environ.get("CI"):
        settings.load_profile("ci")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def tiny_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Pocket TTS model of inference tests (random weights, 256-piece tokenizer), as a YAML."""
    from natiq.backends.pocket.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny_pocket"))


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A narrower tiny Pocket TTS model (width 32, 2 heads) that training tests step quickly."""
    from natiq.backends.pocket.tiny import write_tiny_model

    return write_tiny_model(
        tmp_path_factory.mktemp("tiny_pocket_base"), d_model=32, flow_dim=32, num_heads=2
    )
