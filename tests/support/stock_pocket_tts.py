"""Running the stock ``pocket-tts generate`` CLI, as a user would, from tests.

pocket-tts 4.0.1 generates latents in a daemon thread that it never joins
(``TTSModel._generate`` in ``pocket_tts/models/tts_model.py``). When the CLI
has written its wav and the interpreter exits while that thread is still
leaving torch code, the C++ runtime aborts the process with "terminate called
without an active exception" (exit status 134 / SIGABRT): seen here in about
1 run of 12 on a loaded machine. The wav is complete by then; the crash is
the upstream CLI's, not natiq's export. So a run that ends in exactly that
abort is tried again (at most twice); any other failure is returned as is.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

UPSTREAM_EXIT_ABORT = "terminate called without an active exception"
ATTEMPTS = 3


def pocket_tts_command() -> Path:
    """The stock console script installed beside this interpreter."""
    return Path(sys.executable).parent / "pocket-tts"


def _is_upstream_exit_abort(completed: subprocess.CompletedProcess[str]) -> bool:
    aborted = completed.returncode in (134, -signal.SIGABRT)
    return aborted and UPSTREAM_EXIT_ABORT in completed.stderr


def run_stock_generate(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``pocket-tts generate ARGS``; retried only after the upstream exit abort."""
    command = [str(pocket_tts_command()), "generate", *args]
    for _ in range(ATTEMPTS):
        completed = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
        if not _is_upstream_exit_abort(completed):
            break
    return completed
