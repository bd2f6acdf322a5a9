"""Mimi-encoding a corpus once, so training never runs the codec encoder.

``extract_latents`` reads an utterance manifest (``metadata.jsonl``, see
docs/architecture.md), encodes each utterance with the base model's Mimi
encoder and writes:

- ``latents/<id>.safetensors``: one file per utterance, tensor ``latents``
  [num_frames, 32] float32, raw (un-normalized) Mimi latents at 12.5 frames/s
  of the audio up to ``trail_seconds`` after the last speech (silero-vad; see
  ``speech_marks``), encoded on its own; the file's metadata holds the speech
  marks. One file per utterance keeps resume trivial (a file exists = done;
  files are written atomically) and lets a trainer read any subset lazily.
- ``metadata_latents.jsonl``: the manifest records plus ``latents`` (path
  relative to this manifest's folder), ``num_frames``, ``speech_end``
  (seconds) and ``prompt_cuts``: the frame counts at which a voice prompt taken
  from the start of this utterance ends in a pause. Mimi's encoder is causal,
  so ``latents[:k]`` is exactly that prompt encoded on its own; this is
  checked on the first utterance of every run.
- ``latents_rejects.jsonl``: ``id``, ``reason``, ``detail``, ``line`` for each
  utterance that could not be encoded: ``record`` (a row the manifest reader
  refused: missing field, unsafe or duplicate id, ...) or ``audio`` (missing or
  unreadable audio).
- ``latents_config.json``: the base that encoded them and the speech-trim
  settings; a resume with another base or other settings is refused (mixing
  them would silently corrupt training).
- ``latent_stats.json``: per-dimension mean/std over all frames, what
  ``set_latent_stats`` needs for a randomly initialised base.

It must not load a FlowLM for training or know about text tokenization.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from natiq.backends.pocket.recipe import SpeechTrimSettings
from natiq.backends.pocket.speech_marks import SpeechMarks, analyze
from natiq.common.errors import AudioInputError, DataFormatError, ModelLoadError
from natiq.common.files import atomic_path, atomic_write_json, write_jsonl
from natiq.common.rows import Rows
from natiq.data.manifest import read_manifest

LATENTS_MANIFEST = "metadata_latents.jsonl"
LATENTS_REJECTS = "latents_rejects.jsonl"
LATENTS_CONFIG = "latents_config.json"
LATENT_STATS = "latent_stats.json"
LATENTS_SUBDIR = "latents"
LATENT_KEY = "latents"
MARKS_KEY = "natiq_speech_marks"
# Largest difference allowed between a prefix encoded alone and the same frames of the whole.
CAUSAL_TOLERANCE = 1e-4


@dataclass
class LatentsSummary:
    """What ``extract_latents`` did: counts, the files it wrote, and why items were rejected."""

    manifest: Path
    encoded: int = 0
    reused: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    total_frames: int = 0

    @property
    def written(self) -> int:
        return self.encoded + self.reused


@torch.no_grad()
def encode_audio(tts_model: Any, samples_24k: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Raw Mimi latents of mono audio at the model's sample rate.

    ``samples_24k``: [T] or [B, T] float samples. Returns [F, 32] or [B, F, 32]
    float32 on the model's device, F = ceil(T / 1920) at 24 kHz.
    """
    audio = torch.as_tensor(
        np.asarray(samples_24k) if not torch.is_tensor(samples_24k) else samples_24k
    )
    squeeze = audio.dim() == 1
    if audio.dim() not in (1, 2) or audio.shape[-1] == 0:
        raise AudioInputError(
            f"expected [T] or [B, T] non-empty audio, got shape {tuple(audio.shape)}"
        )
    audio = audio.reshape(-1, 1, audio.shape[-1]).to(
        device=_model_device(tts_model), dtype=torch.float32
    )
    latents = tts_model.mimi.encode_to_latent(audio).to(torch.float32)
    return latents[0] if squeeze else latents


