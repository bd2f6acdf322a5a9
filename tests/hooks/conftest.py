"""Fixtures of the trainer eval-hook tests: tiny models, a small corpus, one scorer.

The models come from the packages' own ``tiny`` modules; the scorer is the real
``natiq.eval`` one with ASR off (speed) and speaker similarity + quality on.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from natiq.common.files import read_jsonl, write_jsonl
from natiq.data.mini_corpus import mini_corpus_manifest


@pytest.fixture(scope="session")
def hook_scorer():
    from natiq.eval.runner import EvalConfig, make_sample_scorer

    return make_sample_scorer(EvalConfig(intelligibility=False, device="cpu", num_threads=1))


@pytest.fixture(scope="session")
def pocket_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from natiq.backends.pocket.tiny import write_tiny_model

    return write_tiny_model(
        tmp_path_factory.mktemp("hooks_pocket_base"), d_model=32, flow_dim=32, num_heads=2
    )


@pytest.fixture(scope="session")
def pocket_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four mini-corpus utterances of two speakers, one of each speaker marked ``val``."""
    source = mini_corpus_manifest()
    rows = [row for _, row in read_jsonl(source)]
    chosen = []
    for speaker in ("spk1", "spk2"):
        mine = [r for r in rows if r["speaker"] == speaker][:2]
        for index, row in enumerate(mine):
            audio = str((source.parent / row["audio"]).resolve())
            chosen.append({**row, "audio": audio, "split": "val" if index == 0 else "train"})
    target = tmp_path_factory.mktemp("hooks_corpus") / "metadata.jsonl"
    write_jsonl(target, chosen)
    return target


@pytest.fixture(scope="session")
def higgs_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from natiq.backends.higgs.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("hooks_higgs") / "tiny")


def espeak_wav(text: str, path: Path) -> Path:
    subprocess.run(
        ["espeak-ng", "-v", "ar", "-s", "190", "-w", str(path), text],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture(scope="session")
def higgs_chatml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two voice-cloning samples of espeak-ng Arabic speech, in ChatML."""
    folder = tmp_path_factory.mktemp("hooks_speech")
    lines = []
    for sample_id, ref_text, target_text in (("s1", "مرحبا", "نعم"), ("s2", "شكرا", "كلا")):
        espeak_wav(ref_text, folder / f"{sample_id}_ref.wav")
        espeak_wav(target_text, folder / f"{sample_id}_tgt.wav")
        messages = [
            {"role": "system", "content": "Generate audio following instruction."},
            {"role": "user", "content": ref_text},
            {"role": "assistant", "content": {"type": "audio", "audio_url": f"{sample_id}_ref.wav"}},
            {"role": "user", "content": target_text},
            {"role": "assistant", "content": {"type": "audio", "audio_url": f"{sample_id}_tgt.wav"}},
        ]
        lines.append({"id": sample_id, "speaker": "spk1", "messages": messages})
    path = folder / "train.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    return path


def scalar_tags(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in the TensorBoard event files under ``log_dir``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    series: dict[str, list[tuple[int, float]]] = {}
    files = sorted(log_dir.rglob("events.out.tfevents.*"))
    assert files, f"no TensorBoard event file under {log_dir}"
    for event_file in files:
        accumulator = EventAccumulator(str(event_file))
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            points = [(e.step, e.value) for e in accumulator.Scalars(tag)]
            series.setdefault(tag, []).extend(points)
    return series


def assert_finite_series(series: dict[str, list[tuple[int, float]]], tag: str) -> None:
    assert tag in series, f"{tag} not logged; tags: {sorted(series)}"
    assert series[tag] and all(math.isfinite(v) for _, v in series[tag]), series[tag]
