"""Fixtures of the data tests: a ClArTTS-schema parquet folder and a prepared mini-corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from natiq.data.mini_corpus import mini_corpus_manifest
from support.data import write_clartts_parquet, write_hub_layout_parquet


@pytest.fixture(scope="session")
def clartts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clartts_parquet(tmp_path_factory.mktemp("clartts"))


@pytest.fixture(scope="session")
def hub_layout_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~175 MB ClArTTS-schema parquet in 16-row groups (built once per session)."""
    return write_hub_layout_parquet(tmp_path_factory.mktemp("hub_layout"))


@pytest.fixture(scope="session")
def prepared_mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini-corpus prepared once (24 kHz, 20% val) for the ChatML and manifest tests."""
    from natiq.data.prepare import PrepareConfig, run_prepare

    output = tmp_path_factory.mktemp("prepared_mini")
    run_prepare(
        PrepareConfig(
            output_dir=output, manifest=mini_corpus_manifest(), val_fraction=0.2, progress=False
        )
    )
    return output
