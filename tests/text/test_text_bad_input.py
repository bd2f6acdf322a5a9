"""Bad input: one line out per line in for every `natiq text` command, and linear time."""

from __future__ import annotations

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
# instead of hanging it: prints the best CPU seconds of preparing ``size`` chars.
TIMED_PREPARE = """
import sys, time
from natiq.text import FrontendConfig, TextFrontend
unit, size, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = "ب" + unit * (size // len(unit))
prepare = TextFrontend(FrontendConfig(scheme="latin")).prepare
best = float("inf")
for _ in range(repeats):
    start = time.process_time()
    prepare(text)
    best = min(best, time.process_time() - start)
print(best)
"""


def _cpu_seconds(unit: str, size: int, repeats: int, timeout: float) -> float:
    result = subprocess.run(
        [sys.executable, "-c", TIMED_PREPARE, unit, str(size), str(repeats)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return float(result.stdout.split()[-1])


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
    small = _cpu_seconds(unit, 1_000_000, 2, timeout=300)
    large = _cpu_seconds(unit, 4_000_000, 1, timeout=60 + 40 * small)
    assert large / small < 5, f"4x the input took {large / small:.1f}x the time"
