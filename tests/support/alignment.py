"""One word aligner (Whisper base) per test process, joined into the session's temp folder."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

_lock = threading.Lock()
_aligner = None


def natiq_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``NATIQ_CACHE_DIR`` for the session (the packaged Whisper is joined there, once)."""
    return tmp_path_factory.getbasetemp() / "natiq-cache"


def shared_aligner(tmp_path_factory: pytest.TempPathFactory):
    """The ``WordAligner`` every test folder shares (loading Whisper costs about a second)."""
    global _aligner
    with _lock:
        if _aligner is None:
            from natiq.eval.alignment import AlignerConfig, WordAligner

            cache = natiq_cache(tmp_path_factory) / "whisper"
            _aligner = WordAligner(AlignerConfig(device="cpu", cpu_threads=1), cache_dir=cache)
        return _aligner
