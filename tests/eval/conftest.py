"""Shared fixtures of the evaluation tests: mini-corpus clips, models loaded once,
and one evaluation run (good rows plus every kind of bad row) reused by the
report, browser and CLI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from natiq.common.files import read_jsonl, write_jsonl
from natiq.data.audio import load_audio, save_wav
from natiq.data.mini_corpus import mini_corpus_manifest
from natiq.eval.asr import AsrConfig
from natiq.eval.manifest import read_generated_manifest
from natiq.eval.runner import EvalConfig, Evaluator, run_evaluation
from support.alignment import natiq_cache


@pytest.fixture(scope="session")
def mini_corpus() -> dict[str, dict[str, Any]]:
    """Mini-corpus rows by id, with ``audio`` made absolute."""
    manifest = mini_corpus_manifest()
    rows = {}
    for _, row in read_jsonl(manifest):
        rows[row["id"]] = {**row, "audio": str(manifest.parent / row["audio"])}
    return rows


@pytest.fixture(scope="session")
def eval_config() -> EvalConfig:
    return EvalConfig(asr=AsrConfig(beam_size=1, device="cpu"), device="cpu", num_threads=1)


@pytest.fixture(scope="session")
def whisper_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the packaged Whisper model is joined in tests (never the user's cache;
    the word aligner of support.alignment joins it there too, so only once)."""
    return natiq_cache(tmp_path_factory) / "whisper"


@pytest.fixture(scope="session")
def evaluator(eval_config: EvalConfig, whisper_cache: Path) -> Evaluator:
    """All models once per session."""
    return Evaluator(eval_config, cache_dir=whisper_cache)


def _speaker_of(rows: dict[str, dict[str, Any]], speaker: str) -> list[dict[str, Any]]:
    return [row for row in rows.values() if row["speaker"] == speaker]


@pytest.fixture(scope="session")
def evaluated_run(
    mini_corpus: dict[str, dict[str, Any]],
    evaluator: Evaluator,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """A generated manifest of 3 good rows and 5 bad ones, evaluated once.

    "Generated" audio is mini-corpus speech; each row's reference voice is
    another clip of the same espeak voice.
    """
    root = tmp_path_factory.mktemp("generated")
    spk1, spk2 = _speaker_of(mini_corpus, "spk1"), _speaker_of(mini_corpus, "spk2")
    good = [
        {
            "id": "g1",
            "audio": spk1[0]["audio"],
            "text": spk1[0]["text"],
            "reference_audio": spk1[1]["audio"],
            "synthesis_seconds": 0.5,
        },
        {
            "id": "g2",
            "audio": spk1[2]["audio"],
            "text": spk1[2]["text"],
            "reference_audio": spk1[1]["audio"],
            "target_audio": spk1[2]["audio"],
        },
    ]
    (root / "corrupt.wav").write_bytes(b"RIFF not really a wave file")
    save_wav(root / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    bad = [
        {
            "id": "corrupt",
            "audio": "corrupt.wav",
            "text": "نص",
            "reference_audio": spk1[1]["audio"],
        },
        {"id": "empty", "audio": "empty.wav", "text": "نص", "reference_audio": spk1[1]["audio"]},
        {
            "id": "missing",
            "audio": "nowhere.wav",
            "text": "نص",
            "reference_audio": spk1[1]["audio"],
        },
        {"id": "no_text", "audio": spk2[2]["audio"], "reference_audio": spk2[1]["audio"]},
        {"id": "no_reference", "audio": spk2[3]["audio"], "text": spk2[3]["text"]},
    ]
    manifest = root / "generated.jsonl"
    write_jsonl(manifest, good + bad)
    output = root / "eval"
    summary = run_evaluation(read_generated_manifest(manifest), output, evaluator=evaluator)
    rows = {row["id"]: row for _, row in read_jsonl(output / "results.jsonl")}
    return {"manifest": manifest, "output": output, "summary": summary, "rows": rows}


@pytest.fixture(scope="session")
def clip_16k(mini_corpus: dict[str, dict[str, Any]]) -> np.ndarray:
    samples, _ = load_audio(mini_corpus["spk1_000"]["audio"], 16000)
    return samples