def extract_latents(
    metadata: Path,
    output_dir: Path,
    *,
    base: str | Path = "english",
    device: str = "auto",
    limit: int | None = None,
    tts_model: Any = None,
    trim: SpeechTrimSettings | None = None,
) -> LatentsSummary:
    """Encode every utterance of ``metadata`` into ``output_dir`` (resumable; see the module docstring).

    ``tts_model`` may be given to reuse an already loaded base (``base`` then
    only names it in ``latents_config.json``). ``trim`` says where targets end
    and how pauses are found (default: ``SpeechTrimSettings()``). Raises
    ``ModelLoadError`` when the base's Mimi encoder is the all-zero one of the
    ungated release, or is not causal.
    """
    from natiq.backends.pocket.base_model import load_base, require_mimi_encoder
    from natiq.backends.pocket.forward import compute_latent_stats
    from natiq.data.audio import load_audio

    trim = trim or SpeechTrimSettings()
    metadata = Path(metadata)
    output_dir = Path(output_dir)
    records = read_manifest(metadata, lenient=True)
    if not records and not records.bad:
        raise DataFormatError(f"{metadata}: the manifest has no utterances")
    if limit is not None:
        records = Rows(records[:limit], records.bad)
    _check_same_settings(output_dir, base, trim)

    model = tts_model if tts_model is not None else load_base(base, device=device)
    require_mimi_encoder(model, base)
    sample_rate = int(model.sample_rate)
    frame_rate = float(model.config.mimi.frame_rate)
    frame_samples = round(sample_rate / frame_rate)
    atomic_write_json(
        output_dir / LATENTS_CONFIG,
        {
            "base": str(base),
            "sample_rate": sample_rate,
            "frame_rate": frame_rate,
            "latent_key": LATENT_KEY,
            "speech_trim": trim.model_dump(),
        },
    )

    summary = LatentsSummary(manifest=output_dir / LATENTS_MANIFEST)
    summary.rejected = [
        {"id": bad.id, "line": bad.line, "reason": "record", "detail": bad.reason}
        for bad in records.bad
    ]
    out_records: list[dict[str, Any]] = []
    checked_encoder = False
    for record in records:
        utt_id, line = record.id, record.line
        relative = f"{LATENTS_SUBDIR}/{utt_id}.safetensors"
        target = output_dir / relative
        existing = _read_existing(target)
        if existing is not None:
            latents, marks = existing
            summary.reused += 1
        else:
            try:
                samples, _ = load_audio(record.audio, target_sr=sample_rate)
            except AudioInputError as exc:
                summary.rejected.append(
                    {"id": utt_id, "line": line, "reason": "audio", "detail": str(exc)}
                )
                continue
            marks = analyze(samples, sample_rate, trim, frame_samples=frame_samples)
            samples = samples[: max(1, round(marks.end * sample_rate))]
            latents = encode_audio(model, samples).cpu()
            if not checked_encoder:
                check_latents_vary(latents, base)
                _check_causal(model, samples, latents, frame_samples, base)
                checked_encoder = True
            _write_latents(target, latents, marks)
            summary.encoded += 1
        summary.total_frames += int(latents.shape[0])
        out_records.append(
            {
                **record.to_dict(relative_to=output_dir.resolve()),
                "latents": relative,
                "num_frames": int(latents.shape[0]),
                "speech_end": round(marks.speech_end, 4),
                "prompt_cuts": [k for k in marks.prompt_cuts if k <= latents.shape[0]],
            }
        )

    summary.rejected.sort(key=lambda reject: reject["line"])
    write_jsonl(output_dir / LATENTS_REJECTS, summary.rejected)
    write_jsonl(summary.manifest, out_records)
    if out_records:  # re-read lazily: a large corpus' latents never sit in memory together
        mean, std = compute_latent_stats(
            load_latents(output_dir / r["latents"]) for r in out_records
        )
        atomic_write_json(
            output_dir / LATENT_STATS,
            {"mean": mean.tolist(), "std": std.tolist(), "num_frames": summary.total_frames},
        )
    return summary


