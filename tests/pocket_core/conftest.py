"""Shared fixtures of the Pocket TTS model-core tests: Mimi latents of a few bundled
mini-corpus utterances, built once per session with the tiny model of tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mini_records() -> list[dict]:
    from natiq.common.files import read_jsonl
    from natiq.data.mini_corpus import mini_corpus_manifest

    manifest = mini_corpus_manifest()
    records = []
    for _, record in read_jsonl(manifest):
        records.append({**record, "audio_path": manifest.parent / record["audio"]})
    return records


@pytest.fixture(scope="session")
def mini_latents(tiny_yaml: Path, mini_records: list[dict]) -> list:
    """Raw Mimi latents ([frames, 32]) of the first 4 mini-corpus utterances (tiny Mimi)."""
    from natiq.backends.pocket.latents import encode_audio
    from natiq.backends.pocket.tiny import load_tiny_tts
    from natiq.data.audio import load_audio

    model = load_tiny_tts(tiny_yaml)
    return [encode_audio(model, load_audio(r["audio_path"], 24000)[0]) for r in mini_records[:4]]
