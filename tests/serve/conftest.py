"""Fixtures for the serving tests: a tiny random Pocket TTS model loaded once, a
real Arabic reference clip made by espeak-ng, and the application in process
(FastAPI's ``TestClient`` over ``create_app``). Helpers (settings, a thread
server, a real process) are in ``support.serve``."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from natiq.serve.app import create_app
from natiq.serve.settings import ServeSettings
from support.serve import API_KEY, BASE_URL, VOICE_TEXT, make_settings


@pytest.fixture(scope="session")
def synthesizer(tiny_yaml: Path):
    from natiq import Synthesizer

    return Synthesizer.load("pocket", model=str(tiny_yaml), device="cpu")


@pytest.fixture(scope="session")
def voice_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("voice") / "reference.wav"
    subprocess.run(["espeak-ng", "-v", "ar", "-w", str(path), VOICE_TEXT], check=True)
    return path


@pytest.fixture(scope="session")
def clip_bytes(voice_clip: Path) -> bytes:
    return voice_clip.read_bytes()


@dataclass
class Api:
    """An application in process, its client, and a voice uploaded to it."""

    client: TestClient
    voice_id: str
    settings: ServeSettings

    @property
    def state(self):
        return self.client.app.state.natiq


def open_api(
    folder: Path, synthesizer, clip: bytes, *, key: bool = True, **overrides
) -> tuple[Api, TestClient]:
    settings = make_settings(folder, key=key, **overrides)
    headers = {"Authorization": f"Bearer {API_KEY}"} if key else {}
    client = TestClient(create_app(settings, synthesizer), base_url=BASE_URL, headers=headers)
    client.__enter__()
    response = client.post(
        "/v1/voices",
        files={"file": ("reference.wav", clip, "audio/wav")},
        data={"text": VOICE_TEXT, "name": "espeak"},
    )
    assert response.status_code == 201, response.text
    return Api(client, response.json()["id"], settings), client


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory, synthesizer, clip_bytes) -> Iterator[Api]:
    """The shared application: an API key, small limits, one voice named 'espeak'."""
    opened, client = open_api(tmp_path_factory.mktemp("api"), synthesizer, clip_bytes)
    yield opened
    client.__exit__(None, None, None)


@pytest.fixture
def make_api(tmp_path: Path, synthesizer, clip_bytes) -> Iterator[Callable[..., Api]]:
    """A fresh application with other settings (``key=False`` for none), closed after the test."""
    clients: list[TestClient] = []

    def make(**overrides) -> Api:
        folder = tmp_path / f"app{len(clients)}"
        folder.mkdir()
        opened, client = open_api(folder, synthesizer, clip_bytes, **overrides)
        clients.append(client)
        return opened

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def api_key() -> str:
    return API_KEY


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def espeak_wav() -> Callable[[str], bytes]:
    """Real Arabic speech from espeak-ng, as wav bytes."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")

    def speak(text: str) -> bytes:
        return subprocess.run(
            ["espeak-ng", "-v", "ar", "--stdout", text], check=True, capture_output=True
        ).stdout

    return speak


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the page tests of a module (a fake microphone that
    plays a tone, its permission granted). Module, not session: while Playwright's
    sync API is open, the main thread has a running asyncio loop, and the tests
    that call ``asyncio.run`` (Wyoming) would fail after the page tests."""
    from support.browser import CHROMIUM, CHROMIUM_ARGS, FAKE_MEDIA_ARGS

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *FAKE_MEDIA_ARGS], headless=True
        )
        try:
            yield launched
        finally:
            launched.close()