def load_latents(path: str | Path) -> torch.Tensor:
    """Read one utterance's [num_frames, 32] latents written by ``extract_latents``."""
    from safetensors.torch import load_file

    source = Path(path)
    if not source.is_file():
        raise DataFormatError(f"{source}: latents file not found; run `natiq pocket latents` again")
    try:
        return load_file(str(source))[LATENT_KEY]
    except Exception as exc:
        raise DataFormatError(f"{source}: unreadable latents file ({exc})") from None


def load_latent_stats(latents_dir: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(mean, std)`` written beside a latents manifest."""
    source = Path(latents_dir) / LATENT_STATS
    if not source.is_file():
        raise DataFormatError(f"{source}: no latent statistics; run `natiq pocket latents` first")
    data = json.loads(source.read_text(encoding="utf-8"))
    return torch.tensor(data["mean"], dtype=torch.float32), torch.tensor(
        data["std"], dtype=torch.float32
    )


def _read_existing(path: Path) -> tuple[torch.Tensor, SpeechMarks] | None:
    """A finished utterance's latents and marks; None (encode again) if missing or damaged."""
    if not path.is_file():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            stored = (handle.metadata() or {}).get(MARKS_KEY)
        if not stored:
            return None  # written before speech marks existed: encode it again
        latents = load_latents(path)
        return latents, SpeechMarks.from_record(json.loads(stored))
    except (DataFormatError, OSError, ValueError, KeyError, TypeError):
        return None  # a damaged file is re-encoded


def _write_latents(path: Path, latents: torch.Tensor, marks: SpeechMarks) -> None:
    from safetensors.torch import save_file

    stored = json.dumps(marks.to_record())
    with atomic_path(path) as tmp:
        save_file({LATENT_KEY: latents.contiguous()}, str(tmp), metadata={MARKS_KEY: stored})


def _check_same_settings(output_dir: Path, base: str | Path, trim: SpeechTrimSettings) -> None:
    config_file = output_dir / LATENTS_CONFIG
    if not config_file.is_file():
        return
    recorded = json.loads(config_file.read_text(encoding="utf-8"))
    previous = recorded.get("base")
    if previous != str(base):
        raise DataFormatError(
            f"{config_file}: these latents were made with base {previous!r}, not {str(base)!r}; "
            "use another --output-dir or the same --base"
        )
    previous_trim = recorded.get("speech_trim")
    if previous_trim != trim.model_dump():
        raise DataFormatError(
            f"{config_file}: these latents were made with speech-trim settings {previous_trim}, "
            f"not {trim.model_dump()}; use another --output-dir or the same settings"
        )


def _check_causal(
    model: Any, samples: np.ndarray, latents: torch.Tensor, frame_samples: int, base: str | Path
) -> None:
    """Prompts are sliced from stored latents: that is only their own encoding if Mimi is causal."""
    frames = latents.shape[0] // 2
    if frames < 1:
        return
    alone = encode_audio(model, samples[: frames * frame_samples]).cpu()
    scale = float(latents.abs().max()) or 1.0
    if float((alone - latents[:frames]).abs().max()) > CAUSAL_TOLERANCE * max(1.0, scale):
        raise ModelLoadError(
            f"base {base!s}: its Mimi encoder is not causal (a prefix encoded alone differs from "
            "the same frames of the whole utterance), so voice prompts cannot be sliced from "
            "stored latents; natiq supports pocket-tts' causal Mimi only"
        )


def check_latents_vary(latents: torch.Tensor, base: str | Path | None) -> None:
    """Raise ``ModelLoadError`` when an utterance encodes to constant latents (a dead encoder)."""
    if latents.shape[0] > 1 and float(latents.std(dim=0).max()) == 0.0:
        raise ModelLoadError(
            f"base {base!s} encodes audio into constant latents: its Mimi encoder is not usable "
            "(the ungated release zeroes it). Accept the licence of the gated kyutai/pocket-tts "
            "repository at https://huggingface.co/kyutai/pocket-tts, log in with `hf auth login`, "
            "and load the base with network access."
        )


def _model_device(tts_model: Any) -> torch.device:
    return next(tts_model.mimi.parameters()).device
