"""`extract_latents`: one safetensors per utterance, a latents manifest, resume, rejects."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import soundfile as sf
import torch


@pytest.fixture()
def manifest(tmp_path: Path, mini_records: list) -> Path:
    """Three mini-corpus utterances, one missing audio file, one record without ``audio``."""
    audio_dir = tmp_path / "corpus" / "audio"
    audio_dir.mkdir(parents=True)
    lines = []
    for record in mini_records[:3]:
        shutil.copy(record["audio_path"], audio_dir / Path(record["audio"]).name)
        lines.append(
            {
                "id": record["id"],
                "audio": record["audio"],
                "text": record["text"],
                "speaker": record["speaker"],
            }
        )
    lines.append({"id": "gone", "audio": "audio/gone.wav", "text": "x", "speaker": "spk1"})
    lines.append({"id": "nofile", "text": "x", "speaker": "spk1"})
    path = tmp_path / "corpus" / "metadata.jsonl"
    path.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    return path


def test_latents_are_written_once_per_utterance_and_resume(
    manifest: Path, tiny_yaml: Path, tmp_path: Path
) -> None:
    from natiq.backends.pocket.latents import extract_latents, load_latent_stats, load_latents
    from natiq.common.files import read_jsonl

    out = tmp_path / "latents"
    summary = extract_latents(manifest, out, base=tiny_yaml, device="cpu")
    assert (summary.encoded, summary.reused) == (3, 0)
    assert {(r["id"], r["reason"], r["line"]) for r in summary.rejected} == {
        ("gone", "audio", 4),
        ("nofile", "record", 5),
    }
    rows = [record for _, record in read_jsonl(out / "metadata_latents.jsonl")]
    assert [row["id"] for row in rows] == [
        json.loads(line)["id"] for line in manifest.read_text().splitlines()[:3]
    ]
    for row in rows:
        latents = load_latents(out / row["latents"])
        duration = sf.info(manifest.parent / row["audio"]).duration
        assert latents.shape == (row["num_frames"], 32)
        assert row["num_frames"] == math.ceil(duration * 12.5 - 1e-6)
        assert row["speaker"] and row["text"]
    rejects = [record for _, record in read_jsonl(out / "latents_rejects.jsonl")]
    assert "gone.wav" in rejects[0]["detail"]
    mean, std = load_latent_stats(out)
    assert mean.shape == std.shape == (32,) and bool((std > 0).all())

    first = load_latents(out / rows[0]["latents"])
    again = extract_latents(manifest, out, base=tiny_yaml, device="cpu")
    assert (again.encoded, again.reused) == (0, 3)
    assert torch.equal(load_latents(out / rows[0]["latents"]), first)


def test_resuming_with_another_base_is_refused(
    manifest: Path, tiny_yaml: Path, tmp_path: Path
) -> None:
    from natiq.backends.pocket.latents import extract_latents
    from natiq.common.errors import DataFormatError

    out = tmp_path / "latents"
    extract_latents(manifest, out, base=tiny_yaml, device="cpu", limit=1)
    with pytest.raises(DataFormatError, match="made with base"):
        extract_latents(manifest, out, base="english", device="cpu")


def test_an_all_zero_mimi_encoder_is_detected(
    manifest: Path, tiny_yaml: Path, tmp_path: Path
) -> None:
    from natiq.backends.pocket.latents import extract_latents
    from natiq.backends.pocket.tiny import load_tiny_tts
    from natiq.common.errors import ModelLoadError

    model = load_tiny_tts(tiny_yaml)
    with torch.no_grad():
        for module in (model.mimi.encoder, model.mimi.encoder_transformer, model.mimi.downsample):
            for parameter in module.parameters():
                parameter.zero_()
    with pytest.raises(ModelLoadError, match="gated kyutai/pocket-tts"):
        extract_latents(manifest, tmp_path / "latents", base=tiny_yaml, tts_model=model)
    assert not (tmp_path / "latents" / "metadata_latents.jsonl").exists()


def test_an_empty_manifest_is_a_clear_error(tmp_path: Path, tiny_yaml: Path) -> None:
    from natiq.backends.pocket.latents import extract_latents
    from natiq.common.errors import DataFormatError

    empty = tmp_path / "metadata.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataFormatError, match="no utterances"):
        extract_latents(empty, tmp_path / "out", base=tiny_yaml)


def test_encode_audio_gives_12_5_frames_per_second(tiny_yaml: Path) -> None:
    from natiq.backends.pocket.latents import encode_audio
    from natiq.backends.pocket.tiny import load_tiny_tts

    model = load_tiny_tts(tiny_yaml)
    single = encode_audio(model, torch.randn(24000 * 2))
    batch = encode_audio(model, torch.randn(2, 24000 + 1))
    assert single.shape == (25, 32)
    assert batch.shape == (2, 13, 32)
