"""Load test for ``natiq serve``: N concurrent clients for a bounded time on loopback.

Each client posts ``/v1/audio/speech`` in a loop and reads the whole answer.
At the end the script prints requests/s, p50/p95 latency of the successful
requests, how many were refused with 429 (the server's bounded queue at work)
and every other error (timeouts, 5xx, broken connections), which should be 0.

Either point it at a running server (``--url``; only loopback addresses are
accepted) or let it start one (``--model``, or ``--tiny`` for a random tiny
Pocket TTS model), upload an espeak-ng reference voice, and stop it afterwards:

    python benchmarks/serve_load.py --tiny --clients 4 --duration 20
    python benchmarks/serve_load.py --tiny --clients 16 --duration 20 --max-queue 2
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_TEXT = "السلام عليكم ورحمة الله. كيف حالك اليوم؟"


@dataclass
class Tally:
    ok_latencies: list[float] = field(default_factory=list)
    busy_latencies: list[float] = field(default_factory=list)
    audio_bytes: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def client_loop(
    http: httpx.AsyncClient, url: str, body: dict, stop_at: float, tally: Tally, timeout: float
) -> None:
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        try:
            response = await http.post(url + "/v1/audio/speech", json=body, timeout=timeout)
        except httpx.TimeoutException:
            tally.error("timeout")
            continue
        except httpx.TransportError as exc:
            tally.error(type(exc).__name__)
            await asyncio.sleep(0.1)
            continue
        elapsed = time.perf_counter() - start
        if response.status_code == 200:
            tally.ok_latencies.append(elapsed)
            tally.audio_bytes += len(response.content)
        elif response.status_code == 429:
            tally.busy_latencies.append(elapsed)
            await asyncio.sleep(float(response.headers.get("retry-after", "1")) * 0.2)
        else:
            tally.error(f"http {response.status_code}")


async def run_load(url: str, headers: dict, voice: str, args: argparse.Namespace) -> Tally:
    tally = Tally()
    body = {"model": "natiq", "input": args.text, "voice": voice, "response_format": "pcm"}
    limits = httpx.Limits(max_connections=args.clients + 2)
    async with httpx.AsyncClient(headers=headers, limits=limits) as http:
        stop_at = time.monotonic() + args.duration
        await asyncio.gather(
            *(
                client_loop(http, url, body, stop_at, tally, args.timeout)
                for _ in range(args.clients)
            )
        )
    return tally


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen, str]:
    model = args.model
    if args.tiny:
        from natiq.backends.pocket.tiny import write_tiny_model

        model = str(write_tiny_model(workdir / "tiny"))
    port = free_port()
    command = [
        sys.executable, "-m", "natiq.cli.main", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--model", model, "--device", args.device,
        "--data-dir", str(workdir / "data"),
        "--max-concurrency", str(args.max_concurrency), "--max-queue", str(args.max_queue),
    ]  # fmt: skip
    if args.max_seconds:
        command += ["--max-seconds", str(args.max_seconds)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited:\n{(workdir / 'server.log').read_text()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    sys.exit("the server did not start within 180 s")


def ensure_voice(url: str, headers: dict, voice: str | None) -> str:
    if voice:
        return voice
    clip = subprocess.run(
        ["espeak-ng", "-v", "ar", "--stdout", "السلام عليكم ورحمة الله وبركاته"],
        check=True,
        capture_output=True,
    ).stdout
    response = httpx.post(
        url + "/v1/voices",
        headers=headers,
        files={"file": ("ref.wav", io.BytesIO(clip), "audio/wav")},
        timeout=120,
    )
    response.raise_for_status()
    return response.json()["id"]


def report(tally: Tally, args: argparse.Namespace, sample_rate: int) -> None:
    ok = len(tally.ok_latencies)
    busy = len(tally.busy_latencies)
    errors = sum(tally.errors.values())
    audio_s = tally.audio_bytes / 2 / sample_rate
    print(f"clients={args.clients} duration={args.duration:g}s text_chars={len(args.text)}")
    print(
        f"requests: {ok + busy + errors} (ok {ok}, 429 {busy}, errors {errors} {tally.errors or ''})"
    )
    print(
        f"throughput: {ok / args.duration:.2f} ok requests/s, {audio_s / args.duration:.2f} s of audio per s"
    )
    print(
        f"latency ok: p50 {percentile(tally.ok_latencies, 50) * 1000:.0f} ms, "
        f"p95 {percentile(tally.ok_latencies, 95) * 1000:.0f} ms"
        + (f", mean {statistics.mean(tally.ok_latencies) * 1000:.0f} ms" if ok else "")
    )
    if busy:
        print(
            f"latency 429: p50 {percentile(tally.busy_latencies, 50) * 1000:.1f} ms, p95 {percentile(tally.busy_latencies, 95) * 1000:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server on loopback, e.g. http://127.0.0.1:8000")
    parser.add_argument("--model", help="start a server with this model (YAML/name)")
    parser.add_argument(
        "--tiny", action="store_true", help="start a server with a random tiny Pocket model"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--api-key", default=os.environ.get("NATIQ_API_KEY"))
    parser.add_argument(
        "--voice", help="voice id/name on the server (default: upload an espeak-ng clip)"
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--duration", type=float, default=20.0, help="seconds of load (new requests stop after it)"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="per-request timeout, counted as an error"
    )
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument(
        "--max-concurrency", type=int, default=1, help="for a server this script starts"
    )
    parser.add_argument("--max-queue", type=int, default=8, help="for a server this script starts")
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="for a server this script starts"
    )
    args = parser.parse_args()
    if bool(args.url) == bool(args.model or args.tiny):
        parser.error("give either --url or one of --model/--tiny")
    if args.url and urlparse(args.url).hostname not in LOOPBACK:
        parser.error("only loopback servers may be load-tested (127.0.0.1, localhost, ::1)")

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with tempfile.TemporaryDirectory(prefix="natiq-load-") as tmp:
        proc = None
        url = args.url
        if not url:
            proc, url = start_server(args, Path(tmp))
        try:
            health = httpx.get(url + "/health", timeout=10).json()
            voice = ensure_voice(url, headers, args.voice)
            warm = httpx.post(
                url + "/v1/audio/speech",
                headers=headers,
                json={
                    "model": "natiq",
                    "input": args.text,
                    "voice": voice,
                    "response_format": "pcm",
                },
                timeout=args.timeout,
            )
            warm.raise_for_status()
            tally = asyncio.run(run_load(url, headers, voice, args))
            report(tally, args, int(health["sample_rate"]))
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    main()
