"""Runs that survive their data: an over-long text is skipped and listed, and the reference
recipe's own weights (the learned loss weighting) are trained and kept in checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file

from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.backends.pocket.trainer import SKIPPED_FILE, train
from natiq.common.files import read_jsonl
from support.pocket_train import write_manifest


def test_an_utterance_over_the_token_limit_is_skipped_and_the_run_completes(
    tmp_path: Path, small_manifest: Path, tiny_base: Path
) -> None:
    rows = [row for _, row in read_jsonl(small_manifest)]
    longest = next(r for r in rows if r["split"] == "train")
    longest["text"] = " ".join([longest["text"]] * 3)  # three times any other text
    manifest = write_manifest(tmp_path / "metadata.jsonl", rows)
    limit = max(len(r["text"]) for r in rows if r is not longest) + 8  # only the longest is over
    lines: list[str] = []
    run_dir = tmp_path / "run"
    config = PocketTrainConfig(
        metadata=str(manifest), output_dir=str(run_dir), base=str(tiny_base),
        text_mode="native", native_tokenizer="char", max_text_tokens=limit,
        per_device_train_batch_size=2, max_steps=2, save_steps=2, eval_steps=0,
        warmup_steps=0, use_precomputed_latents=False, device="cpu", precision="fp32",
        logging_steps=1,
    )  # fmt: skip
    result = train(config, log=lines.append)

    assert result.step == 2 and result.checkpoint == run_dir / "step_2"
    skipped = [row for _, row in read_jsonl(run_dir / SKIPPED_FILE)]
    assert [row["id"] for row in skipped] == [longest["id"]]
    assert f"over the limit of {limit}" in skipped[0]["reason"]
    assert skipped[0]["where"].endswith(f"metadata.jsonl:{rows.index(longest) + 1}")
    assert any(line.startswith(f"skipped {skipped[0]['where']}") for line in lines)
    assert any(longest["id"] in note for note in result.skipped)
    # the recipe's learned weighting trained and is in the checkpoint, not in the model
    objective = load_file(str(run_dir / "step_2" / "objective.safetensors"))
    assert objective and all(name.startswith("weighting.") for name in objective)
    assert any(float(value.abs().max()) > 0 for value in objective.values())
    record = json.loads((run_dir / "step_2" / "training_config.json").read_text("utf-8"))
    assert record["config"]["objective"]["p_equal"] == 0.75
    assert record["config"]["examples"]["bucket_batches"] == 20


def test_encoding_on_the_fly_refuses_an_all_zero_mimi_encoder(
    tmp_path: Path, small_manifest: Path
) -> None:
    """The ungated release's encoder is all zero: on-the-fly training must stop before step 1."""
    import pytest
    import torch
    from safetensors.torch import save_file

    from natiq.backends.pocket.tiny import load_tiny_tts, write_tiny_model
    from natiq.common.errors import ModelLoadError

    base = write_tiny_model(tmp_path / "zeroed", d_model=32, flow_dim=32, num_heads=2)
    model = load_tiny_tts(base)
    with torch.no_grad():
        for module in (model.mimi.encoder, model.mimi.encoder_transformer, model.mimi.downsample):
            for parameter in module.parameters():
                parameter.zero_()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(base.with_suffix(".safetensors")))
    config = PocketTrainConfig(
        metadata=str(small_manifest), output_dir=str(tmp_path / "run"), base=str(base),
        use_precomputed_latents=False, max_steps=1, device="cpu", precision="fp32",
    )  # fmt: skip
    with pytest.raises(ModelLoadError, match="all-zero Mimi encoder"):
        train(config, log=lambda line: None)
    assert not list((tmp_path / "run").glob("step_*"))
