"""Time-stretching libraries compared on speech, in one run: quality and speed.

Why this exists: natiq's ``speed`` control (OpenAI ``speed`` 0.25-4.0) changes
the tempo of generated speech without changing its pitch. This script is the
measurement behind the choice of library (docs/speaking.md, "Speaking rate").

Candidates (each skipped, with the reason, when it is not installed):

- ``natiq``: what natiq ships (``natiq.data.tempo.change_tempo``: Rubber Band R3 with
  exact output lengths);
- ``rubberband``: the Rubber Band CLI (Debian ``rubberband-cli``) through
  ``pyrubberband``, default R2 engine, and ``rubberband-r3`` (its finer engine);
- ``sox-tempo``: SoX's WSOLA ``tempo -s`` (speech mode), through a pipe;
- ``audiotsm-wsola``: audiotsm's WSOLA (pure numpy);
- ``librosa-pv``: librosa's phase vocoder (``librosa.effects.time_stretch``);
- ``pytsmod-wsola`` / ``pytsmod-hptsm``: PyTSMod's WSOLA and its
  harmonic-percussive TSM.

Speech: espeak-ng English sentences (Whisper base reads espeak English well,
so intelligibility can be scored) and an Arabic sentence, at 24 kHz. For each
candidate and speed (0.5, 1.5, 2.0 by default):

- ``dur%``: output duration against input / speed (error in percent);
- ``f0%``: median F0 (pYIN) of the output against the input's;
- ``cer``: Whisper-base character error rate of the English clips (the
  unstretched clips score ``cer`` at speed 1.0, printed first);
- ``ovrl``: DNSMOS P.835 overall (1..5) on the English clips;
- ``xRT``: seconds of audio processed per second of CPU wall time.

    PYTHONPATH=src .venv/bin/python benchmarks/time_stretch.py [--speeds 0.5 1.5 2.0]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

RATE = 24000
ENGLISH = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet again tomorrow morning at nine o'clock in the library.",
    "She sells sea shells by the sea shore every summer afternoon.",
    "Numbers like seventeen and forty two are easy to hear but hard to spell.",
    "The weather today is cold and windy, so take a warm coat with you.",
]
ARABIC = "ذهب الطالب إلى المكتبة صباحا ليقرأ كتابا جديدا عن تاريخ العلوم"

Stretch = Callable[[np.ndarray, float], np.ndarray]


def espeak(text: str, voice: str) -> np.ndarray:
    import soundfile as sf
    import soxr

    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], check=True, capture_output=True
    ).stdout
    import io

    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return soxr.resample(samples, rate, RATE).astype(np.float32)


def candidates() -> dict[str, Stretch | str]:
    """Name -> stretch function, or the reason it cannot run here."""
    found: dict[str, Stretch | str] = {}

    from natiq.data.tempo import change_tempo

    found["natiq"] = lambda audio, speed: change_tempo(audio, speed, RATE)
    found["ffmpeg-atempo"] = ffmpeg_atempo

    try:
        import pyrubberband

        if shutil.which("rubberband") is None:
            raise ImportError("the rubberband CLI (Debian rubberband-cli) is not installed")
        found["rubberband"] = lambda audio, speed: pyrubberband.time_stretch(audio, RATE, speed)
        found["rubberband-r3"] = lambda audio, speed: pyrubberband.time_stretch(
            audio, RATE, speed, rbargs={"-3": ""}
        )
    except ImportError as exc:
        found["rubberband"] = str(exc)

    if shutil.which("sox"):
        found["sox-tempo"] = sox_tempo
    else:
        found["sox-tempo"] = "sox is not installed"

    try:
        from audiotsm import wsola
        from audiotsm.io.array import ArrayReader, ArrayWriter

        def audiotsm_wsola(audio: np.ndarray, speed: float) -> np.ndarray:
            reader = ArrayReader(audio[np.newaxis, :])
            writer = ArrayWriter(channels=1)
            wsola(channels=1, speed=speed).run(reader, writer)
            return writer.data[0]

        found["audiotsm-wsola"] = audiotsm_wsola
    except ImportError as exc:
        found["audiotsm-wsola"] = str(exc)

    import librosa

    found["librosa-pv"] = lambda audio, speed: librosa.effects.time_stretch(audio, rate=speed)

    try:
        import pytsmod

        found["pytsmod-wsola"] = lambda audio, speed: pytsmod.wsola(audio, 1.0 / speed)
        found["pytsmod-hptsm"] = lambda audio, speed: pytsmod.hptsm(audio, 1.0 / speed)
    except ImportError as exc:
        found["pytsmod-wsola"] = str(exc)
    return found


def ffmpeg_atempo(audio: np.ndarray, speed: float) -> np.ndarray:
    """ffmpeg's WSOLA ``atempo`` filter in-process through PyAV (chained below 0.5)."""
    from fractions import Fraction

    import av
    from av.filter import Graph

    factors = []
    while speed < 0.5:
        factors.append(0.5)
        speed /= 0.5
    graph = Graph()
    node = graph.add_abuffer(
        format="flt", sample_rate=RATE, layout="mono", time_base=Fraction(1, RATE)
    )
    for factor in [*factors, speed]:
        following = graph.add("atempo", f"{factor:.6f}")
        node.link_to(following)
        node = following
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()
    frame = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = RATE
    frame.pts = 0
    frame.time_base = Fraction(1, RATE)
    graph.push(frame)
    graph.push(None)
    out = []
    while True:
        try:
            out.append(graph.pull().to_ndarray().reshape(-1))
        except (av.error.EOFError, av.error.BlockingIOError):
            break
    return np.concatenate(out)


