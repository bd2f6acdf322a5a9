"""The server's voice store: reference clips kept on disk under ids it made.

A client uploads a clip and its transcript. The clip's header is checked
first (``soundfile.info``: length, rate, channels), so a small file that would
decode into hours of audio is refused before any decoding; then it is decoded
(never past the duration limit) and checked (not silent, finite samples), and
re-encoded as a mono 16-bit wav under ``<root>/<id>/``. Ids are random hex
strings made here and validated by pattern before any path is built, so no
client string ever becomes a file path.

Voices are found by id or by their unique display name through an index kept
in memory (read once at start), so a lookup never touches the disk. Names
cannot look like an id or be a word that already means something (``default``
and the OpenAI preset names).
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from natiq.backends.base import VoicePrompt
from natiq.common.errors import AudioInputError, InputTextError, NatiqError
from natiq.common.files import atomic_path, atomic_write_json
from natiq.data.audio import to_mono

log = logging.getLogger("natiq.serve")

VOICE_ID = re.compile(r"v_[0-9a-f]{16}")
NAME = re.compile(r"[^\W_][\w\- ]{0,63}")
SILENCE_PEAK = 1e-3
MAX_CHANNELS = 8
RATE_RANGE = (8000, 192_000)
MAX_TRANSCRIPT_CHARS = 1000


class VoiceStoreFull(NatiqError):
    """The server keeps as many voices as it is allowed to (507)."""


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
    """Check an uploaded clip's header, then decode and check it; raises ``AudioInputError``."""
    if not data:
        raise AudioInputError("the uploaded voice file is empty")
    if len(data) > limits.max_bytes:
        raise AudioInputError(
            f"the uploaded voice file is {len(data)} bytes; the limit is {limits.max_bytes}"
        )
    try:
        with sf.SoundFile(io.BytesIO(data)) as audio:
            rate, channels, frames = audio.samplerate, audio.channels, audio.frames
            _check_header(rate, channels, frames, limits)
            # frames may be an estimate (mp3, ogg): never decode past the limit
            most = int(limits.max_seconds * rate) + 1
            samples = audio.read(frames=min(frames, most), dtype="float32", always_2d=True)
    except AudioInputError:
        raise
    except Exception:  # libsndfile reports corrupt input with several exception types
        raise AudioInputError(
            "the uploaded voice file is not readable audio (wav, flac, ogg or mp3)"
        ) from None
    samples = to_mono(samples)
    _check_duration(samples.size / float(rate), limits)
    if not np.isfinite(samples).all() or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise AudioInputError(
            "the voice clip is silent (or holds invalid samples); record some speech"
        )
    return np.ascontiguousarray(samples, dtype=np.float32), int(rate)


def _check_header(rate: int, channels: int, frames: int, limits: UploadLimits) -> None:
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise AudioInputError(
            f"the voice clip's sample rate is {rate} Hz; use {RATE_RANGE[0]}-{RATE_RANGE[1]} Hz"
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioInputError(f"the voice clip has {channels} channels; use mono or stereo")
    _check_duration(frames / float(rate), limits)


def _check_duration(duration: float, limits: UploadLimits) -> None:
    if not limits.min_seconds <= duration <= limits.max_seconds:
        raise AudioInputError(
            f"the voice clip lasts {duration:.2f} s; it must last between "
            f"{limits.min_seconds:g} and {limits.max_seconds:g} s"
        )


class VoiceStore:
    """Voices on disk, indexed in memory. Thread-safe."""

    def __init__(
        self,
        root: Path,
        limits: UploadLimits,
        *,
        max_voices: int = 1000,
        reserved_names: Iterable[str] = (),
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.limits = limits
        self.max_voices = max_voices
        self.reserved = frozenset(name.casefold() for name in reserved_names)
        self._lock = threading.Lock()
        self._by_id: dict[str, Voice] = {}
        self._by_name: dict[str, str] = {}
        for folder in sorted(self.root.iterdir()):
            voice = self._read(folder)
            if voice is not None:
                self._index(voice)

    def _read(self, folder: Path) -> Voice | None:
        if not VOICE_ID.fullmatch(folder.name) or not (folder / "voice.json").is_file():
            return None
        try:
            voice = Voice(**json.loads((folder / "voice.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            log.warning("skipping the unreadable voice folder %s", folder.name)
            return None
        return voice if voice.id == folder.name else None

    def _index(self, voice: Voice) -> None:
        self._by_id[voice.id] = voice
        self._by_name[voice.name] = voice.id

    def check_name(self, name: str) -> None:
        if not NAME.fullmatch(name):
            raise InputTextError(
                "a voice name has 1-64 letters, digits, spaces, '-' or '_' and starts with a letter or digit"
            )
        if name.casefold() in self.reserved or VOICE_ID.fullmatch(name.casefold()):
            raise InputTextError(
                f"{name!r} cannot be a voice name: it already means the default voice or a voice id"
            )

    def add(self, data: bytes, *, name: str | None, text: str | None) -> Voice:
        """Validate and store an uploaded clip; returns the new voice."""
        if name is not None:
            self.check_name(name)
        if text is not None and len(text) > MAX_TRANSCRIPT_CHARS:
            raise InputTextError(
                f"the voice transcript is longer than {MAX_TRANSCRIPT_CHARS} characters"
            )
        with self._lock:
            self._check_room(name)
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
            self._check_room(name)
            folder = self.root / voice_id
            with atomic_path(folder / "reference.wav") as tmp:
                sf.write(str(tmp), samples, rate, subtype="PCM_16", format="WAV")
            atomic_write_json(folder / "voice.json", voice.public())
            self._index(voice)
        return voice

    def _check_room(self, name: str | None) -> None:
        if name is not None and name in self._by_name:
            raise InputTextError(f"a voice named {name!r} exists already; choose another name")
        if len(self._by_id) >= self.max_voices:
            raise VoiceStoreFull(
                f"this server keeps at most {self.max_voices} voices; delete some first"
            )

    def get(self, voice_id: str) -> Voice | None:
        return self._by_id.get(voice_id)

    def list(self) -> list[Voice]:
        with self._lock:
            voices = list(self._by_id.values())
        return sorted(voices, key=lambda v: v.created)

    def find(self, ref: str) -> Voice | None:
        """A voice by id, else by display name."""
        with self._lock:
            voice = self._by_id.get(ref)
            if voice is None and ref in self._by_name:
                voice = self._by_id.get(self._by_name[ref])
        return voice

    def delete(self, voice_id: str) -> bool:
        if not VOICE_ID.fullmatch(voice_id):
            return False
        with self._lock:
            voice = self._by_id.pop(voice_id, None)
            if voice is None:
                return False
            self._by_name.pop(voice.name, None)
            shutil.rmtree(self.root / voice_id, ignore_errors=True)
        return True

    def prompt(self, voice: Voice) -> VoicePrompt:
        return VoicePrompt(audio=self.root / voice.id / "reference.wav", text=voice.text)
