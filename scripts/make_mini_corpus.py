"""Regenerate natiq's bundled mini-corpus with espeak-ng.

The mini-corpus (``src/natiq/data/mini_corpus/``) is 20 short, fully
diacritized Classical Arabic sentences, spoken by two clearly different
espeak-ng voices (10 sentences each), so that tests, the offline demo and the
evaluation have real Arabic speech with two speakers and no download.

Run it from the repository root; it rewrites the wavs and ``manifest.jsonl``:

    .venv/bin/python scripts/make_mini_corpus.py

The manifest keeps the text in Unicode canonical order (NFC: vowel then
shadda); espeak-ng mispronounces that order, so the text handed to espeak has
each shadda moved before its short vowel.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))

from natiq.common.files import write_jsonl  # noqa: E402
from natiq.data.audio import resample, save_wav  # noqa: E402

OUTPUT_DIR = REPO_ROOT / "src" / "natiq" / "data" / "mini_corpus"
SAMPLE_RATE = 16000

SENTENCES = (
    "بِسْمِ اللَّهِ الرَّحْمَنِ الرَّحِيمِ",
    "الْعِلْمُ نُورٌ وَالْجَهْلُ ظَلَامٌ",
    "الْقِرَاءَةُ غِذَاءُ الْعَقْلِ وَالرُّوحِ",
    "الصَّبْرُ مِفْتَاحُ الْفَرَجِ",
    "خَيْرُ الْكَلَامِ مَا قَلَّ وَدَلَّ",
    "إِنَّ مَعَ الْعُسْرِ يُسْرًا",
    "الْكِتَابُ خَيْرُ جَلِيسٍ",
    "ذَهَبَ الطَّالِبُ إِلَى الْمَدْرَسَةِ",
    "كَتَبَ الرَّجُلُ رِسَالَةً طَوِيلَةً",
    "الشَّمْسُ تُشْرِقُ مِنَ الْمَشْرِقِ",
    "قَرَأْتُ الْكِتَابَ فِي الْمَسْجِدِ",
    "السَّلَامُ عَلَيْكُمْ وَرَحْمَةُ اللَّهِ",
    "مَنْ جَدَّ وَجَدَ وَمَنْ زَرَعَ حَصَدَ",
    "الْوَقْتُ كَالسَّيْفِ إِنْ لَمْ تَقْطَعْهُ قَطَعَكَ",
    "الْعَقْلُ السَّلِيمُ فِي الْجِسْمِ السَّلِيمِ",
    "شَرِبَ الْوَلَدُ الْمَاءَ الْبَارِدَ",
    "جَلَسَ الشَّيْخُ تَحْتَ الشَّجَرَةِ",
    "الْبَحْرُ وَاسِعٌ وَعَمِيقٌ",
    "فِي التَّأَنِّي السَّلَامَةُ وَفِي الْعَجَلَةِ النَّدَامَةُ",
    "اللُّغَةُ الْعَرَبِيَّةُ جَمِيلَةٌ",
)


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice and prosody that stands for one speaker."""

    speaker: str
    name: str
    pitch: int
    speed: int


VOICES = (
    Voice(speaker="spk1", name="ar", pitch=35, speed=150),
    Voice(speaker="spk2", name="ar+f3", pitch=75, speed=135),
)

SHORT_VOWELS = "\u064b\u064c\u064d\u064e\u064f\u0650"
SHADDA = "\u0651"


def shadda_first(text: str) -> str:
    """Move every shadda before the short vowel or tanween written just before it."""
    chars = list(unicodedata.normalize("NFC", text))
    for i in range(1, len(chars)):
        if chars[i] == SHADDA and chars[i - 1] in SHORT_VOWELS:
            chars[i - 1], chars[i] = chars[i], chars[i - 1]
    return "".join(chars)


def speak(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """Run espeak-ng and return its float32 samples and sample rate."""
    command = ["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.speed)]
    command += ["--stdout", shadda_first(text)]
    result = subprocess.run(command, check=True, capture_output=True)
    samples, sample_rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return samples, int(sample_rate)


def trim_edges(samples: np.ndarray, sample_rate: int, threshold: float = 1e-3) -> np.ndarray:
    """Cut espeak's leading/trailing digital silence, keeping 100 ms on each side."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples
    pad = sample_rate // 10
    return samples[max(0, loud[0] - pad) : loud[-1] + pad]


def build(output_dir: Path) -> Path:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed (apt-get install espeak-ng)")
    audio_dir = output_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for index, text in enumerate(SENTENCES):
        voice = VOICES[index % len(VOICES)]
        samples, sample_rate = speak(text, voice)
        samples = resample(trim_edges(samples, sample_rate), sample_rate, SAMPLE_RATE)
        samples = samples * (0.5 / max(float(np.abs(samples).max()), 1e-6))
        utt_id = f"{voice.speaker}_{index:03d}"
        save_wav(audio_dir / f"{utt_id}.wav", samples, SAMPLE_RATE)
        record = {"id": utt_id, "audio": f"audio/{utt_id}.wav"}
        record |= {"text": unicodedata.normalize("NFC", text), "speaker": voice.speaker}
        records.append(record)
    manifest = output_dir / "manifest.jsonl"
    write_jsonl(manifest, records)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args()
    manifest = build(args.output_dir)
    size = sum(p.stat().st_size for p in args.output_dir.rglob("*") if p.is_file())
    print(f"wrote {manifest} ({size / 1e6:.2f} MB in {args.output_dir})")


if __name__ == "__main__":
    main()
