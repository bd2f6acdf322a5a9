"""Voice prompts: clips of any rate/channels, exported states, and bad voice files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from natiq.backends.pocket import voices
from natiq.common.errors import AudioInputError, CheckpointMismatchError, ModelLoadError


@pytest.fixture(scope="module")
def tiny_model(tiny_yaml: Path):
    from natiq.backends.pocket.tiny import load_tiny_tts

    return load_tiny_tts(tiny_yaml)


def test_reference_clip_is_read_as_mono_at_model_rate(voice_wav: Path) -> None:
    info = sf.info(str(voice_wav))
    samples = voices.load_reference_audio(voice_wav, 24000)
    assert info.channels == 2 and info.samplerate == 16000
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(samples.size / 24000 - info.frames / 16000) < 0.01


def test_silent_clip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(str(path), np.zeros(24000, dtype=np.float32), 24000)
    with pytest.raises(AudioInputError, match="silent"):
        voices.load_reference_audio(path, 24000)


def test_unreadable_clip_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00not really a wav file at all")
    with pytest.raises(AudioInputError, match=r"broken\.wav"):
        voices.load_reference_audio(path, 24000)


def test_too_short_clip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blip.wav"
    sf.write(str(path), 0.3 * np.ones(1000, dtype=np.float32), 24000)
    with pytest.raises(AudioInputError, match="at least"):
        voices.load_reference_audio(path, 24000)


def test_exported_state_reloads_identically(tiny_model, voice_wav: Path, tmp_path: Path) -> None:
    state = voices.state_from_audio(tiny_model, voices.load_reference_audio(voice_wav, 24000))
    path = voices.export_voice_state(state, tmp_path / "voice.safetensors")
    reloaded = voices.load_voice_state(tiny_model, path)
    assert set(reloaded) == set(state)
    for name, module in state.items():
        for key, value in module.items():
            assert torch.equal(reloaded[name][key].to(value.dtype), value), (name, key)


def test_state_of_another_architecture_is_a_mismatch(
    tiny_model, other_tiny_yaml: Path, voice_wav: Path, tmp_path: Path
) -> None:
    from natiq.backends.pocket.tiny import load_tiny_tts

    other = load_tiny_tts(other_tiny_yaml)
    state = voices.state_from_audio(other, voices.load_reference_audio(voice_wav, 24000))
    path = voices.export_voice_state(state, tmp_path / "other.safetensors")
    with pytest.raises(CheckpointMismatchError, match="export"):
        voices.load_voice_state(tiny_model, path)


def test_garbage_state_file_is_refused(tiny_model, tmp_path: Path) -> None:
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(AudioInputError, match=r"garbage\.safetensors"):
        voices.load_voice_state(tiny_model, path)


def test_export_requires_safetensors_suffix(tiny_model, tmp_path: Path) -> None:
    with pytest.raises(AudioInputError, match=r"\.safetensors"):
        voices.export_voice_state({}, tmp_path / "voice.pt")


def test_default_voice_offline_asks_for_a_voice(
    tiny_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="--voice"):
        voices.load_default_voice(tiny_model, custom_weights=True)
