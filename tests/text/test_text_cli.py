"""`natiq text ...`: one line in, one line out, from --text, --file or stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from natiq.cli.main import app

runner = CliRunner()
NATIQ = Path(sys.executable).with_name("natiq")


def invoke(*args: str, stdin: str | bytes | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["text", *args], input=stdin)
    return result.exit_code, result.stdout


def test_romanize_from_text_option() -> None:
    assert invoke("romanize", "--scheme", "latin", "--text", "مَرْحَبًا بِكُمْ") == (0, "marhaban bikum\n")


def test_every_stdin_line_gives_exactly_one_output_line() -> None:
    code, out = invoke("romanize", "-s", "arabizi", stdin="الشَّمْسُ\n\nمُحَمَّدٌ\n")
    assert code == 0
    assert out == "ash-shams\n\nmu7ammad\n"  # each line ends in a pause
    code, out = invoke("romanize", "-s", "arabizi", "--no-pausal", stdin="الشَّمْسُ\n\nمُحَمَّدٌ\n")
    assert out == "ash-shamsu\n\nmu7ammadun\n"


def test_buckwalter_round_trip_through_two_commands(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("قَالَ: \\x ١٢\nسَلَامٌ\n", encoding="utf-8")
    code, romanized = invoke("romanize", "--scheme", "buckwalter", "--file", str(source))
    assert code == 0
    code, back = invoke("deromanize", "--scheme", "buckwalter", stdin=romanized)
    assert back == "قَالَ: \\x 12\nسَلَامٌ\n"


def test_normalize_strip_and_fold_flags() -> None:
    canonical = "\u0645\u064f\u062d\u064e\u0645\u0651\u064e\u062f\u064c 3\n"  # shadda first
    assert invoke("normalize", "--text", "مُـحَمَّدٌ ٣") == (0, canonical)
    assert invoke("normalize", "--strip-diacritics", "--fold", "--text", "أَحْمَدُ")[1] == "احمد\n"


def test_conflicting_flags_fail_with_a_clear_message_not_a_traceback() -> None:
    result = runner.invoke(app, ["text", "normalize", "--fold", "--text", "نص"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "fold" in str(result.exception) or "fold" in result.output


def test_verbalize_and_prepare_json() -> None:
    assert invoke("verbalize", "--strip-diacritics", "--text", "3 كتب")[1] == "ثلاثة كتب\n"
    code, out = invoke("prepare", "--scheme", "latin", "--json", "--text", "عِنْدِي 2 كِتَابٍ؟")
    assert code == 0
    record = json.loads(out)
    assert record["model_text"] == "indee kitaabaan?"  # 2 + noun is the dual (issue 11)
    code, out = invoke("prepare", "--scheme", "latin", "--no-pausal", "--text", "كِتَابٍ؟")
    assert out == "kitaabin?\n"
    assert record["original"] == "عِنْدِي 2 كِتَابٍ؟"


def test_prepare_reads_a_saved_config(tmp_path: Path) -> None:
    (tmp_path / "natiq_frontend.json").write_text(
        json.dumps({"scheme": "arabizi"}), encoding="utf-8"
    )
    assert invoke("prepare", "--config", str(tmp_path), "--text", "سَلَامٌ") == (0, "salaamun.\n")


def test_unspeakable_lines_become_empty_lines_with_a_warning() -> None:
    result = runner.invoke(app, ["text", "prepare"], input="Hello\nمرحبا\n")
    assert result.exit_code == 0
    assert result.stdout == "\nمرحبا\n"
    assert "line 1" in result.stderr


def test_invalid_utf8_on_stdin_does_not_crash() -> None:
    code, out = invoke("normalize", stdin=b"\xff\xfe\xd9\x85\xd8\xb1\n")
    assert code == 0
    assert out == "مر\n"


def test_unknown_scheme_is_a_clear_error() -> None:
    result = runner.invoke(app, ["text", "romanize", "--scheme", "morse", "--text", "نص"])
    assert result.exit_code != 0
    assert "known schemes" in str(result.exception)


def test_real_shell_pipe() -> None:
    command = f"echo 'مَرْحَبًا بِكُمْ' | {NATIQ} text romanize --scheme arabizi"
    out = subprocess.run(command, shell=True, capture_output=True, check=True, timeout=60)
    assert out.stdout.decode("utf-8") == "mar7aban bikum\n"
    fail = subprocess.run(
        [str(NATIQ), "text", "romanize", "--scheme", "morse", "--text", "x"],
        capture_output=True,
        timeout=60,
    )
    assert fail.returncode == 2
    assert b"Traceback" not in fail.stderr and b"known schemes" in fail.stderr


def test_phonemize_command_prints_ipa() -> None:
    code, out = invoke("phonemize", "--text", "سَلَامٌ")
    assert code == 0
    assert out.count("\n") == 1 and "s" in out and "l" in out
