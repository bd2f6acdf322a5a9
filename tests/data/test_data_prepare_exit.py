"""``natiq data prepare`` always ends: early stops exit, and a killed run leaves no process behind.

Both run the real command in a subprocess on a parquet laid out as the Hub
writes ClArTTS (~175 MB, 16-row groups): the ``datasets`` stream used to hang
at interpreter exit whenever it was stopped before the end of such a file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXIT_TIMEOUT_S = 60
ORPHAN_DEADLINE_S = 10.0


def _command(dataset: Path, output: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "natiq.cli.main",
        "data",
        "prepare",
        "--dataset",
        str(dataset),
        "--output-dir",
        str(output),
        "--no-progress",
        *extra,
    ]


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run to the end, or fail the test (and kill the whole group) after ``EXIT_TIMEOUT_S``."""
    process = subprocess.Popen(
        command,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{' '.join(command[3:])} did not exit within {EXIT_TIMEOUT_S} s")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.slow
def test_every_early_stop_of_a_parquet_prepare_exits(hub_layout_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    limited = _run(_command(hub_layout_dir, output, "--limit", "3"))
    assert limited.returncode == 0, limited.stderr[-2000:]
    assert "manifest: 3 utterances" in limited.stdout

    rebuilt = _run(_command(hub_layout_dir, output, "--limit", "0"))
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert "this run: 0 processed" in rebuilt.stdout and "manifest: 3 utterances" in rebuilt.stdout

    refused = _run(_command(hub_layout_dir, output, "--limit", "3", "--val-fraction", "0.5"))
    assert refused.returncode == 2
    assert "prepared with other settings" in refused.stderr


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        parent = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")
        )
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _descendants(pid: int) -> set[int]:
    tree, found, stack = _children(), set(), [pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead orphan waiting to be reaped counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def _journal_lines(output: Path) -> int:
    path = output / ".progress" / "journal.jsonl"
    return path.read_bytes().count(b"\n") if path.is_file() else 0


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_main_process_leaves_no_worker_behind(
    hub_layout_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    process = subprocess.Popen(
        _command(hub_layout_dir, output, "--num-workers", "2"),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        while _journal_lines(output) < 1 and process.poll() is None:
            assert time.monotonic() < deadline, "no batch finished in time"
            time.sleep(0.05)
        helpers = _descendants(process.pid)
        done_at_kill = _journal_lines(output)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL, "the run must be killed part-way"
        assert 1 <= done_at_kill < 208
        # forkserver + 2 workers (+ the resource tracker)
        assert len(helpers) >= 3, helpers
        deadline = time.monotonic() + ORPHAN_DEADLINE_S
        while any(_running(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in helpers if _running(pid)] == []
    finally:
        # clean up whatever a failure left (the session holds only this run's processes)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
