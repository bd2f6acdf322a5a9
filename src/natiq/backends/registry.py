"""Find a backend by name without importing the others.

``load_backend("pocket", ...)`` imports only Pocket TTS; ``"higgs"`` only
transformers' Higgs classes. The server and CLI call this and nothing else;
it checks the options against what the backend declares before loading
anything, so a wrong option fails in milliseconds, not after the weights.
"""

from __future__ import annotations

import importlib
from typing import Any

from natiq.backends.base import SpeechBackend
from natiq.common.errors import OptionError

_BACKENDS: dict[str, str] = {
    "pocket": "natiq.backends.pocket.synthesis:PocketBackend",
    "higgs": "natiq.backends.higgs.synthesis:HiggsBackend",
}

BACKEND_NAMES = tuple(_BACKENDS)


def backend_class(name: str) -> type[SpeechBackend]:
    try:
        target = _BACKENDS[name]
    except KeyError:
        raise OptionError(
            f"unknown backend {name!r}; choose one of: {', '.join(_BACKENDS)}"
        ) from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def load_backend(name: str, **options: Any) -> SpeechBackend:
    """Check ``options`` against backend ``name``'s declared ones, then ``load(**options)`` it.

    Every backend takes ``model`` (name, YAML/config path or hf:// id),
    ``checkpoint`` (a natiq training checkpoint, export dir or adapter dir),
    ``device`` ("auto", "cpu", "cuda") and ``quantize``; the rest are its
    ``load_options``. An option set to ``None`` counts as not given. A
    ``model`` or ``checkpoint`` given as ``hf://owner/repo[@revision]`` is
    fetched (or taken from the Hugging Face cache) and passed on as a local
    folder.
    """
    from natiq.common.hub import resolve_model_reference

    cls = backend_class(name)
    given = {key: value for key, value in options.items() if value is not None}
    cls.check_load_options(given)
    for key in ("model", "checkpoint"):
        if key in given:
            given[key] = resolve_model_reference(given[key])
    return cls.load(**given)
