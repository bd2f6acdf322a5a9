"""Signal-level quality: predicted MOS (DNSMOS), SNR, silence, duration, speed.

DNSMOS runs the ONNX models that ship inside ``speechmos`` (P.835 SIG/BAK/OVRL
and the P.808 MOS), with onnxruntime limited to the threads we are given.
SNR and silence come from one silero-vad pass: speech power over the power of
the non-speech frames (the noise floor), and the share of the clip that is not
speech. Everything takes 16 kHz mono float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QUALITY_SAMPLE_RATE = 16000
_NOISE_FLOOR_POWER = 1e-10  # -100 dBFS: digital silence caps SNR at about 100 dB


class DnsmosScorer:
    """DNSMOS P.835 (+P.808) with thread-limited onnxruntime sessions."""

    def __init__(self, num_threads: int = 1, personalized: bool = False) -> None:
        import onnxruntime as ort
        import speechmos.dnsmos as dnsmos_module

        models = Path(dnsmos_module.__file__).parent
        primary = (
            models / ("pdnsmos_models" if personalized else "dnsmos_models") / "sig_bak_ovr.onnx"
        )
        p808 = models / "dnsmos_models" / "model_v8.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, num_threads)
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        scorer = dnsmos_module.DNSMOS.__new__(dnsmos_module.DNSMOS)
        scorer.primary_model_path = str(primary)
        scorer.onnx_sess = ort.InferenceSession(str(primary), options, providers=providers)
        scorer.p808_onnx_sess = ort.InferenceSession(str(p808), options, providers=providers)
        self._scorer = scorer
        self._personalized = personalized

    def score(self, samples: np.ndarray) -> dict[str, float]:
        """``dnsmos_ovrl``, ``dnsmos_sig``, ``dnsmos_bak``, ``dnsmos_p808`` (1..5 scale)."""
        audio = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
        result = self._scorer(audio, QUALITY_SAMPLE_RATE, self._personalized)
        return {
            "dnsmos_ovrl": float(result["ovrl_mos"]),
            "dnsmos_sig": float(result["sig_mos"]),
            "dnsmos_bak": float(result["bak_mos"]),
            "dnsmos_p808": float(result["p808_mos"]),
        }


@dataclass(frozen=True)
class SpeechActivity:
    """Where the voice activity detector found speech, as a sample mask."""

    mask: np.ndarray  # bool, one per sample

    @property
    def speech_seconds(self) -> float:
        return float(self.mask.sum()) / QUALITY_SAMPLE_RATE

    @property
    def silence_ratio(self) -> float:
        """Share of the clip that is not speech (0 = all speech, 1 = no speech)."""
        return 1.0 - float(self.mask.mean()) if self.mask.size else 1.0


class VoiceActivityDetector:
    """silero-vad (TorchScript, packaged) that leaves torch's thread setting as it found it."""

    def __init__(self, threshold: float = 0.5) -> None:
        import torch

        threads = torch.get_num_threads()
        from silero_vad import load_silero_vad

        self._model = load_silero_vad()
        torch.set_num_threads(threads)
        self.threshold = threshold

    def detect(self, samples: np.ndarray) -> SpeechActivity:
        import torch
        from silero_vad import get_speech_timestamps

        audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
        spans = get_speech_timestamps(
            audio, self._model, threshold=self.threshold, sampling_rate=QUALITY_SAMPLE_RATE
        )
        mask = np.zeros(audio.shape[0], dtype=bool)
        for span in spans:
            mask[span["start"] : span["end"]] = True
        return SpeechActivity(mask)


def estimate_snr_db(
    samples: np.ndarray, activity: SpeechActivity, *, frame_ms: int = 20
) -> float | None:
    """Speech-to-noise ratio in dB, or None when the VAD found no speech.

    The clip is cut into ``frame_ms`` frames. The noise power is the mean
    power of the quietest 10% of frames (the VAD's own pauses proved too
    unreliable on synthetic speech); the speech power is the mean power of the
    frames the VAD calls speech, minus the noise power. Digital silence puts
    the noise floor at -100 dBFS, so clean synthetic speech scores 60-100 dB.
    """
    frame = QUALITY_SAMPLE_RATE * frame_ms // 1000
    count = len(samples) // frame
    if count == 0:
        return None
    audio = np.asarray(samples[: count * frame], dtype=np.float64).reshape(count, frame)
    power = np.mean(audio**2, axis=1)
    is_speech = activity.mask[: count * frame].reshape(count, frame).mean(axis=1) >= 0.5
    if not is_speech.any():
        return None
    quietest = np.sort(power)[: max(1, count // 10)]
    noise_power = max(float(np.mean(quietest)), _NOISE_FLOOR_POWER)
    signal_power = max(float(np.mean(power[is_speech])) - noise_power, _NOISE_FLOOR_POWER)
    return 10.0 * math.log10(signal_power / noise_power)


def real_time_factor(synthesis_seconds: float | None, audio_seconds: float) -> float | None:
    """Synthesis time over audio duration (below 1 = faster than real time)."""
    if synthesis_seconds is None or audio_seconds <= 0:
        return None
    return float(synthesis_seconds) / audio_seconds
