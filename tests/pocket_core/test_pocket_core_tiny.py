"""The tiny random Pocket TTS model every other test builds on."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml


def test_tiny_yaml_is_self_contained_with_local_files(tiny_yaml: Path) -> None:
    config = yaml.safe_load(tiny_yaml.read_text(encoding="utf-8"))
    assert "weights_path_without_voice_cloning" not in config
    assert Path(config["weights_path"]).is_file()
    table = config["flow_lm"]["lookup_table"]
    assert Path(table["tokenizer_path"]).is_file()
    assert table["n_bins"] == 256
    assert config["flow_lm"]["flow"]["type"] == "lsd"
    assert config["capitalize_first_letter"] is False
    assert config["replace_characters"]["؟"] == "?"


def test_tiny_model_loads_offline_and_speaks_from_a_wav_prompt(
    tiny_yaml: Path, tmp_path: Path
) -> None:
    from natiq.backends.pocket.tiny import load_tiny_tts

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    model = load_tiny_tts(tiny_yaml.parent, eos_threshold=float("inf"))
    assert model.flow_lm.conditioner.tokenizer.sp.vocab_size() == 256
    voice = tmp_path / "voice.wav"
    t = np.arange(24000) / 24000
    sf.write(voice, (0.2 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 24000)
    state = model.get_state_for_audio_prompt(voice)
    audio = model.generate_audio(state, "مرحبا بكم.")
    assert audio.dim() == 1 and audio.shape[0] > 24000 * 0.5
    assert torch.isfinite(audio).all()


def test_tiny_weights_depend_only_on_the_seed(tmp_path: Path) -> None:
    from natiq.backends.pocket.tiny import load_tiny_tts, write_tiny_model

    small = {"d_model": 32, "num_heads": 2, "flow_dim": 32, "num_layers": 1, "flow_depth": 1}
    a = load_tiny_tts(write_tiny_model(tmp_path / "a", seed=3, **small)).state_dict()
    b = load_tiny_tts(write_tiny_model(tmp_path / "b", seed=3, **small)).state_dict()
    c = load_tiny_tts(write_tiny_model(tmp_path / "c", seed=4, **small)).state_dict()
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert not torch.equal(a["flow_lm.input_linear.weight"], c["flow_lm.input_linear.weight"])
    # the voice projection is random, not pocket-tts' all-zero placeholder
    assert a["flow_lm.speaker_proj_weight"].abs().sum() > 0


def test_tiny_tokenizer_that_cannot_reach_its_size_is_a_clear_error(tmp_path: Path) -> None:
    from natiq.backends.pocket.tiny import write_tiny_model
    from natiq.common.errors import DataFormatError

    with pytest.raises(DataFormatError, match="256-piece"):
        write_tiny_model(tmp_path, corpus_texts=["ab ab ab"], n_bins=256)
