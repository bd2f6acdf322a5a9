"""Pocket trainer + natiq.eval scorer: eval samples come with generated.jsonl and
their metrics land in TensorBoard as eval/<metric>."""

from __future__ import annotations

from pathlib import Path

from conftest import assert_finite_series, scalar_tags
from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.backends.pocket.trainer import train
from natiq.common.files import read_jsonl
from natiq.data.audio import load_audio


def _config(run_dir: Path, manifest: Path, base: Path) -> PocketTrainConfig:
    return PocketTrainConfig(
        metadata=str(manifest),
        checkpoint_dir=str(run_dir),
        base=str(base),
        use_lora=True,
        lora_rank=4,
        lora_alpha=8.0,
        batch_size=2,
        lr=1e-3,
        warmup_steps=0,
        max_steps=1,
        save_every=1,
        eval_every=1,
        eval_samples=2,
        use_precomputed_latents=False,
        device="cpu",
        precision="fp32",
        seed=3,
        log_every=1,
    )


def test_pocket_eval_writes_manifest_and_logs_metrics(
    tmp_path: Path, pocket_manifest: Path, pocket_base: Path, hook_scorer
) -> None:
    lines: list[str] = []
    run_dir = tmp_path / "run"
    result = train(_config(run_dir, pocket_manifest, pocket_base), sample_scorer=hook_scorer, log=lines.append)

    sample_dir = run_dir / "samples" / "step_1"
    rows = [row for _, row in read_jsonl(sample_dir / "generated.jsonl")]
    val = [r for _, r in read_jsonl(pocket_manifest) if r["split"] == "val"]
    assert [r["id"] for r in rows] == [r["id"] for r in val]
    for row, source in zip(rows, val, strict=True):
        assert row["text"] == source["text"]  # the Arabic input, not the romanization
        assert row["target_audio"] == source["audio"]
        assert row["synthesis_seconds"] > 0
        prompt, rate = load_audio(sample_dir / row["reference_audio"])
        assert rate == 24_000 and prompt.size > 0
        assert (sample_dir / row["audio"]).is_file()

    series = scalar_tags(run_dir / "logs")
    for tag in ("eval/dnsmos_ovrl_mean", "eval/duration_ratio_mean", "eval/rtf_mean", "val/total"):
        assert_finite_series(series, tag)
    assert series["eval/count"] == [(1, 2.0)]
    assert result.eval_losses["samples/failed"] == 0.0
    # The scorer saw the prompt: a random tiny model's audio holds too little voice for
    # resemblyzer, which the evaluation reports per row rather than dropping silently.
    scored = [r for _, r in read_jsonl(sample_dir / "eval" / "results.jsonl")]
    assert all(
        "speaker_similarity" in r or "speaker similarity not computed" in r["error"] for r in scored
    )
    assert any(line.startswith("step 1 eval:") and "dnsmos_ovrl_mean" in line for line in lines)
