"""Find a backend by name without importing the others.

``load_backend("pocket", ...)`` imports only Pocket TTS; ``"higgs"`` only
transformers' Higgs classes. The server and CLI call this and nothing else.
"""

from __future__ import annotations

import importlib
from typing import Any

from natiq.backends.base import SpeechBackend
from natiq.common.errors import NatiqError

_BACKENDS: dict[str, str] = {
    "pocket": "natiq.backends.pocket.synthesis:PocketBackend",
    "higgs": "natiq.backends.higgs.synthesis:HiggsBackend",
}

BACKEND_NAMES = tuple(_BACKENDS)


def backend_class(name: str) -> type[SpeechBackend]:
    try:
        target = _BACKENDS[name]
    except KeyError:
        raise NatiqError(
            f"unknown backend {name!r}; choose one of: {', '.join(_BACKENDS)}"
        ) from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def load_backend(name: str, **options: Any) -> SpeechBackend:
    """Instantiate backend ``name`` via its ``load(**options)`` classmethod.

    Common options: ``model`` (name, YAML/config path or hf:// id),
    ``checkpoint`` (a natiq training checkpoint, export dir or adapter dir),
    ``device`` ("auto", "cpu", "cuda"), ``quantize`` (bool).
    """
    return backend_class(name).load(**options)  # type: ignore[attr-defined]
