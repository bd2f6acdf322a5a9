"""Helpers of the serving tests: small settings, an API key file, the
application served by uvicorn on a thread, and a real ``natiq serve`` process
that tests can signal, stop and start again."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
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

        # uvicorn serves a socket bound here: no window in which another test process
        # (pytest -n 2) could take the port between choosing it and listening on it
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

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
        self.sock.close()


class ServerProcess:
    """The real ``natiq serve`` command in its own process, forked from the test process.

    A separate process with its own signal handling and sockets, as when a
    user runs the command; forking only saves importing torch again (the
    child runs the same CLI entry point, parses the same flags, loads the
    model itself). ``start()`` waits until /health answers; ``stop(sig)``
    delivers a real signal and returns the exit status as ``Popen`` would.
    """

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self.port = free_port()
        self.pid: int | None = None
        self.returncode: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _child(self) -> None:
        """Runs in the forked child; never returns."""
        status = 1
        try:
            log = open(self.log_path, "a", buffering=1)  # noqa: SIM115 - the child owns it
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            sys.stdout = sys.stderr = log
            logging.root.handlers.clear()  # the test runner's capture: the command sets its own
            from natiq.cli.main import app

            app(["serve", "--port", str(self.port), *self.args], standalone_mode=False)
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)

    def _poll(self) -> int | None:
        if self.returncode is None and self.pid is not None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def _http_ready(self) -> bool:
        try:
            return httpx.get(self.url + "/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def start(self, ready: Callable[[], bool] | None = None) -> None:
        """Fork the server and wait until ``ready()`` (default: /health answers 200)."""
        self.returncode = None
        self.pid = os.fork()
        if self.pid == 0:
            self._child()
        ready = ready or self._http_ready
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._poll() is not None:
                raise AssertionError(f"natiq serve exited with {self.returncode}:\n{self.log()}")
            if ready():
                return
            time.sleep(0.05)
        self.stop(signal.SIGKILL)
        raise AssertionError(
            f"natiq serve did not answer within {SERVER_START_TIMEOUT_S} s:\n{self.log()}"
        )

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int | None:
        if self.pid is None or self._poll() is not None:
            return self.returncode
        os.kill(self.pid, sig)
        deadline = time.monotonic() + 20
        while self._poll() is None:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.02)
        return self.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]
