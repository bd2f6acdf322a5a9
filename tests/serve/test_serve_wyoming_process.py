"""Where the Wyoming server may listen, and the real ``natiq serve --no-http
--wyoming`` command in its own process: voices it finds on disk, audio, and
the SIGTERM that stops it."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import numpy as np
import pytest
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeVoice

from natiq.common.errors import NatiqError
from natiq.serve.app import create_app
from natiq.serve.settings import ServeSettings
from natiq.serve.voices import UploadLimits, VoiceStore
from natiq.serve.wyoming import WyomingAddress
from natiq.serve.wyoming.address import USAGE
from support.serve import VOICE_TEXT, ServerProcess, make_settings


def test_addresses_are_tcp_host_port_or_a_unix_socket():
    tcp = WyomingAddress.parse("tcp://127.0.0.1:10200")
    assert (tcp.host, tcp.port, tcp.path) == ("127.0.0.1", 10200, None)
    assert WyomingAddress.parse("tcp://[::1]:0").host == "::1"
    assert WyomingAddress.parse("unix:///run/natiq.sock").path == "/run/natiq.sock"
    for bad, reason in [
        ("http://127.0.0.1:10200", "unknown scheme"),
        ("127.0.0.1:10200", "unknown scheme"),
        ("tcp://127.0.0.1", "needs a host and a port"),
        ("tcp://:10200", "needs a host and a port"),
        ("tcp://127.0.0.1:10200/tts", "needs a host and a port"),
        ("tcp://127.0.0.1:99999", "the port must be 0-65535"),
        ("unix://", "names no socket path"),
    ]:
        with pytest.raises(NatiqError) as refused:
            WyomingAddress.parse(bad)
        message = str(refused.value)
        assert message.startswith(f"--wyoming {bad!r}") and message.endswith(f"{reason}; {USAGE}")


def test_wyoming_has_no_key_so_only_loopback_or_insecure_or_a_socket_is_allowed():
    for allowed in ("tcp://127.0.0.1:1", "tcp://localhost:1", "tcp://[::1]:1", "unix:///s.sock"):
        WyomingAddress.parse(allowed).check_exposure(insecure=False)
    for exposed in ("tcp://0.0.0.0:10200", "tcp://192.168.1.5:10200", "tcp://[::]:10200"):
        address = WyomingAddress.parse(exposed)
        with pytest.raises(NatiqError, match=r"has no authentication.*--insecure"):
            address.check_exposure(insecure=False)
        address.check_exposure(insecure=True)


def test_the_server_refuses_an_open_wyoming_address_before_loading_any_model(tmp_path: Path):
    # an API key protects the HTTP routes only; without --insecure nothing starts, and the
    # refusal comes before the model would load (there is none to load here)
    settings = make_settings(tmp_path, wyoming="tcp://0.0.0.0:10200")
    with pytest.raises(NatiqError, match=r"refusing to serve Wyoming on 0\.0\.0\.0"):
        create_app(settings)
    with pytest.raises(NatiqError, match="--no-http needs --wyoming"):
        ServeSettings(http=False)


@pytest.mark.slow
def test_natiq_serve_no_http_speaks_wyoming_alone_and_stops_on_sigterm(
    tmp_path: Path, tiny_yaml: Path, clip_bytes: bytes
):
    data = tmp_path / "data"
    limits = UploadLimits(1_000_000, 0.5, 30.0)
    voice = VoiceStore(data / "voices", limits).add(clip_bytes, name="espeak", text=VOICE_TEXT)
    server = ServerProcess([], tmp_path / "server.log")
    server.args = [
        "--no-http", "--wyoming", f"tcp://127.0.0.1:{server.port}", "--model", str(tiny_yaml),
        "--device", "cpu", "--data-dir", str(data), "--max-seconds", "0.48",
    ]  # fmt: skip
    answers: dict[str, object] = {}

    async def ask(with_synthesis: bool) -> None:
        async with AsyncTcpClient("127.0.0.1", server.port, read_timeout=30) as client:
            await client.write_event(Describe().event())
            answers["info"] = Info.from_event(await client.read_event())
            if with_synthesis:
                await client.write_event(Synthesize("مرحبا", SynthesizeVoice("espeak")).event())
                events = []
                while not events or events[-1].type not in ("audio-stop", "error"):
                    events.append(await client.read_event())
                answers["events"] = events

    def ready() -> bool:
        try:
            asyncio.run(ask(with_synthesis=False))
        except OSError:
            return False
        return True

    server.start(ready=ready)
    try:
        asyncio.run(ask(with_synthesis=True))
    finally:
        code = server.stop(signal.SIGTERM)
    voices = answers["info"].tts[0].voices
    assert [(v.name, v.description) for v in voices] == [(voice.id, "espeak")]
    events = answers["events"]
    assert [e.type for e in events[:1] + events[-1:]] == ["audio-start", "audio-stop"]
    assert events[0].data | {"timestamp": None} == {
        "rate": 24000,
        "width": 2,
        "channels": 1,
        "timestamp": None,
    }
    samples = np.frombuffer(b"".join(e.payload for e in events[1:-1]), dtype="<i2")
    assert samples.size == 6 * 1920 and np.abs(samples).max() > 0  # --max-seconds 0.48
    assert code == 0, server.log()
    assert "stopping the Wyoming server" in server.log()
    with pytest.raises(OSError):
        asyncio.run(ask(with_synthesis=False))
