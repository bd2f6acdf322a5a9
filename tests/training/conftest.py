"""Fixtures of the training-core tests: tiny Pocket and Higgs models and corpora whose
examples all have the same length, so a mean over examples equals a mean over frames and
runs on 1 or 2 processes can be compared value for value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# 2 processes x 2 examples per global batch: Pocket's 5 utterances end each epoch with a
# batch of 1 (the second process has none: a weight-0 stand-in), Higgs's 7 samples with a
# batch of 3 (shards of 2 and 1 examples: weights 4/3 and 2/3).
POCKET_SAMPLES = 5
HIGGS_SAMPLES = 7
LATENT_FRAMES = 20
TONE_SECONDS = 0.8
TEXTS = (  # 3 letters each
    "كتب", "درس", "لعب", "شرب", "سمع", "فتح", "جلس", "رسم", "حمل", "نظر", "خرج", "دخل", "ركب", "صعد",
)  # fmt: skip


@pytest.fixture(scope="session")
def pocket_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from natiq.backends.pocket.tiny import write_tiny_model

    return write_tiny_model(
        tmp_path_factory.mktemp("training_pocket_base"), d_model=32, flow_dim=32, num_heads=2
    )


@pytest.fixture(scope="session")
def pocket_latents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five utterances of two speakers with random precomputed latents of equal length and one
    text, so every example has as many frames and tokens as the others."""
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("training_pocket_corpus")
    generator = torch.Generator().manual_seed(0)
    rows = []
    for index in range(POCKET_SAMPLES):
        latents = folder / f"u{index}.safetensors"
        save_file({"latents": torch.randn(LATENT_FRAMES, 32, generator=generator)}, str(latents))
        rows.append(
            {
                "id": f"u{index}",
                "audio": f"u{index}.wav",
                "text": "كتب الولد",
                "speaker": f"spk{index % 2}",
                "latents": latents.name,
                "num_frames": LATENT_FRAMES,
                "split": "train",
            }
        )
    manifest = folder / "metadata_latents.jsonl"
    manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return manifest


@pytest.fixture(scope="session")
def higgs_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from natiq.backends.higgs.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("training_higgs") / "tiny")


@pytest.fixture(scope="session")
def higgs_chatml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven voice-cloning samples: tones of one length, texts of one length, distinct content."""
    from support.higgs import chatml_line, write_chatml

    folder = tmp_path_factory.mktemp("training_higgs_speech")
    rate = 24_000
    t = np.arange(int(TONE_SECONDS * rate)) / rate
    lines = []
    for index in range(HIGGS_SAMPLES):
        for role, pitch in (("ref", 150 + 40 * index), ("tgt", 320 + 55 * index)):
            tone = 0.3 * np.sin(2 * np.pi * pitch * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
            sf.write(str(folder / f"s{index}_{role}.wav"), tone.astype(np.float32), rate)
        lines.append(
            chatml_line(
                f"s{index}",
                TEXTS[2 * index],
                f"s{index}_ref.wav",
                TEXTS[2 * index + 1],
                f"s{index}_tgt.wav",
            )
        )
    return write_chatml(folder / "train.jsonl", lines)
