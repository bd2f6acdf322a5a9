"""The real Higgs audio tokenizer class (tiny config): 24 kHz encode/decode,
resampling of other rates, stereo downmix, and the resumable code cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from natiq.backends.higgs.audio_codes import (
    CodeStore,
    decode_codes,
    encode_file,
    read_for_tokenizer,
    tokenize_files,
)
from natiq.common.errors import AudioInputError
from support.higgs import espeak


@pytest.fixture(scope="module")
def codec(tiny_model_dir: Path):
    from natiq.backends.higgs.loading import load_audio_tokenizer

    return load_audio_tokenizer(str(tiny_model_dir / "audio_tokenizer"))


def test_encode_decode_24k_wav(codec, tmp_path: Path):
    wav = espeak("السلام عليكم", tmp_path / "a.wav", rate=24000)
    seconds = sf.info(str(wav)).duration
    codes = encode_file(codec, wav)
    assert codes.shape[0] == 8 and abs(codes.shape[1] - seconds * 25) <= 1.5
    assert codes.min() >= 0 and codes.max() < 1024 and len(torch.unique(codes[0])) > 3
    audio = decode_codes(codec, codes)
    assert audio.dtype == np.float32 and abs(audio.shape[0] - codes.shape[1] * 960) <= 960
    assert np.isfinite(audio).all()


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_other_rates_are_resampled_to_24k(codec, tmp_path: Path, rate: int):
    reference = espeak("مرحبا", tmp_path / "ref.wav", rate=24000)
    other = espeak("مرحبا", tmp_path / f"x{rate}.wav", rate=rate)
    samples = read_for_tokenizer(other, 24000)
    assert abs(samples.shape[0] - read_for_tokenizer(reference, 24000).shape[0]) <= 24
    assert encode_file(codec, other).shape == encode_file(codec, reference).shape


def test_stereo_is_downmixed(codec, tmp_path: Path):
    stereo = espeak("مرحبا", tmp_path / "st.wav", rate=24000, stereo=True)
    data, _ = sf.read(str(stereo))
    assert data.ndim == 2
    mono = read_for_tokenizer(stereo, 24000)
    np.testing.assert_allclose(mono, data.mean(axis=1), atol=1e-4)
    assert encode_file(codec, stereo).shape[0] == 8


def test_code_store_is_resumable_and_reports_failures(codec, tmp_path: Path):
    good = espeak("مرحبا", tmp_path / "good.wav")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    store = CodeStore(tmp_path / "codes")
    first = tokenize_files(codec, [good, good, broken, tmp_path / "missing.wav"], store)
    assert (first.encoded, first.cached, len(first.failed)) == (1, 0, 2)
    second = tokenize_files(codec, [good], store)
    assert (second.encoded, second.cached) == (0, 1)
    assert torch.equal(store.load(good), encode_file(codec, good))


def test_reference_limit_and_silence(tmp_path: Path):
    long = tmp_path / "long.wav"
    sf.write(str(long), 0.1 * np.sin(np.arange(24000 * 3) / 10.0), 24000)
    with pytest.raises(AudioInputError, match="over the 2 s limit"):
        read_for_tokenizer(long, 24000, max_seconds=2)
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(24000), 24000)
    with pytest.raises(AudioInputError, match="silent"):
        read_for_tokenizer(silent, 24000)
