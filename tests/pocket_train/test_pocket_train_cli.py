"""End to end on the bundled mini-corpus: latents -> train -> export -> the stock pocket-tts CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import soundfile as sf

from support.pocket_train import invoke_natiq
from support.stock_pocket_tts import run_stock_generate


@pytest.mark.slow
def test_latents_train_export_then_stock_pocket_tts_generates(
    tmp_path: Path, small_manifest: Path, tiny_base: Path
) -> None:
    latents_dir = tmp_path / "latents"
    invoke_natiq(
        "pocket",
        "latents",
        "--metadata",
        str(small_manifest),
        "--output-dir",
        str(latents_dir),
        "--base",
        str(tiny_base),
        "--device",
        "cpu",
    )
    manifest = latents_dir / "metadata_latents.jsonl"
    assert len(manifest.read_text(encoding="utf-8").splitlines()) == 6

    run_dir = tmp_path / "run"
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(
        f"metadata: {manifest}\nbase: {tiny_base}\ntext_mode: native\nnative_tokenizer: char\n"
        "train_scope: text+flow\nuse_lora: true\nobjective:\n  loss: lsd\nlora_r: 2\nmax_steps: 4\n",
        encoding="utf-8",
    )
    output = invoke_natiq(
        "pocket", "train", "--config", str(run_yaml), "--use-precomputed-latents",
        "--output-dir", str(run_dir), "--lora-r", "4", "--per-device-train-batch-size", "2",
        "--warmup-steps", "1", "--save-steps", "2", "--eval-steps", "2", "--eval-samples", "1",
        "--keep-last", "1", "--ema-decay", "0.9", "--device", "cpu", "--precision", "fp32",
        "--logging-steps", "1",
    )  # fmt: skip
    assert "finished at step 4" in output
    assert sorted(p.name for p in run_dir.glob("step_*")) == ["step_4"]  # keep-last 1 pruned step_2
    checkpoint = run_dir / "step_4"
    for name in (
        "adapter/adapter_model.safetensors",
        "ema.safetensors",
        "optimizer.bin",
        "custom_checkpoint_0.pkl",  # the learning-rate schedule
        "trainer_state.json",
        "training_config.json",
        "natiq_frontend.json",
        "tokenizer.model",
    ):
        assert (checkpoint / name).is_file(), name
    samples = sorted((run_dir / "samples").rglob("*.wav"))
    assert [p.parent.name for p in samples] == ["step_2", "step_4"]
    assert sf.info(str(samples[0])).frames > 0
    assert list((run_dir / "logs").rglob("events.out.tfevents.*"))
    recorded = json.loads((checkpoint / "training_config.json").read_text(encoding="utf-8"))
    # the YAML's settings, the flags on top of them, and the defaults: the effective config
    assert recorded["trainer"] == "pocket"
    assert (recorded["config"]["text_mode"], recorded["config"]["lora_r"]) == ("native", 4)
    assert recorded["config"]["learning_rate"] == 2e-4

    export_dir = tmp_path / "export"
    invoke_natiq(
        "pocket", "export", "--checkpoint", str(checkpoint), "--output-dir", str(export_dir)
    )
    yaml_path = export_dir / "natiq_arabic.yaml"
    assert yaml_path.is_file() and (export_dir / "natiq_arabic.safetensors").is_file()
    assert (export_dir / "natiq_frontend.json").is_file()
    assert "capitalize_first_letter: false" in yaml_path.read_text(encoding="utf-8")

    _check_reloading(checkpoint, export_dir, tmp_path)

    wav = tmp_path / "stock.wav"
    voice = small_manifest.parent / "voice.wav"
    voice.write_bytes(Path(_first_audio(small_manifest)).read_bytes())
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    completed = run_stock_generate(
        [
            "--config",
            yaml_path.name,  # the export's paths are relative: run from its folder
            "--voice",
            str(voice),
            "--text",
            "السلام عليكم.",
            "--output-path",
            str(wav),
            "-q",
        ],
        cwd=export_dir,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    info = sf.info(str(wav))
    assert info.samplerate == 24000 and info.frames > 0


def _first_audio(manifest: Path) -> str:
    return json.loads(manifest.read_text(encoding="utf-8").splitlines()[0])["audio"]


def _check_reloading(checkpoint: Path, export_dir: Path, tmp_path: Path) -> None:
    """Checkpoint and export load to the same merged weights; another base is refused."""
    import torch
    from safetensors.torch import load_file

    from natiq.backends.pocket.export import load_checkpoint_model
    from natiq.backends.pocket.tiny import write_tiny_model
    from natiq.common.errors import CheckpointMismatchError

    tts, frontend = load_checkpoint_model(checkpoint)
    assert frontend.scheme is None  # native text: Arabic script reaches the tokenizer
    exported = load_file(str(export_dir / "natiq_arabic.safetensors"))
    state = tts.state_dict()
    assert exported.keys() == state.keys()
    assert all(torch.equal(exported[k], state[k]) for k in state)
    _, export_frontend = load_checkpoint_model(export_dir)
    assert export_frontend == frontend

    other = write_tiny_model(tmp_path / "other_base", d_model=48, flow_dim=32, num_heads=2)
    with pytest.raises(CheckpointMismatchError, match="another base model"):
        load_checkpoint_model(checkpoint, base=str(other))
