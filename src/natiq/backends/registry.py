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
    ``device`` ("auto", "cpu", "cuda"), ``quantize`` (bool). A ``model`` or
    ``checkpoint`` given as ``hf://owner/repo[@revision]`` is fetched (or
    taken from the Hugging Face cache) and passed on as a local folder.
    """
    from natiq.common.hub import resolve_model_reference

    cls = backend_class(name)
    for key in ("model", "checkpoint"):
        if options.get(key) is not None:
            options[key] = resolve_model_reference(options[key])
    return cls.load(**options)  # type: ignore[attr-defined]
