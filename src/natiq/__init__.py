"""natiq: Arabic text-to-speech on Pocket TTS and Higgs Audio v2.

The package is layered so that cheap things stay cheap: ``natiq.text`` never
imports torch, and the public ``Synthesizer`` is imported lazily so that
``import natiq`` costs nothing until speech is actually wanted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from natiq.synthesizer import Synthesizer

__all__ = ["Synthesizer", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Synthesizer":
        from natiq.synthesizer import Synthesizer

        return Synthesizer
    raise AttributeError(f"module 'natiq' has no attribute {name!r}")
