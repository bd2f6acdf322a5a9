"""Throughput of the text front-end, next to camel-tools' ``ar2bw`` in the same run.

Builds >= 1M characters of fully diacritized Classical Arabic from the sentences
shipped in ``natiq/text/data/classical_sentences.txt`` (cycled), then reports
characters per second of CPU time (best of ``--repeats``; CPU time, not wall
time, because this machine is shared) for ``normalize``, each romanization
scheme, verbalization and the whole ``TextFrontend.prepare``. camel-tools is
heavy, so it lives in its own environment: pass its interpreter with
``--camel-python`` and it is timed in a subprocess on the same text file.

    python benchmarks/text_frontend.py --camel-python /tmp/camel/bin/python
    python benchmarks/text_frontend.py --der   # diacritizer error rate instead
    python benchmarks/text_frontend.py --tanzil simple.txt --camel-python /tmp/camel/bin/python

``--der`` strips the marks of the shipped diacritized sentences, restores them
with ``natiq.text.diacritize`` (with and without the package's word cache) and
prints the diacritic error rate, with and without word-final letters, next to
the bare model ("model only") and with the count of impossible marks; also on
1- and 3-word pieces, and, with ``--tanzil``, on the held-out surahs of the
Tanzil Quran text (see ``scripts/build_vocalizations.py`` for the file).
``--tanzil`` also makes the whole Quran text the speed corpus.

``--verbalize`` prints the exact-match accuracy of the number verbalizer on the
hand-checked sets in ``tests/text/data`` (by category; without diacritics, and
the diacritized subset mark for mark) against the targets of issue 11 (98 %
overall, no category under 95 %), then the CPU throughput of ``normalize`` +
``verbalize`` on digit-dense text (the cases' inputs, repeated) and on the
Classical corpus, each beside ``normalize`` alone in the same run.

    python benchmarks/text_frontend.py --verbalize
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from natiq.common.errors import NatiqError
from natiq.text import FrontendConfig, TextFrontend, normalize, romanize, verbalize
from natiq.text.buckwalter import to_buckwalter

CAMEL_SCRIPT = """
import json, sys, time
from camel_tools.utils.charmap import CharMapper

def cpu_seconds(mapper, text):
    start = time.process_time()
    mapper(text)
    return time.process_time() - start

