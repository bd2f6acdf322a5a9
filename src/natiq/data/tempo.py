"""Speaking faster or slower without changing the voice's pitch.

``time_stretch`` changes the tempo of float32 mono speech by ``speed``
(2.0 = twice as fast, half as long) and keeps its pitch and timbre. It runs
the Rubber Band library's finer "R3" engine through its command-line tool
(Debian ``rubberband-cli``, installed by ``scripts/setup.sh``) by way of
``pyrubberband``; Rubber Band runs in its own process, so natiq links no GPL
code. ``benchmarks/time_stretch.py`` compares it with SoX's WSOLA, audiotsm,
librosa's phase vocoder and PyTSMod on speech (docs/speaking.md, "Speed"):
it had the best intelligibility and predicted MOS, at 12-40x real time on
one core.

The output has exactly ``round(len(samples) / speed)`` samples, so a caller
can place word timings and pauses by arithmetic. This module only transforms
samples: which audio is stretched (a whole sentence, never a stream chunk) is
the ``Synthesizer``'s decision.
"""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np

from natiq.common.errors import OptionError

MIN_SPEED = 0.25
MAX_SPEED = 4.0
RUBBERBAND = "rubberband"
# Rubber Band needs some context: shorter clips are padded with silence first
_MIN_INPUT_S = 0.25
_ENGINE_ARGS = {"--fine": ""}  # the R3 engine (Rubber Band >= 3.0)


class TimeStretchUnavailable(OptionError):
    """``speed`` was asked for but the Rubber Band tool is not installed."""


def check_speed(speed: float) -> float:
    """``speed`` as a float, or ``OptionError`` when it is outside 0.25-4.0."""
    if isinstance(speed, bool) or not isinstance(speed, int | float):
        raise OptionError(f"speed must be a number from {MIN_SPEED} to {MAX_SPEED}, got {speed!r}")
    if not (math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED):
        raise OptionError(f"speed must be from {MIN_SPEED} to {MAX_SPEED}, got {speed}")
    return float(speed)


def stretch_available() -> bool:
    """Whether speeds other than 1.0 can be made here (the Rubber Band tool is on PATH)."""
    return shutil.which(RUBBERBAND) is not None


def require_stretch(speed: float) -> None:
    """Raise ``TimeStretchUnavailable`` when ``speed`` != 1 and it cannot be made here."""
    if check_speed(speed) != 1.0 and not stretch_available():
        raise TimeStretchUnavailable(
            f"speed {speed} needs the Rubber Band tool '{RUBBERBAND}', which is not installed: "
            "apt-get install rubberband-cli (scripts/setup.sh does it), or use speed 1.0"
        )


def stretched_length(num_samples: int, speed: float) -> int:
    """Samples of ``num_samples`` played at ``speed``."""
    return round(num_samples / speed)


def time_stretch(samples: np.ndarray, sample_rate: int, speed: float) -> np.ndarray:
    """``samples`` at ``speed`` times the tempo, pitch kept; exactly ``stretched_length`` samples."""
    speed = check_speed(speed)
    audio = np.asarray(samples, dtype=np.float32).reshape(-1)
    if speed == 1.0 or audio.size == 0:
        return audio.copy()
    require_stretch(speed)
    import pyrubberband

    target = stretched_length(audio.size, speed)
    minimum = round(_MIN_INPUT_S * sample_rate)
    padded = np.pad(audio, (0, max(0, minimum - audio.size)))
    try:
        out = pyrubberband.time_stretch(padded, sample_rate, speed, rbargs=dict(_ENGINE_ARGS))
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        raise TimeStretchUnavailable(
            f"the Rubber Band tool failed to change the speed to {speed} ({exc}); "
            "check that 'rubberband --version' runs and reports 3.0 or newer"
        ) from None
    out = np.asarray(out, dtype=np.float32).reshape(-1)[:target]
    if out.size < target:
        out = np.pad(out, (0, target - out.size))
    return out
