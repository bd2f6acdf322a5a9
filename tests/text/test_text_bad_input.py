"""Bad input: one line out per line in for every `natiq text` command, and linear time."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from natiq.cli.main import app
from natiq.cli.text import split_lines
from natiq.text import FrontendConfig, TextFrontend, normalize

runner = CliRunner()

# Everything that some tool treats as a line break, and what a terminal pastes.
INSIDE_A_LINE = "\u2028\u2029\u0085\x0b\x0c\r\x1b[31m\x1b]0;t\x07\u06dd١٢3\ufe0f\u20e3👍🏽\u200d🇸🇦"
ALPHABET = "مرحباً بِكُمْ فِي الْمَدِينَةِ، كِتَابٌ. 2024 $ abc\\>~" + INSIDE_A_LINE
line = st.text(alphabet=st.sampled_from(ALPHABET), max_size=25)
lines_and_ends = st.tuples(
    st.lists(line, min_size=1, max_size=4), st.sampled_from(["\n", "\r\n"]), st.booleans()
)
SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COMMANDS = [
    ["normalize"],
    ["verbalize"],
    ["romanize", "-s", "arabizi"],
    ["romanize", "-s", "latin", "--no-pausal"],
    ["romanize", "-s", "buckwalter"],
    ["deromanize"],
    ["prepare", "-s", "latin"],
    ["prepare", "--json"],
]


def join(lines: list[str], newline: str, final: bool) -> str:
    return newline.join(lines) + (newline if final else "")


def line_count(text: str) -> int:
    """What `wc -l` counts, plus an unterminated last line."""
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def output_lines(args: list[str], stdin: str | None = None) -> list[str]:
    result = runner.invoke(app, ["text", *args], input=stdin)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("\n") or result.stdout == ""
    return result.stdout.split("\n")[:-1]


def test_lines_split_only_at_line_feeds() -> None:
    assert split_lines("a\u2028b\x0bc\x0cd\re\x85f") == ["a\u2028b\x0bc\x0cd\re\x85f"]
    assert split_lines("a\r\nb\nc") == ["a", "b", "c"]
    assert split_lines("a\n") == ["a"]
    assert split_lines("") == [""]
    assert split_lines("\n\n") == ["", ""]


@SETTINGS
@given(lines_and_ends, st.sampled_from(COMMANDS))
def test_every_text_command_prints_one_line_per_input_line(
    case: tuple[list[str], str, bool], command: list[str]
) -> None:
    text = join(*case)
    assert len(output_lines([*command, "--text", text])) == max(1, line_count(text))
    assert len(output_lines(command, stdin=text)) == line_count(text)


@settings(max_examples=3, deadline=None)
@given(lines_and_ends)
def test_file_input_and_phonemes_keep_the_line_count(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[list[str], str, bool]
) -> None:
    text = join(*case)
    path = tmp_path_factory.mktemp("lines") / "in.txt"
    path.write_bytes(text.encode("utf-8"))
    assert len(output_lines(["normalize", "--file", str(path)])) == line_count(text)
    assert len(output_lines(["phonemize", "--file", str(path)])) == line_count(text)


def test_terminal_escapes_are_not_read_as_units() -> None:
    spoken = TextFrontend().prepare("\x1b[31mمرحبا\x1b[0m").spoken
    assert spoken == "مرحبا"
    assert "متر" not in TextFrontend().prepare("\x1b[1;31mنص\x1b[0m").spoken


def test_a_verse_number_is_not_read_as_a_cardinal() -> None:
    prepared = TextFrontend(FrontendConfig(scheme="latin")).prepare("الرَّحِيمِ ۝٣ مَالِكِ")
    assert prepared.spoken == normalize("الرَّحِيمِ. مَالِكِ")
    assert prepared.model_text == "ar-raheem. maalik."


# Runs in a child process, so that a quadratic stage fails the test (timeout)
# instead of hanging it. Prints "size seconds" after each timing: every size
# ascending, then again for each repeat, so the parent keeps the best CPU
# seconds of each size and, on a timeout, still has the sizes that finished.
TIMED_PREPARE = """
import gc, sys, time
from natiq.text import FrontendConfig, TextFrontend
unit, repeats, sizes = sys.argv[1], int(sys.argv[2]), [int(size) for size in sys.argv[3:]]
prepare = TextFrontend(FrontendConfig(scheme="latin")).prepare
texts = {size: "ب" + unit * (size // len(unit)) for size in sizes}
for _ in range(repeats):
    for size in sizes:
        gc.collect()
        start = time.process_time()
        prepare(texts[size])
        print(size, time.process_time() - start, flush=True)
"""
SIZES = (200_000, 400_000, 800_000, 1_600_000)
LINEAR_TIMEOUT_S = 120  # seconds when linear: ~3 idle, ~15 at load 10


def _best_cpu_seconds(unit: str, repeats: int) -> dict[int, float]:
    """The best CPU seconds of preparing each of SIZES chars of ``unit``."""
    command = [sys.executable, "-c", TIMED_PREPARE, unit, str(repeats), *map(str, SIZES)]
    try:
        result = subprocess.run(command, capture_output=True, timeout=LINEAR_TIMEOUT_S)
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        output, finished = result.stdout, True
    except subprocess.TimeoutExpired as timeout:
        output, finished = timeout.stdout or b"", False
    best: dict[int, float] = {}
    for line in output.decode().splitlines():
        size, seconds = line.split()
        best[int(size)] = min(best.get(int(size), math.inf), float(seconds))
    assert finished, f"not done in {LINEAR_TIMEOUT_S} s; CPU seconds by size so far: {best}"
    return best


def growth_exponent(seconds_by_size: dict[int, float]) -> float:
    """The least-squares slope of log(time) against log(size): 1 linear, 2 quadratic."""
    sizes = [math.log(size) for size in seconds_by_size]
    seconds = [math.log(seconds) for seconds in seconds_by_size.values()]
    return statistics.linear_regression(sizes, seconds).slope


def test_growth_exponent_reads_powers() -> None:
    linear = {size: 3e-7 * size for size in SIZES}
    assert growth_exponent(linear) == pytest.approx(1.0)
    assert growth_exponent({size: 1e-12 * size**2 for size in SIZES}) == pytest.approx(2.0)
    assert growth_exponent({**linear, SIZES[-1]: 1.3 * linear[SIZES[-1]]}) < 1.2


@pytest.mark.slow
@pytest.mark.parametrize(
    "unit",
    [
        "\u064e\u0651\u064f\u0650\u0652",  # one endless run of combining marks
        "فِي الْ. ا ّ 3️⃣\x1b[0m",  # wasl, pauses, word-initial shadda, emoji, escapes
    ],
    ids=["marks", "pauses"],
)
def test_time_grows_linearly_with_input_size(unit: str) -> None:
    # The exponent fitted over four sizes (8x apart), each the best of three CPU
    # times, shrugs off a noisy timing: one size 30% slow moves it by ~0.1, while
    # a quadratic stage gives ~2 (or the child's timeout).
    best = _best_cpu_seconds(unit, repeats=3)
    exponent = growth_exponent(best)
    print(f"exponent {exponent:.2f}; CPU seconds by size: {best}")
    assert exponent < 1.5, f"time grows as size^{exponent:.2f}; CPU seconds by size: {best}"
