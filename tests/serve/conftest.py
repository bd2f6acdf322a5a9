"""Fixtures for the serving tests: a tiny random Pocket TTS model, a real
Arabic reference clip made by espeak-ng, and a real ``natiq serve`` process
on 127.0.0.1 that tests can stop and start again on the same data folder."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

API_KEY = "test-key-0123456789"
SERVER_START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def voice_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("voice") / "reference.wav"
    subprocess.run(
        ["espeak-ng", "-v", "ar", "-w", str(path), "السلام عليكم ورحمة الله وبركاته"], check=True
    )
    return path


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
            time.sleep(0.25)
        self.stop()
        raise AssertionError(
            f"natiq serve did not answer within {SERVER_START_TIMEOUT_S} s:\n{self.log()}"
        )

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_yaml: Path):
    """A server with an API key and small limits, shared by all serving tests."""
    root = tmp_path_factory.mktemp("serve")
    key_file = root / "api-key"
    key_file.write_text(API_KEY + "\n")
    args = [
        "--model", str(tiny_yaml),
        "--device", "cpu",
        "--api-key-file", str(key_file),
        "--data-dir", str(root / "data"),
        "--max-text-chars", "300",
        "--max-upload-bytes", "1000000",
        "--max-body-bytes", "1100000",
        "--max-seconds", "0.96",
        "--max-concurrency", "1",
        "--max-queue", "4",
    ]  # fmt: skip
    process = ServerProcess(args, root / "server.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def api_key() -> str:
    return API_KEY


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def voice_id(server: ServerProcess, voice_clip: Path) -> str:
    """A voice uploaded to the shared server (the tiny model has no default voice)."""
    with open(voice_clip, "rb") as handle:
        response = httpx.post(
            server.url + "/v1/voices",
            headers={"Authorization": f"Bearer {API_KEY}"},
            files={"file": ("reference.wav", handle, "audio/wav")},
            data={"text": "السلام عليكم ورحمة الله وبركاته", "name": "espeak"},
            timeout=60,
        )
    assert response.status_code == 201, response.text
    return response.json()["id"]
