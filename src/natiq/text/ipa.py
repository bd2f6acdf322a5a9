"""IPA phonemes from espeak-ng's Arabic voice (the optional ``ipa`` scheme).

espeak-ng is a system program (``apt-get install espeak-ng``), called once per
line through a subprocess. It mispronounces shadda written after the short
vowel (NFC's order), so the text is normalized first, which writes shadda
before the vowel.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from natiq.common.errors import NatiqError
from natiq.text.normalize import normalize

ESPEAK_VOICE = "ar"
# espeak-ng marks a switch to another language's voice as "(en)" ... "(ar)".
_LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")


class PhonemizerUnavailableError(NatiqError, RuntimeError):
    """espeak-ng is not installed or failed."""


def espeak_binary() -> str:
    """Path of espeak-ng (or espeak); a clear error if neither is installed."""
    for name in ("espeak-ng", "espeak"):
        path = shutil.which(name)
        if path:
            return path
    raise PhonemizerUnavailableError(
        "the 'ipa' scheme needs espeak-ng: install it with `sudo apt-get install espeak-ng` "
        "(or your system's package manager) and make sure it is on PATH"
    )


def phonemize(text: str, *, voice: str = ESPEAK_VOICE) -> str:
    """IPA for ``text`` as one line (espeak-ng's clause breaks become spaces)."""
    lines = [normalize(line) for line in text.splitlines()]
    if not any(lines):
        return ""
    binary = espeak_binary()
    try:
        result = subprocess.run(
            [binary, "-v", voice, "-q", "--ipa", "--stdin"],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=max(30.0, len(text) / 2000),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PhonemizerUnavailableError(f"espeak-ng failed to run: {exc}") from None
    if result.returncode != 0:
        raise PhonemizerUnavailableError(
            f"espeak-ng exited with status {result.returncode}: {result.stderr.strip()[:300]}"
        )
    # espeak-ng may break one input line into several clauses; join them back.
    phonemes = " ".join(part.strip() for part in result.stdout.splitlines() if part.strip())
    return _LANGUAGE_SWITCH.sub("", phonemes)
