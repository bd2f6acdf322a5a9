"""Helpers of the serving tests: small settings, an API key file, the
application served by uvicorn on a thread, and a real ``natiq serve`` process
that tests can signal, stop and start again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from natiq.serve.settings import ServeSettings

API_KEY = "test-key-0123456789"
BASE_URL = "http://127.0.0.1:8000"
SERVER_START_TIMEOUT_S = 120
VOICE_TEXT = "السلام عليكم ورحمة الله وبركاته"
# small limits every test app shares unless a test says otherwise
SMALL = {
    "max_text_chars": 300,
    "max_model_chars": 900,
    "max_upload_bytes": 1_000_000,
    "max_body_bytes": 1_100_000,
    "max_seconds": 0.96,
    "max_concurrency": 1,
    "max_queue": 4,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_key(folder: Path, key: str = API_KEY) -> Path:
    path = folder / "api-key"
    path.write_text(key + "\n")
    path.chmod(0o600)
    return path


def make_settings(folder: Path, *, key: bool = True, **overrides) -> ServeSettings:
    values = {**SMALL, "data_dir": folder / "data", **overrides}
    if key and "api_key_file" not in values:
        values["api_key_file"] = write_key(folder)
    return ServeSettings(**values)


class ThreadedServer:
    """An application served by uvicorn on a thread of this process (for real sockets)."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(20)


class ServerProcess:
    """``natiq serve`` in a subprocess; ``start()`` waits until /health answers."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(
            os.environ,
            HF_HUB_OFFLINE="1",
            NATIQ_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            PYTHONUNBUFFERED="1",
        )
        command = [
            sys.executable,
            "-m",
            "natiq.cli.main",
            "serve",
            "--port",
            str(self.port),
            *self.args,
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process owns it
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"natiq serve exited with {self.proc.returncode}:\n{self.log()}"
                )
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(
            f"natiq serve did not answer within {SERVER_START_TIMEOUT_S} s:\n{self.log()}"
        )

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]