def sox_tempo(audio: np.ndarray, speed: float) -> np.ndarray:
    raw = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(RATE)]
    out = subprocess.run(
        ["sox", *raw, "-", *raw, "-", "tempo", "-s", f"{speed:.6f}"],
        input=np.ascontiguousarray(audio, dtype=np.float32).tobytes(),
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, dtype=np.float32)


def median_f0(audio: np.ndarray) -> float:
    import librosa

    f0, voiced, _ = librosa.pyin(audio, fmin=60, fmax=400, sr=RATE, frame_length=1024)
    return float(np.nanmedian(f0[voiced]))


class Scorers:
    def __init__(self) -> None:
        from natiq.eval.asr import AsrConfig, WhisperTranscriber
        from natiq.eval.quality import DnsmosScorer

        self.asr = WhisperTranscriber(AsrConfig(language="en", beam_size=1, device="cpu"))
        self.dnsmos = DnsmosScorer(num_threads=1)

    def score(self, clips: list[np.ndarray]) -> tuple[float, float]:
        import soxr

        from natiq.eval.text_metrics import cer

        errors, overall = [], []
        for clip, text in zip(clips, ENGLISH, strict=True):
            at16 = soxr.resample(clip, RATE, 16000).astype(np.float32)
            errors.append(cer(text.lower(), self.asr.transcribe(at16).lower()))
            overall.append(self.dnsmos.score(at16)["dnsmos_ovrl"])
        return statistics.mean(errors), statistics.mean(overall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speeds", type=float, nargs="+", default=[0.5, 1.5, 2.0])
    parser.add_argument("--only", nargs="+", help="run only these candidates")
    parser.add_argument("--no-asr", action="store_true", help="skip Whisper CER and DNSMOS")
    args = parser.parse_args()

    english = [espeak(text, "en-us") for text in ENGLISH]
    arabic = espeak(ARABIC, "ar")
    base_f0 = median_f0(arabic)
    scorers = None if args.no_asr else Scorers()
    if scorers:
        cer0, ovrl0 = scorers.score(english)
        print(f"unstretched: cer {cer0:.3f}  ovrl {ovrl0:.2f}  (Arabic median F0 {base_f0:.1f} Hz)")

    header = f"{'candidate':<16}{'speed':>6}{'dur%':>8}{'f0%':>8}{'cer':>8}{'ovrl':>7}{'xRT':>8}"
    print(header)
    print("-" * len(header))
    for name, stretch in candidates().items():
        if args.only and name not in args.only:
            continue
        if isinstance(stretch, str):
            print(f"{name:<16} skipped: {stretch}")
            continue
        for speed in args.speeds:
            started = time.perf_counter()
            outputs = [stretch(clip, speed) for clip in [*english, arabic]]
            elapsed = time.perf_counter() - started
            audio_s = sum(clip.size for clip in [*english, arabic]) / RATE
            expected = sum(clip.size for clip in [*english, arabic]) / speed
            produced = sum(out.size for out in outputs)
            duration_error = 100 * (produced - expected) / expected
            f0_shift = 100 * (median_f0(np.asarray(outputs[-1], np.float32)) - base_f0) / base_f0
            cer_value, ovrl = (
                scorers.score([np.asarray(o, np.float32) for o in outputs[:-1]])
                if scorers
                else (float("nan"), float("nan"))
            )
            print(
                f"{name:<16}{speed:>6.2f}{duration_error:>8.2f}{f0_shift:>8.2f}"
                f"{cer_value:>8.3f}{ovrl:>7.2f}{audio_s / elapsed:>8.1f}"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