mapper = CharMapper.builtin_mapper("ar2bw")
text = open(sys.argv[1], encoding="utf-8").read()
best = min(cpu_seconds(mapper, text) for _ in range(int(sys.argv[2])))
print(json.dumps({"seconds": best, "chars": len(text)}))
"""


def corpus(min_chars: int, tanzil: Path | None = None) -> str:
    """>= ``min_chars`` of diacritized Classical Arabic, one sentence per line, cycled.

    With ``tanzil`` (the Tanzil simple.txt file), the whole Quran text, as
    written (shadda before the vowel, tatweel before dagger alefs); otherwise
    the shipped sentences.
    """
    if tanzil is not None:
        sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
        from build_vocalizations import tanzil_verses

        lines = [text for _, text in tanzil_verses(tanzil)]
    else:
        sentences = (
            files("natiq.text").joinpath("data/classical_sentences.txt").read_text(encoding="utf-8")
        )
        lines = [line for line in sentences.splitlines() if line.strip()]
    pieces: list[str] = []
    size = 0
    index = 0
    while size < min_chars:
        line = lines[index % len(lines)] + "."
        pieces.append(line)
        size += len(line) + 1
        index += 1
    return " ".join(pieces)


def best_cpu_seconds(function: Callable[[str], object], text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        function(text)
        best = min(best, time.process_time() - start)
    return best


def camel_ar2bw(python: str, text_file: Path, repeats: int) -> dict[str, float] | str:
    try:
        result = subprocess.run(
            [python, "-c", CAMEL_SCRIPT, str(text_file), str(repeats)],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"camel-tools could not run with {python}: {exc}"
    if result.returncode != 0:
        return f"camel-tools unavailable in {python}: {result.stderr.strip().splitlines()[-1:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def _der_pair(reference: list[str], restored: list[str]) -> tuple[float, float]:
    from natiq.text.diacritize import diacritic_error_rate

    joined, hypothesis = " ".join(reference), " ".join(restored)
    return (
        diacritic_error_rate(joined, hypothesis),
        diacritic_error_rate(joined, hypothesis, skip_word_endings=True),
    )


def _model_only(text: str, word_cache: bool) -> str:
    """The diacritizer as it was before the short-input table and the validity pass."""
    from natiq.text.diacritize import _predict, merge_diacritics

    text = normalize(text)
    return merge_diacritics(text, _predict(text, word_cache))


def _short_inputs(sentences: list[str], size: int, limit: int) -> list[str]:
    """Consecutive ``size``-word pieces of ``sentences`` (every other piece, at most ``limit``)."""
    pieces = []
    for sentence in sentences:
        words = sentence.split(" ")
        pieces.extend(" ".join(words[i : i + size]) for i in range(0, len(words) - size + 1, size))
    step = max(1, len(pieces) // limit)
    return pieces[::step][:limit]


def _report(label: str, reference: list[str], word_cache: bool) -> None:
    from natiq.text import strip_diacritics
    from natiq.text.diacritize import _letters_with_marks, diacritize
    from natiq.text.marks import impossible_marks

    letters = len(_letters_with_marks(" ".join(reference)))
    bare = [strip_diacritics(item) for item in reference]
    now = [diacritize(item, word_cache=word_cache) for item in bare]
    before = [_model_only(item, word_cache) for item in bare]
    bad_now = sum(len(impossible_marks(item)) for item in now)
    bad_before = sum(len(impossible_marks(item)) for item in before)
    for name, restored, bad in (("natiq", now, bad_now), ("model only", before, bad_before)):
        der, der_no_endings = _der_pair(reference, restored)
        print(
            f"{label:34s} {name:10s} n={len(reference):5d} letters={letters:6d} "
            f"DER {der:6.2%}  without case endings {der_no_endings:6.2%}  impossible marks {bad}"
        )


def diacritizer_error_rates(tanzil: Path | None, limit: int) -> None:
    sentences = (
        files("natiq.text").joinpath("data/classical_sentences.txt").read_text(encoding="utf-8")
    )
    reference = [normalize(line) for line in sentences.splitlines() if line.strip()]
    for word_cache in (True, False):
        _report(f"shipped sentences, cache={word_cache}", reference, word_cache)
    # lines 1-6 are the Fatiha, line 7 a hadith: the rest is neither Quran nor hadith
    other = reference[7:]
    for size in (1, 3):
        _report(f"shipped, non-Quran {size}-word", _short_inputs(other, size, limit), True)
    if tanzil is None:
        print("held-out Quran: not measured (pass --tanzil PATH/simple.txt, see docs)")
        return
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
    from build_vocalizations import held_out, tanzil_verses

    verses = [normalize(text) for surah, text in tanzil_verses(tanzil) if held_out(surah)]
    long_verses = [verse for verse in verses if len(verse.split(" ")) > 3]
    step = max(1, len(long_verses) // limit)
    _report("held-out Quran verses, cache=False", long_verses[::step][:limit], False)
    for size in (1, 3):
        _report(
            f"held-out Quran {size}-word, cache=False", _short_inputs(verses, size, limit), False
        )


CASES_DIR = Path(__file__).resolve().parents[1] / "tests" / "text" / "data"


def verbalization_report(repeats: int) -> bool:
    """Print accuracy by category and throughput; True if the targets are met."""
    from natiq.eval.verbalization import load_cases, overall, score

    passed = True
    for name, diacritics in (
        ("verbalize_cases.tsv", False),
        ("verbalize_cases_diacritized.tsv", True),
    ):
        cases = load_cases(CASES_DIR / name)
        scores = score(cases, diacritics=diacritics)
        total = overall(scores)
        compared = "with diacritics" if diacritics else "diacritics stripped"
        print(f"{name}: {len(cases)} cases, {compared}")
        print(f"  {'category':16s} {'exact':>9s} {'accuracy':>9s}")
        for entry in [*scores.values(), total]:
            print(
                f"  {entry.category:16s} {entry.correct:>4d}/{entry.total:<4d} {entry.accuracy:>9.1%}"
            )
        worst = min(scores.values(), key=lambda entry: entry.accuracy)
        ok = total.accuracy >= 0.98 and worst.accuracy >= 0.95
        passed &= ok
        print(
            f"  target overall >= 98% and every category >= 95%: overall {total.accuracy:.1%}, "
            f"lowest {worst.category} {worst.accuracy:.1%} -> {'PASS' if ok else 'FAIL'}"
        )
        for written, expected, got in total.misses:
            print(f"  miss: {written!r}\n        expected {expected!r}\n        got      {got!r}")

    inputs = [case.written for case in load_cases(CASES_DIR / "verbalize_cases.tsv")]
    dense = " . ".join(inputs)
    dense = " . ".join([dense] * (300_000 // len(dense) + 1))
    print(
        f"{'throughput (CPU, best of ' + str(repeats) + ')':44s} {'normalize':>14s} {'+ verbalize':>14s}"
    )
    for label, text in (
        ("digit-dense text (the cases, repeated)", dense),
        ("Classical corpus", corpus(1_000_000)),
    ):
        alone = len(text) / best_cpu_seconds(normalize, text, repeats)
        both = len(text) / best_cpu_seconds(lambda t: verbalize(normalize(t)), text, repeats)
        print(f"{label + f' {len(text):,} chars':44s} {alone:>14,.0f} {both:>14,.0f}  chars/s")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=1_000_000, help="corpus size (characters)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--ipa-chars", type=int, default=50_000, help="espeak-ng is slow: time it on a slice"
    )
    parser.add_argument("--camel-python", default=None, help="a Python with camel-tools installed")
    parser.add_argument(
        "--der", action="store_true", help="measure the diacritizer's error rate instead"
    )
    parser.add_argument(
        "--tanzil",
        type=Path,
        default=None,
        help="Tanzil simple.txt: the speed corpus, and held-out surahs for --der",
    )
    parser.add_argument("--der-limit", type=int, default=1000, help="items per --der set")
    parser.add_argument(
        "--verbalize",
        action="store_true",
        help="exact match of the number verbalizer on the hand-checked sets, and its speed",
    )
    args = parser.parse_args()
    if args.der:
        diacritizer_error_rates(args.tanzil, args.der_limit)
        return 0
    if args.verbalize:
        return 0 if verbalization_report(args.repeats) else 1

    text = corpus(args.chars, args.tanzil)
    normalized = normalize(text)
    print(
        f"corpus: {len(text):,} characters of diacritized Classical Arabic ({len(text.split()):,} words)"
        + (f" from {args.tanzil}" if args.tanzil else " (shipped sentences, cycled)")
    )
    print(f"{'stage':44s} {'chars/s (CPU)':>16s}")

    rows: list[tuple[str, Callable[[str], object], str]] = [
        ("normalize", normalize, text),
        ("buckwalter transliteration only (to_buckwalter)", to_buckwalter, normalized),
        (
            "romanize buckwalter (normalize + transliterate)",
            lambda t: romanize(t, "buckwalter"),
            text,
        ),
        ("romanize arabizi (normalize + arabizi)", lambda t: romanize(t, "arabizi"), text),
        ("romanize latin (normalize + latin)", lambda t: romanize(t, "latin"), text),
        ("verbalize (no digits in this corpus)", verbalize, text),
        (
            "TextFrontend(scheme=arabizi).prepare",
            TextFrontend(FrontendConfig(scheme="arabizi")).prepare,
            text,
        ),
    ]
    speeds: dict[str, float] = {}
    for name, function, data in rows:
        seconds = best_cpu_seconds(function, data, args.repeats)
        speeds[name] = len(data) / seconds
        print(f"{name:44s} {speeds[name]:>16,.0f}")

    # espeak-ng works in a child process, so its speed is wall-clock time on a slice.
    ipa_text = text[: args.ipa_chars]
    try:
        start = time.perf_counter()
        romanize(ipa_text, "ipa")
        wall = time.perf_counter() - start
        label = "romanize ipa (espeak-ng, wall clock)"
        print(f"{label:44s} {len(ipa_text) / wall:>16,.0f}   on {len(ipa_text):,} chars")
    except NatiqError as exc:
        print(f"romanize ipa: unavailable ({exc})")

    if args.camel_python:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "corpus.txt"
            path.write_text(text, encoding="utf-8")
            camel = camel_ar2bw(args.camel_python, path, args.repeats)
        if isinstance(camel, str):
            print(f"camel-tools ar2bw: {camel}")
        else:
            camel_speed = camel["chars"] / camel["seconds"]
            print(f"{'camel-tools ar2bw (same text, subprocess)':44s} {camel_speed:>16,.0f}")
            ours = speeds["romanize buckwalter (normalize + transliterate)"]
            print(
                f"target buckwalter >= camel-tools: {ours / camel_speed:.1f}x -> {'PASS' if ours >= camel_speed else 'FAIL'}"
            )
    else:
        print(
            "camel-tools ar2bw: not measured (pass --camel-python /path/to/python-with-camel-tools)"
        )
    arabizi = speeds["romanize arabizi (normalize + arabizi)"]
    print(
        f"target normalize+arabizi >= 2,000,000 chars/s: {arabizi:,.0f} -> {'PASS' if arabizi >= 2e6 else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
