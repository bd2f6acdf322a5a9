"""Shared fixtures of the Pocket trainer tests: small corpora of the mini-corpus (the tiny model is tests/conftest.py's ``tiny_base``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.pocket_train import write_manifest


@pytest.fixture(scope="session")
def mini_manifest() -> Path:
    """The bundled mini-corpus manifest (20 espeak-ng utterances, 2 speakers, 16 kHz)."""
    from natiq.data.mini_corpus import mini_corpus_manifest

    return mini_corpus_manifest()


@pytest.fixture(scope="session")
def small_manifest(tmp_path_factory: pytest.TempPathFactory, mini_manifest: Path) -> Path:
    """Six mini-corpus utterances (3 per speaker, one marked ``val``), absolute audio paths."""
    records = [
        json.loads(line)
        for line in mini_manifest.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    spk1 = [r for r in records if r["speaker"] == "spk1"][:3]
    spk2 = [r for r in records if r["speaker"] == "spk2"][:3]
    chosen = []
    for index, record in enumerate(spk1 + spk2):
        record = dict(record)
        record["audio"] = str((mini_manifest.parent / record["audio"]).resolve())
        record["split"] = "val" if index == 5 else "train"
        chosen.append(record)
    return write_manifest(tmp_path_factory.mktemp("corpus") / "metadata.jsonl", chosen)
