"""The exceptions natiq raises on purpose.

Every error a user can cause (bad text, a bad file, a missing weight) is a
``NatiqError`` subclass with a message that says what to do. The CLI prints
these without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class NatiqError(Exception):
    """Base class of errors caused by input or environment, not by a bug."""


class InputTextError(NatiqError, ValueError):
    """The text cannot be turned into speech (empty, nothing speakable, ...)."""


class SsmlError(InputTextError):
    """SSML that natiq cannot read: malformed (with its line and column) or outside the subset."""


class AudioInputError(NatiqError, ValueError):
    """An audio file is unreadable, empty, silent or otherwise unusable."""


class DataFormatError(NatiqError, ValueError):
    """A manifest, ChatML file or config has missing or malformed fields.

    Messages name the file and, for line-based formats, the line number.
    """


class OptionError(NatiqError, ValueError):
    """An option the chosen backend does not take, or an option value out of range.

    The same message for every backend: an option is never silently ignored.
    """


class ModelLoadError(NatiqError, RuntimeError):
    """Weights or a config could not be found, read, or do not match."""


class TimingsUnavailableError(ModelLoadError):
    """The word-timing model could not be loaded: speech can still be made, without word timings."""


class CheckpointMismatchError(ModelLoadError):
    """A checkpoint was made for another base model or text front-end."""


class RecipeError(NatiqError):
    """A recipe cannot run as asked (a stage out of order, an earlier stage missing or stale)."""
