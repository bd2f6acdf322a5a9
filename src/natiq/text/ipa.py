"""IPA phonemes from espeak-ng's Arabic voice (the optional ``ipa`` scheme).

espeak-ng is a system program (``apt-get install espeak-ng``), called once per
line through a subprocess. It mispronounces shadda written after the short
vowel (NFC's order), so the text is normalized first, which writes shadda
before the vowel. The ``ipa`` scheme first rewrites the text as it is read
(``natiq.text.reading``: wasl elision, pausal forms), which espeak-ng does not
do itself; ``phonemize`` is the bare espeak-ng call.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from natiq.common.errors import NatiqError
from natiq.text import chars as C
from natiq.text.normalize import normalize
from natiq.text.reading import JOIN, read_aloud

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


# espeak-ng neither assimilates a joined article to a sun letter nor reads the
# lam of a joined Allah once: spell both as said.
_JOINED_SUN_ARTICLE = re.compile(JOIN + f"ل\u0652?(?=[{C.SUN_LETTERS}]\u0651)")
_JOINED_ALLAH = re.compile(JOIN + "ل(?=ل\u0651)")


def ipa_from_normalized(text: str, *, pausal: bool = True) -> str:
    """IPA of already-normalized text, read aloud first (wasl elision, pausal forms)."""
    text = read_aloud(text, pausal=pausal)
    if JOIN in text:
        text = _JOINED_SUN_ARTICLE.sub("", text)
        text = _JOINED_ALLAH.sub("", text).replace(JOIN, "")
    return phonemize(text)


def romanize_ipa(text: str, *, pausal: bool = True) -> str:
    """``normalize`` (diacritics kept), read aloud, then espeak-ng's IPA."""
    return ipa_from_normalized(normalize(text), pausal=pausal)
