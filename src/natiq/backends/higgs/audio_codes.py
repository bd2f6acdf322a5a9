"""Audio -> Higgs codes, once per file, cached on disk and resumable.

Any input rate is resampled to the tokenizer's rate (24 kHz) and stereo is
downmixed before encoding (``natiq.data.audio.load_audio``). Codes are
stored as ``<key>.safetensors`` (``codes``: ``(K, T)`` int16/int64) where the
key hashes the file's absolute path, size and modification time, so a
re-run skips what is done and an edited file is re-encoded. Each file is
written atomically; a killed run loses at most the file it was writing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from natiq.common.errors import AudioInputError, NatiqError
from natiq.common.files import atomic_path, atomic_write_json
from natiq.data.audio import load_audio


def read_for_tokenizer(
    path: str | Path, sample_rate: int, *, max_seconds: float | None = None
) -> np.ndarray:
    """Mono float32 at ``sample_rate``; ``AudioInputError`` for missing, unreadable, silent or too long audio."""
    samples, _ = load_audio(path, sample_rate, mono=True)
    seconds = samples.shape[0] / sample_rate
    if max_seconds is not None and seconds > max_seconds:
        raise AudioInputError(
            f"{path}: the clip is {seconds:.1f} s long, over the {max_seconds:g} s limit"
        )
    if float(np.abs(samples).max()) < 1e-4:
        raise AudioInputError(f"{path}: the clip is silent")
    return samples


@torch.no_grad()
def encode_samples(audio_tokenizer, samples: np.ndarray) -> torch.Tensor:
    """Mono samples at the tokenizer's rate -> ``(K, T)`` long codes on CPU."""
    param = next(audio_tokenizer.parameters())
    wave = torch.from_numpy(np.ascontiguousarray(samples)).to(param.device, param.dtype)[None, None]
    return audio_tokenizer.encode(wave, return_dict=True).audio_codes[0].long().cpu()


@torch.no_grad()
def decode_codes(audio_tokenizer, codes: torch.Tensor) -> np.ndarray:
    """``(K, T)`` codes -> float32 mono samples at the tokenizer's rate."""
    if codes.shape[-1] == 0:
        return np.zeros(0, dtype=np.float32)
    device = next(audio_tokenizer.parameters()).device
    audio = audio_tokenizer.decode(codes[None].to(device), return_dict=True).audio_values
    return audio.reshape(-1).float().cpu().numpy()


def encode_file(
    audio_tokenizer, path: str | Path, *, max_seconds: float | None = None
) -> torch.Tensor:
    samples = read_for_tokenizer(path, audio_tokenizer.config.sample_rate, max_seconds=max_seconds)
    return encode_samples(audio_tokenizer, samples)


def file_key(path: str | Path) -> str:
    source = Path(path).resolve()
    try:
        stat = source.stat()
    except OSError:
        raise AudioInputError(f"{path}: audio file not found") from None
    return hashlib.sha256(f"{source}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:32]


class CodeStore:
    """A folder of cached codes, one safetensors file per audio file."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path_for(self, audio: str | Path) -> Path:
        return self.directory / f"{file_key(audio)}.safetensors"

    def has(self, audio: str | Path) -> bool:
        return self.path_for(audio).is_file()

    def load(self, audio: str | Path) -> torch.Tensor:
        from safetensors.torch import load_file

        target = self.path_for(audio)
        if not target.is_file():
            raise NatiqError(
                f"{audio}: no cached codes in {self.directory} (it failed to encode, see "
                "tokenize_report.json there, or `natiq higgs tokenize` was not run)"
            )
        return load_file(str(target))["codes"].long()

    def save(self, audio: str | Path, codes: torch.Tensor) -> Path:
        from safetensors.torch import save_file

        target = self.path_for(audio)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            save_file(
                {"codes": codes.to(torch.int16).contiguous()},
                str(tmp),
                metadata={"audio": str(audio)},
            )
        return target


@dataclass
class TokenizeReport:
    encoded: int = 0
    cached: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"encoded": self.encoded, "cached": self.cached, "failed": self.failed}


def tokenize_files(
    audio_tokenizer,
    paths: Iterable[str | Path],
    store: CodeStore,
    *,
    max_seconds: float | None = None,
) -> TokenizeReport:
    """Encode every distinct file not yet in ``store``; failures are reported, not fatal."""
    report = TokenizeReport()
    seen: set[str] = set()
    for path in paths:
        name = str(Path(path).resolve())
        if name in seen:
            continue
        seen.add(name)
        try:
            if store.has(path):
                report.cached += 1
                continue
            store.save(path, encode_file(audio_tokenizer, path, max_seconds=max_seconds))
            report.encoded += 1
        except AudioInputError as exc:
            report.failed.append({"audio": str(path), "reason": str(exc)})
    atomic_write_json(store.directory / "tokenize_report.json", report.to_dict())
    return report
