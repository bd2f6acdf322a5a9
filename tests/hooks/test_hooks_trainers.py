"""Trainer eval hooks, end to end on tiny models: every --eval-steps steps the Pocket
and Higgs trainers write samples with generated.jsonl, a real natiq.eval scorer
(ASR off for speed; speaker similarity and quality on) scores them, and the
scores land in TensorBoard as eval/<metric>.

Fixtures live here, not in a conftest.py: the other test folders import their
own ``conftest`` by name, which a third conftest module would shadow.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from natiq.backends.higgs.train_config import HiggsTrainConfig
from natiq.backends.higgs.trainer import run_training
from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.backends.pocket.trainer import train
from natiq.common.files import read_jsonl, write_jsonl
from natiq.data.audio import load_audio
from natiq.data.mini_corpus import mini_corpus_manifest


@pytest.fixture(scope="session")
def hook_scorer():
    from natiq.eval.runner import EvalConfig, make_sample_scorer

    return make_sample_scorer(EvalConfig(intelligibility=False, device="cpu", num_threads=1))


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
            {
                "role": "assistant",
                "content": {"type": "audio", "audio_url": f"{sample_id}_ref.wav"},
            },
            {"role": "user", "content": target_text},
            {
                "role": "assistant",
                "content": {"type": "audio", "audio_url": f"{sample_id}_tgt.wav"},
            },
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


def _config(run_dir: Path, manifest: Path, base: Path) -> PocketTrainConfig:
    return PocketTrainConfig(
        metadata=str(manifest),
        output_dir=str(run_dir),
        base=str(base),
        use_lora=True,
        lora_r=4,
        lora_alpha=8.0,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        warmup_steps=0,
        max_steps=1,
        save_steps=1,
        eval_steps=1,
        eval_samples=2,
        use_precomputed_latents=False,
        device="cpu",
        precision="fp32",
        seed=3,
        logging_steps=1,
    )


def test_pocket_eval_writes_manifest_and_logs_metrics(
    tmp_path: Path, pocket_manifest: Path, tiny_base: Path, hook_scorer
) -> None:
    lines: list[str] = []
    run_dir = tmp_path / "run"
    result = train(
        _config(run_dir, pocket_manifest, tiny_base), sample_scorer=hook_scorer, log=lines.append
    )

    sample_dir = run_dir / "samples" / "step_1"
    rows = [row for _, row in read_jsonl(sample_dir / "generated.jsonl")]
    val = [r for _, r in read_jsonl(pocket_manifest) if r["split"] == "val"]
    assert [r["id"] for r in rows] == [r["id"] for r in val]
    for row, source in zip(rows, val, strict=True):
        assert row["text"] == source["text"]  # the Arabic input, not the romanization
        assert row["target_audio"] == source["audio"]
        assert row["synthesis_seconds"] > 0
        prompt, rate = load_audio(sample_dir / row["reference_audio"])
        assert row["reference_audio"].endswith(".flac")
        assert rate == 24_000 and prompt.size > 0
        assert (sample_dir / row["audio"]).is_file()

    assert sorted(p.name for p in sample_dir.rglob("*.wav")) == sorted(r["audio"] for r in rows)

    series = scalar_tags(run_dir / "logs")
    for tag in ("eval/dnsmos_ovrl_mean", "eval/duration_ratio_mean", "eval/rtf_mean", "val/total"):
        assert_finite_series(series, tag)
    assert series["eval/count"] == [(1, 2.0)]
    assert result.eval_losses["eval/failed"] == 0.0
    # The scorer saw the prompt: a random tiny model's audio holds too little voice for
    # resemblyzer, which the evaluation reports per row rather than dropping silently.
    scored = [r for _, r in read_jsonl(sample_dir / "eval" / "results.jsonl")]
    assert all(
        "speaker_similarity" in r or "speaker similarity not computed" in r["error"] for r in scored
    )
    assert any(line.startswith("step 1 eval:") and "dnsmos_ovrl_mean" in line for line in lines)


def test_higgs_eval_clones_samples_and_logs_metrics(
    tmp_path: Path, higgs_model: Path, higgs_chatml: Path, hook_scorer
) -> None:
    output = tmp_path / "run"
    config = HiggsTrainConfig(
        chatml=higgs_chatml,
        output_dir=output,
        model=str(higgs_model),
        max_steps=2,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=1,
        learning_rate=1e-3,
        warmup_steps=0,
        logging_steps=1,
        save_steps=1000,
        eval_steps=2,
        eval_samples=1,
        device="cpu",
        precision="fp32",
    )
    result = run_training(config, sample_scorer=hook_scorer)
    assert result.steps == 2

    assert not (output / "samples" / "step_1").exists()
    sample_dir = output / "samples" / "step_2"
    rows = [row for _, row in read_jsonl(sample_dir / "generated.jsonl")]
    assert [r["id"] for r in rows] == ["s1"]
    row = rows[0]
    assert row["text"] == "نعم" and row["reference_text"] == "مرحبا"
    assert Path(row["reference_audio"]).name == "s1_ref.wav"
    assert Path(row["target_audio"]).name == "s1_tgt.wav"
    assert (sample_dir / row["audio"]).is_file() and row["synthesis_seconds"] > 0

    series = scalar_tags(output / "logs")
    for tag in ("val/total", "val/audio", "val/codebook_7", "eval/dnsmos_ovrl_mean", "eval/count"):
        assert_finite_series(series, tag)
    assert series["eval/count"] == [(2, 1.0)]
    log = [entry for _, entry in read_jsonl(output / "eval_log.jsonl")]
    # the validation loss, then the scores of the samples (scored in the background)
    assert [entry["step"] for entry in log] == [2, 2]
    assert "val/total" in log[0] and log[1]["eval/failed"] == 0.0
