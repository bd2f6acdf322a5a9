"""The server's voice store: reference clips kept on disk under ids it made.

A client uploads a clip and its transcript; the clip is decoded and checked
(readable audio, duration within limits, not silent) before anything is
written, then re-encoded as a mono 16-bit wav under ``<root>/<id>/``. Ids are
random hex strings made here and validated by pattern before any path is
built, so no client string ever becomes a file path. Voices are found by id
or by their (unique) display name.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from natiq.backends.base import VoicePrompt
from natiq.common.errors import AudioInputError, InputTextError
from natiq.common.files import atomic_path, atomic_write_json
from natiq.data.audio import to_mono

VOICE_ID = re.compile(r"^v_[0-9a-f]{16}$")
NAME = re.compile(r"^[\w\- ]{1,64}$")
SILENCE_PEAK = 1e-3


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    text: str | None
    duration: float
    sample_rate: int
    created: float

    def public(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    min_seconds: float
    max_seconds: float


def decode_upload(data: bytes, limits: UploadLimits) -> tuple[np.ndarray, int]:
    """Decode an uploaded clip and check it; raises ``AudioInputError`` with the reason."""
    if not data:
        raise AudioInputError("the uploaded voice file is empty")
    if len(data) > limits.max_bytes:
        raise AudioInputError(
            f"the uploaded voice file is {len(data)} bytes; the limit is {limits.max_bytes}"
        )
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    except Exception as exc:  # libsndfile reports corrupt input with several exception types
        raise AudioInputError(f"the uploaded voice file is not readable audio ({exc})") from None
    samples = to_mono(samples)
    duration = samples.size / float(rate) if rate else 0.0
    if not limits.min_seconds <= duration <= limits.max_seconds:
        raise AudioInputError(
            f"the voice clip lasts {duration:.2f} s; it must last between "
            f"{limits.min_seconds:g} and {limits.max_seconds:g} s"
        )
    if not np.isfinite(samples).all() or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise AudioInputError(
            "the voice clip is silent (or holds invalid samples); record some speech"
        )
    return np.ascontiguousarray(samples, dtype=np.float32), int(rate)


class VoiceStore:
    def __init__(self, root: Path, limits: UploadLimits) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.limits = limits
        self._lock = threading.Lock()

    def _dir(self, voice_id: str) -> Path | None:
        if not VOICE_ID.match(voice_id):
            return None
        return self.root / voice_id

    def add(self, data: bytes, *, name: str | None, text: str | None) -> Voice:
        """Validate and store an uploaded clip; returns the new voice."""
        if name is not None and not NAME.match(name):
            raise InputTextError("a voice name has 1-64 letters, digits, spaces, '-' or '_'")
        if text is not None and len(text) > 1000:
            raise InputTextError("the voice transcript is longer than 1000 characters")
        samples, rate = decode_upload(data, self.limits)
        voice_id = "v_" + secrets.token_hex(8)
        voice = Voice(
            id=voice_id,
            name=name or voice_id,
            text=(text or "").strip() or None,
            duration=round(samples.size / rate, 3),
            sample_rate=rate,
            created=time.time(),
        )
        with self._lock:
            if name is not None and self._find_by_name(name) is not None:
                raise InputTextError(f"a voice named {name!r} exists already; choose another name")
            folder = self.root / voice_id
            with atomic_path(folder / "reference.wav") as tmp:
                sf.write(str(tmp), samples, rate, subtype="PCM_16", format="WAV")
            atomic_write_json(folder / "voice.json", voice.public())
        return voice

    def get(self, voice_id: str) -> Voice | None:
        folder = self._dir(voice_id)
        if folder is None or not (folder / "voice.json").is_file():
            return None
        return Voice(**json.loads((folder / "voice.json").read_text(encoding="utf-8")))

    def list(self) -> list[Voice]:
        voices = [self.get(folder.name) for folder in self.root.iterdir() if folder.is_dir()]
        return sorted((v for v in voices if v is not None), key=lambda v: v.created)

    def _find_by_name(self, name: str) -> Voice | None:
        return next((voice for voice in self.list() if voice.name == name), None)

    def find(self, ref: str) -> Voice | None:
        """A voice by id, else by display name."""
        return self.get(ref) or self._find_by_name(ref)

    def delete(self, voice_id: str) -> bool:
        folder = self._dir(voice_id)
        if folder is None or not folder.is_dir():
            return False
        with self._lock:
            shutil.rmtree(folder)
        return True

    def prompt(self, voice: Voice) -> VoicePrompt:
        return VoicePrompt(audio=self.root / voice.id / "reference.wav", text=voice.text)
