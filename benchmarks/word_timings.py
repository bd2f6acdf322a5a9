"""Word timing accuracy on audio whose word boundaries are known to the sample.

espeak-ng speaks Arabic words one at a time; the words are joined with
random gaps (default 50-400 ms), so every true start and end is known. For
each sentence this prints the mean boundary error of

- ``whisper``: Whisper's cross-attention alignment alone (what faster-whisper's
  ``word_timestamps`` computes, here on the known text), the reference;
- ``natiq``: ``natiq.eval.alignment.WordAligner.align`` (the same alignment,
  boundaries moved onto silences).

The first four sentences were used to choose ``snap_window_s``; the last two
were not (they are listed apart).

    PYTHONPATH=src .venv/bin/python benchmarks/word_timings.py [--seeds 0 1] [--full-window]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import time

import numpy as np

RATE = 16000
TUNED = [
    "ذهب الطالب إلى المكتبة صباحا ليقرأ كتابا جديدا عن تاريخ العلوم في بلاد العرب",
    "كان الجو باردا في الصباح فلبس الولد معطفه الثقيل وخرج إلى المدرسة",
    "السلام عليكم ورحمة الله وبركاته كيف حالكم اليوم يا أصدقائي",
    "تعلمت الطالبة القراءة والكتابة في سن مبكرة وأحبت الشعر العربي",
]
HELD_OUT = [
    "يحب الأطفال اللعب في الحديقة بعد انتهاء الدروس",
    "قرأ المعلم القصة على التلاميذ بصوت هادئ وجميل",
]


def espeak_word(word: str) -> np.ndarray:
    import soundfile as sf

    from natiq.data.audio import resample

    wav = subprocess.run(
        ["espeak-ng", "-v", "ar", "--stdout", word], check=True, capture_output=True
    ).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    samples = resample(samples, rate, RATE)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1]


def joined(words: list[str], seed: int, low: float, high: float):
    rng = np.random.default_rng(seed)
    parts, truth, cursor = [np.zeros(4800, dtype=np.float32)], [], 4800
    for word in words:
        clip = espeak_word(word)
        truth.append((cursor / RATE, (cursor + clip.size) / RATE))
        gap = np.zeros(int(rng.uniform(low, high) * RATE), dtype=np.float32)
        parts += [clip, gap]
        cursor += clip.size + gap.size
    return np.concatenate(parts), truth


def mean_error(spans, truth) -> float:
    return float(
        np.mean(
            [
                abs(a - b)
                for s, t in zip(spans, truth, strict=True)
                for a, b in zip(s, t, strict=True)
            ]
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--gap", type=float, nargs=2, default=[0.05, 0.4], metavar=("MIN", "MAX"))
    parser.add_argument(
        "--full-window", action="store_true", help="encode Whisper's whole 30 s window"
    )
    args = parser.parse_args()

    from natiq.eval.alignment import AlignerConfig, WordAligner, _tidy, snap_to_silences

    aligner = WordAligner(AlignerConfig(full_window=args.full_window))
    rows = {"tuned": [], "held out": []}
    print(f"{'set':<9}{'seed':>5}{'words':>6}{'whisper ms':>12}{'natiq ms':>10}{'align s':>9}")
    for label, sentences in (("tuned", TUNED), ("held out", HELD_OUT)):
        for sentence in sentences:
            words = sentence.split()
            for seed in args.seeds:
                audio, truth = joined(words, seed, *args.gap)
                started = time.perf_counter()
                raw = aligner._whisper_spans(audio, words)
                snapped = _tidy(snap_to_silences(raw, audio, aligner.config), audio.size / RATE)
                elapsed = time.perf_counter() - started
                pair = (mean_error(raw, truth), mean_error(snapped, truth))
                rows[label].append(pair)
                print(
                    f"{label:<9}{seed:>5}{len(words):>6}{pair[0] * 1000:>12.1f}"
                    f"{pair[1] * 1000:>10.1f}{elapsed:>9.2f}"
                )
    every = rows["tuned"] + rows["held out"]
    for label, pairs in (*rows.items(), ("all", every)):
        whisper, natiq = np.mean(pairs, axis=0) * 1000
        print(f"mean {label}: whisper {whisper:.1f} ms, natiq {natiq:.1f} ms")


if __name__ == "__main__":
    main()
