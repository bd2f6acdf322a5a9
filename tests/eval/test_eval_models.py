"""The offline models behind the metrics: Whisper ASR, speaker embeddings, DNSMOS, VAD."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from filelock import FileLock

from natiq.common.errors import ModelLoadError
from natiq.data.audio import load_audio
from natiq.eval.asr import AsrConfig, WhisperTranscriber, packaged_model_dir, token_cap
from natiq.eval.quality import estimate_snr_db
from natiq.eval.runner import Evaluator
from natiq.eval.speaker import cosine_similarity, load_speaker_encoder
from natiq.eval.text_metrics import cer


def _noisy(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    power = float(np.mean(samples.astype(np.float64) ** 2))
    noise = np.random.default_rng(seed).standard_normal(samples.shape) * math.sqrt(
        power / 10 ** (snr_db / 10)
    )
    return np.clip(samples + noise, -1.0, 1.0).astype(np.float32)


def test_asr_transcribes_a_bundled_clip_offline(evaluator: Evaluator, mini_corpus: dict[str, Any]):
    row = mini_corpus["spk1_002"]
    samples, _ = load_audio(row["audio"], 16000)
    transcript = evaluator.transcriber.transcribe(samples)
    assert any("\u0621" <= char <= "\u064a" for char in transcript), transcript
    print(f"ASR on espeak: {transcript!r} CER {cer(row['text'], transcript):.3f}")


def test_packaged_whisper_is_joined_once(evaluator: Evaluator, whisper_cache: Path):
    first = packaged_model_dir("base", whisper_cache)  # already joined by the evaluator fixture
    stamp = (first / "model.bin").stat().st_mtime_ns
    again = packaged_model_dir("base", whisper_cache)
    assert again == first
    assert (again / "model.bin").stat().st_mtime_ns == stamp
    names = sorted(p.name for p in first.iterdir())
    assert names == [
        "config.json",
        "model.bin",
        "natiq_source.json",
        "tokenizer.json",
        "vocabulary.json",
    ]
    # no staging folder left; the build lock stays (an empty file)
    assert sorted(p.name for p in whisper_cache.iterdir()) == [
        ".whisper-base-ct2.lock",
        "whisper-base-ct2",
    ]


def test_packaged_whisper_damaged_in_the_cache_is_rebuilt_by_hash(
    evaluator: Evaluator, whisper_cache: Path, tmp_path: Path
):
    """A same-size corruption of the joined model.bin (a size check misses it) is found and repaired."""
    shutil.copytree(whisper_cache / "whisper-base-ct2", tmp_path / "whisper-base-ct2")
    model_bin = tmp_path / "whisper-base-ct2" / "model.bin"
    intact = hashlib.sha256(model_bin.read_bytes()).hexdigest()
    with open(model_bin, "r+b") as handle:
        handle.seek(1_000_000)
        byte = handle.read(1)
        handle.seek(1_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert hashlib.sha256(model_bin.read_bytes()).hexdigest() != intact
    folder = packaged_model_dir("base", tmp_path)
    assert hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest() == intact
    recorded = json.loads((folder / "natiq_source.json").read_text(encoding="utf-8"))
    assert recorded["model.bin"] == intact
    assert len(recorded["wheel_files"]["model.bin.part1"]) == 64  # the wheel's RECORD hash


def test_a_cache_built_while_waiting_for_the_lock_is_reused_not_rebuilt(
    evaluator: Evaluator, whisper_cache: Path, tmp_path: Path
):
    """Two processes on an empty cache: the second waits for the first and reuses its folder.

    This test plays the first process: it holds the build lock, builds the folder
    (a copy of the session's), then releases; the waiting caller must return that
    very file, not join its own over it (which pulls it from under a loader).
    """
    result: dict[str, Any] = {}

    def second_caller() -> None:
        try:
            result["folder"] = packaged_model_dir("base", tmp_path)
        except Exception as error:
            result["error"] = error

    with FileLock(str(tmp_path / ".whisper-base-ct2.lock")):
        waiter = threading.Thread(target=second_caller)
        waiter.start()
        shutil.copytree(whisper_cache / "whisper-base-ct2", tmp_path / "whisper-base-ct2")
        built = (tmp_path / "whisper-base-ct2" / "model.bin").stat().st_ino
    waiter.join(timeout=120)
    assert "error" not in result, result
    assert result["folder"] == tmp_path / "whisper-base-ct2"
    assert (result["folder"] / "model.bin").stat().st_ino == built
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".whisper-base-ct2.lock",
        "whisper-base-ct2",
    ]


def test_asr_token_cap_scales_with_duration_and_fits_whisper_window():
    assert token_cap(2.0, 15.0) == 38
    assert token_cap(29.0, 15.0) == 440
    assert token_cap(300.0, 15.0) == 440  # per 30 s window, never above Whisper's limit


def test_missing_asr_model_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ModelLoadError, match="--asr-model"):
        WhisperTranscriber(AsrConfig(model=str(tmp_path / "no-such-model"), device="cpu"))


def test_same_voice_is_more_similar_than_another_voice(
    evaluator: Evaluator, mini_corpus: dict[str, Any]
):
    encoder = evaluator.speaker_encoder
    embed = {
        key: encoder.embed(load_audio(mini_corpus[key]["audio"], 16000)[0])
        for key in ("spk1_000", "spk1_002", "spk2_001", "spk2_003")
    }
    same_1 = cosine_similarity(embed["spk1_000"], embed["spk1_002"])
    same_2 = cosine_similarity(embed["spk2_001"], embed["spk2_003"])
    across = [
        cosine_similarity(embed[a], embed[b])
        for a in ("spk1_000", "spk1_002")
        for b in ("spk2_001", "spk2_003")
    ]
    print(f"similarity same voice {same_1:.3f} / {same_2:.3f}, across voices max {max(across):.3f}")
    assert min(same_1, same_2) > max(across)


@pytest.mark.parametrize(
    ("name", "message"), [("speechbrain/spkrec-ecapa-voxceleb", "ECAPA"), ("x-vector", "unknown")]
)
def test_unsupported_speaker_models_are_clear_errors(name: str, message: str):
    with pytest.raises(ModelLoadError, match=message):
        load_speaker_encoder(name, device="cpu")


@pytest.mark.slow  # importing transformers costs ~8 s of CPU
def test_wavlm_speaker_model_from_a_local_folder(tmp_path: Path, clip_16k: np.ndarray):
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    config = WavLMConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32),
        conv_stride=(5, 4),
        conv_kernel=(10, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        tdnn_dim=(32, 32),
        tdnn_kernel=(3, 1),
        tdnn_dilation=(1, 1),
        xvector_output_dim=16,
    )
    WavLMForXVector(config).save_pretrained(tmp_path / "wavlm")
    Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(tmp_path / "wavlm")
    encoder = load_speaker_encoder(f"wavlm:{tmp_path / 'wavlm'}", device="cpu")
    embedding = encoder.embed(clip_16k)
    assert embedding.shape == (16,)
    assert cosine_similarity(embedding, encoder.embed(clip_16k)) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ModelLoadError, match="wavlm"):
        load_speaker_encoder(f"wavlm:{tmp_path / 'missing'}", device="cpu")


def test_dnsmos_and_snr_prefer_clean_speech_over_noise_at_0_db(
    evaluator: Evaluator, clip_16k: np.ndarray
):
    noisy = _noisy(clip_16k, 0.0)
    clean_mos, noisy_mos = evaluator.dnsmos.score(clip_16k), evaluator.dnsmos.score(noisy)
    print(
        f"DNSMOS OVRL clean {clean_mos['dnsmos_ovrl']:.2f} vs 0 dB noise {noisy_mos['dnsmos_ovrl']:.2f}"
    )
    assert clean_mos["dnsmos_ovrl"] > noisy_mos["dnsmos_ovrl"]
    assert clean_mos["dnsmos_bak"] > noisy_mos["dnsmos_bak"]
    clean_snr = estimate_snr_db(clip_16k, evaluator.vad.detect(clip_16k))
    noisy_snr = estimate_snr_db(noisy, evaluator.vad.detect(noisy))
    assert clean_snr is not None and noisy_snr is not None
    assert clean_snr > 15.0 > noisy_snr


def test_silence_ratio_counts_added_silence(evaluator: Evaluator, clip_16k: np.ndarray):
    padded = np.concatenate([np.zeros(16000, np.float32), clip_16k, np.zeros(16000, np.float32)])
    plain = evaluator.vad.detect(clip_16k).silence_ratio
    longer = evaluator.vad.detect(padded).silence_ratio
    assert 0.0 <= plain < longer < 1.0
