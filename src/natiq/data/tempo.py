"""Speaking rate: speech made slower or faster with its pitch kept.

Used for the ``speed`` control (OpenAI ``speed``, ``natiq speak --speed``) and
the SSML ``<prosody rate>`` of a sentence: the audio the model made is
stretched to ``round(len / rate)`` samples, exactly, so callers can place
pauses and word timings by arithmetic.

The stretching is the Rubber Band library's finer "R3" engine, run through
its command-line tool (Debian ``rubberband-cli``, installed by
``scripts/setup.sh``) by way of ``pyrubberband``. Rubber Band runs in its own
process, so natiq links no GPL code. ``benchmarks/time_stretch.py`` compared
it on speech with ffmpeg's WSOLA ``atempo`` (in-process through PyAV), SoX's
WSOLA ``tempo``, audiotsm, librosa's phase vocoder and PyTSMod: R3 had the
best predicted MOS and near-best Whisper intelligibility at 0.5x, 1.5x and
2x, at 19-100x real time on one core (docs/speaking.md, "Speaking rate").
When the tool is missing a rate other than 1 is a ``TimeStretchUnavailable``
error saying what to install, never a silently different algorithm.

This module only transforms samples: which audio is stretched (a whole
sentence, never a stream chunk) is the ``Synthesizer``'s decision.
"""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np

from natiq.common.errors import OptionError

MIN_RATE, MAX_RATE = 0.25, 4.0
RUBBERBAND = "rubberband"
# Rubber Band needs some context: shorter clips are padded with silence first
_MIN_INPUT_S = 0.25
_ENGINE_ARGS = {"--fine": ""}  # the R3 engine (Rubber Band >= 3.0)


class TimeStretchUnavailable(OptionError):
    """A rate other than 1 was asked for but the Rubber Band tool cannot run here."""


def check_rate(rate: float, name: str = "speed") -> float:
    """``rate`` as a float, or ``OptionError`` when it is not a number from 0.25 to 4.0."""
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise OptionError(f"{name} must be a number from {MIN_RATE} to {MAX_RATE}, not {rate!r}")
    if not (math.isfinite(rate) and MIN_RATE <= rate <= MAX_RATE):
        raise OptionError(f"{name} must be from {MIN_RATE} to {MAX_RATE}, not {rate}")
    return float(rate)


def stretch_available() -> bool:
    """Whether rates other than 1.0 can be made here (the Rubber Band tool is on PATH)."""
    return shutil.which(RUBBERBAND) is not None


def require_stretch(rate: float, name: str = "speed") -> float:
    """``check_rate``, and ``TimeStretchUnavailable`` when ``rate`` != 1 cannot be made here."""
    rate = check_rate(rate, name)
    if rate != 1.0 and not stretch_available():
        raise TimeStretchUnavailable(
            f"{name} {rate:g} needs the Rubber Band tool '{RUBBERBAND}', which is not "
            "installed: apt-get install rubberband-cli (scripts/setup.sh does it), or use 1.0"
        )
    return rate


def stretched_length(num_samples: int, rate: float) -> int:
    """Samples that ``num_samples`` last at ``rate``."""
    return round(num_samples / rate)


def change_tempo(audio: np.ndarray, rate: float, sample_rate: int) -> np.ndarray:
    """``audio`` (float32 mono) spoken ``rate`` times as fast, same pitch; ``stretched_length`` samples."""
    rate = check_rate(rate, "rate")
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    if rate == 1.0 or samples.size == 0:
        return samples.copy()
    require_stretch(rate, "rate")
    import pyrubberband

    target = stretched_length(samples.size, rate)
    padded = np.pad(samples, (0, max(0, round(_MIN_INPUT_S * sample_rate) - samples.size)))
    try:
        out = pyrubberband.time_stretch(padded, sample_rate, rate, rbargs=dict(_ENGINE_ARGS))
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        raise TimeStretchUnavailable(
            f"the Rubber Band tool failed to change the rate to {rate:g} ({exc}); "
            f"check that '{RUBBERBAND} --version' runs and reports 3.0 or newer"
        ) from None
    out = np.asarray(out, dtype=np.float32).reshape(-1)[:target]
    return np.pad(out, (0, target - out.size))
