"""Load test for ``natiq serve`` on loopback: plain load, interactive-vs-batch, and abuse.

Three scenarios, each printing its figures and, where the issue sets a bar, a
PASS/FAIL line. The reference every figure is compared with is measured in
the same run (this machine is shared and noisy: ratios, not absolutes):

- ``load`` (default): N concurrent clients post ``/v1/audio/speech`` for a
  bounded time and read each answer whole: requests/s, p50/p95 latency, how
  many were refused with 429 (the bounded queue at work) and every other
  error (timeouts, 5xx, broken connections), which should be 0.
- ``mixed``: one interactive client (requests one after another, with a short
  pause) alone, then while a batch of long items runs. Bar: interactive p95
  while the batch runs at most 2x its idle p95, 0 errors, 0 timeouts.
- ``abuse``: clients send, in a loop, the requests that used to be expensive -
  text that verbalization makes 21x longer ("ﷺ" x 2000), digits ("1" x 2000),
  a batch of 200 such lines, and a 1-hour FLAC of silence (~0.5 MB, 675 MB
  once decoded) as a voice upload and as ``/tts`` ``voice_wav`` - while
  ``/health`` is polled and the server's memory sampled. Bar: ``/health`` p95
  under 200 ms, server RSS under its idle value + ``--rss-margin-mb``, every
  abusive request refused with 4xx, 0 server errors.

Either point it at a running server (``--url``; only loopback addresses are
accepted; ``abuse`` then cannot sample memory) or let it start one
(``--model``, or ``--tiny`` for a random tiny Pocket TTS model), upload an
espeak-ng reference voice, and stop it afterwards:

    python benchmarks/serve_load.py --tiny --clients 4 --duration 20
    python benchmarks/serve_load.py --tiny --clients 16 --duration 20 --max-queue 2
    python benchmarks/serve_load.py --tiny --scenario mixed --duration 30
    python benchmarks/serve_load.py --tiny --scenario abuse --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
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
import numpy as np
import soundfile as sf

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_TEXT = "السلام عليكم ورحمة الله. كيف حالك اليوم؟"
LONG_TEXT = " ".join(
    [
        "ذهب الطالب إلى المكتبة في الصباح الباكر ليقرأ كتابا عن تاريخ العرب.",
        "وفي الطريق التقى بصديقه القديم فتحدثا طويلا عن أيام الدراسة.",
        "ثم جلسا في المقهى وشربا القهوة مع الحليب وتذكرا المعلمين.",
        "وعندما وصل إلى المكتبة وجدها مزدحمة بالطلاب والباحثين.",
    ]
    * 3
)
EXPANDING = ["ﷺ" * 2000, "1" * 2000]
GIB = 1024**3


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


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f} ms"


# ----- the plain load scenario
async def client_loop(
    http: httpx.AsyncClient,
    url: str,
    body: dict,
    stop_at: float,
    tally: Tally,
    timeout: float,
    pause: float = 0.0,
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
        if pause:
            await asyncio.sleep(pause)


async def run_load(
    url: str, headers: dict, voice: str, args: argparse.Namespace, clients: int, duration: float
) -> Tally:
    tally = Tally()
    body = {"model": "natiq", "input": args.text, "voice": voice, "response_format": "pcm"}
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(headers=headers, limits=limits) as http:
        stop_at = time.monotonic() + duration
        await asyncio.gather(
            *(
                client_loop(http, url, body, stop_at, tally, args.timeout, args.pause)
                for _ in range(clients)
            )
        )
    return tally


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
        f"latency ok: p50 {ms(tally.ok_latencies, 50)}, p95 {ms(tally.ok_latencies, 95)}"
        + (f", mean {statistics.mean(tally.ok_latencies) * 1000:.0f} ms" if ok else "")
    )
    if busy:
        print(
            f"latency 429: p50 {percentile(tally.busy_latencies, 50) * 1000:.1f} ms, p95 {percentile(tally.busy_latencies, 95) * 1000:.1f} ms"
        )


# ----- the mixed scenario
def metric(url: str, headers: dict, name: str) -> float:
    text = httpx.get(url + "/metrics", headers=headers, timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def run_mixed(url: str, headers: dict, voice: str, args: argparse.Namespace) -> bool:
    idle = asyncio.run(run_load(url, headers, voice, args, 1, args.idle_duration))
    lines = [json.dumps({"input": LONG_TEXT, "voice": voice}) for _ in range(args.batch_items)]
    submitted = httpx.post(
        url + "/v1/batch", headers=headers, content="\n".join(lines).encode(), timeout=120
    )
    submitted.raise_for_status()
    job = submitted.json()["id"]
    time.sleep(1.0)  # the batch is generating
    preempted_before = metric(url, headers, "natiq_batch_preemptions_total")
    busy = asyncio.run(run_load(url, headers, voice, args, 1, args.duration))
    status = httpx.get(url + f"/v1/batch/{job}", headers=headers, timeout=30).json()
    preempted = metric(url, headers, "natiq_batch_preemptions_total") - preempted_before
    httpx.delete(url + f"/v1/batch/{job}", headers=headers, timeout=30)
    done = status["completed"] + status["failed"]
    print(
        f"text_chars={len(args.text)} pause={args.pause:g}s; batch: {args.batch_items} items of "
        f"{len(LONG_TEXT)} characters"
    )
    print(
        f"idle   ({args.idle_duration:g} s): {len(idle.ok_latencies)} ok, p50 {ms(idle.ok_latencies, 50)}, "
        f"p95 {ms(idle.ok_latencies, 95)}, errors {idle.errors or 0}"
    )
    print(
        f"mixed  ({args.duration:g} s): {len(busy.ok_latencies)} ok, p50 {ms(busy.ok_latencies, 50)}, "
        f"p95 {ms(busy.ok_latencies, 95)}, errors {busy.errors or 0}"
    )
    print(
        f"batch meanwhile: {done}/{status['total']} items finished, {preempted:.0f} pieces set aside "
        f"for interactive requests, status {status['status']!r} (then deleted)"
    )
    ratio = percentile(busy.ok_latencies, 95) / percentile(idle.ok_latencies, 95)
    errors = sum(busy.errors.values()) + sum(idle.errors.values())
    timeouts = busy.errors.get("timeout", 0) + idle.errors.get("timeout", 0)
    passed = ratio <= 2.0 and errors == 0 and busy.ok_latencies != []
    print(
        f"{'PASS' if passed else 'FAIL'} mixed: interactive p95 {ratio:.2f}x idle (bar 2x), "
        f"{errors} errors, {timeouts} timeouts"
    )
    return passed


# ----- the abuse scenario
def silent_flac(seconds: int, rate: int = 48000) -> bytes:
    """``seconds`` of silence as FLAC, written block by block (an hour is ~0.5 MB)."""
    buffer = io.BytesIO()
    block = np.zeros(rate * 60, dtype=np.int16)
    with sf.SoundFile(buffer, "w", rate, 1, format="FLAC", subtype="PCM_16") as handle:
        for _ in range(seconds // 60):
            handle.write(block)
    return buffer.getvalue()


def server_rss(pid: int | None) -> float | None:
    """Resident memory of the server process and its children, in MB."""
    if pid is None:
        return None
    import psutil

    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total / 1e6


async def poll_health(http: httpx.AsyncClient, url: str, stop_at: float) -> list[float]:
    latencies = []
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        await http.get(url + "/health", timeout=30)
        latencies.append(time.perf_counter() - start)
        await asyncio.sleep(0.05)
    return latencies


async def sample_rss(pid: int | None, stop_at: float) -> list[float]:
    samples = []
    while time.monotonic() < stop_at and pid is not None:
        samples.append(await asyncio.to_thread(server_rss, pid))
        await asyncio.sleep(0.25)
    return samples


async def abuse_loop(
    http: httpx.AsyncClient, url: str, voice: str, bomb: bytes, stop_at: float, seen: dict
) -> None:
    batch = "\n".join(json.dumps({"input": EXPANDING[0], "voice": voice}) for _ in range(200))
    requests = [
        ("speech ﷺx2000", lambda: http.post(url + "/v1/audio/speech", json={"input": EXPANDING[0], "voice": voice})),
        ("speech 1x2000", lambda: http.post(url + "/v1/audio/speech", json={"input": EXPANDING[1], "voice": voice})),
        ("batch 200x ﷺx2000", lambda: http.post(url + "/v1/batch", content=batch.encode())),
        ("voice 1-h FLAC", lambda: http.post(url + "/v1/voices", files={"file": ("bomb.flac", bomb)})),
        ("tts 1-h FLAC", lambda: http.post(url + "/tts", data={"text": "مرحبا"}, files={"voice_wav": ("bomb.flac", bomb)})),
    ]  # fmt: skip
    turn = 0
    while time.monotonic() < stop_at:
        name, send = requests[turn % len(requests)]
        turn += 1
        start = time.perf_counter()
        try:
            response = await send()
            outcome = str(response.status_code)
        except httpx.TimeoutException:
            outcome = "timeout"
        except httpx.TransportError as exc:
            outcome = type(exc).__name__
        kinds = seen.setdefault(name, {})
        kinds[outcome] = kinds.get(outcome, 0) + 1
        seen.setdefault("_latency", []).append(time.perf_counter() - start)


async def abuse(
    url: str, headers: dict, voice: str, pid: int | None, args: argparse.Namespace
) -> tuple[list[float], list[float], list[float], list[float], dict]:
    bomb = silent_flac(3600)
    async with httpx.AsyncClient(headers=headers, timeout=args.timeout) as http:
        idle_until = time.monotonic() + args.idle_duration
        idle_health, idle_rss = await asyncio.gather(
            poll_health(http, url, idle_until), sample_rss(pid, idle_until)
        )
        seen: dict = {"_bomb_bytes": len(bomb)}
        stop_at = time.monotonic() + args.duration
        busy_health, busy_rss, *_ = await asyncio.gather(
            poll_health(http, url, stop_at),
            sample_rss(pid, stop_at),
            *(abuse_loop(http, url, voice, bomb, stop_at, seen) for _ in range(args.clients)),
        )
    return idle_health, busy_health, idle_rss, busy_rss, seen


def run_abuse(url: str, headers: dict, voice: str, pid: int | None, args) -> bool:
    idle_health, busy_health, idle_rss, busy_rss, seen = asyncio.run(
        abuse(url, headers, voice, pid, args)
    )
    latencies = seen.pop("_latency", [])
    bomb_bytes = seen.pop("_bomb_bytes")
    print(
        f"{args.clients} abusive clients for {args.duration:g} s; the FLAC bomb is {bomb_bytes} bytes "
        "(1 hour at 48 kHz)"
    )
    refused_only = True
    for name, outcomes in seen.items():
        print(f"  {name}: {dict(sorted(outcomes.items()))}")
        refused_only &= all(k.isdigit() and 400 <= int(k) < 500 for k in outcomes)
    print(f"abusive request latency: p50 {ms(latencies, 50)}, p95 {ms(latencies, 95)}")
    print(
        f"/health idle: p50 {ms(idle_health, 50)}, p95 {ms(idle_health, 95)}; under abuse: "
        f"p50 {ms(busy_health, 50)}, p95 {ms(busy_health, 95)}, max {max(busy_health) * 1000:.0f} ms "
        f"({len(busy_health)} polls)"
    )
    rss_ok = True
    if busy_rss:
        base = statistics.median(idle_rss)
        peak = max(busy_rss)
        rss_ok = peak <= base + args.rss_margin_mb
        print(
            f"server RSS: idle {base:.0f} MB, peak under abuse {peak:.0f} MB (+{peak - base:.0f} MB; "
            f"bar +{args.rss_margin_mb:g} MB)"
        )
    else:
        print("server RSS: not sampled (the server was not started by this script)")
    health_p95 = percentile(busy_health, 95)
    passed = health_p95 < 0.2 and rss_ok and refused_only
    print(
        f"{'PASS' if passed else 'FAIL'} abuse: /health p95 {health_p95 * 1000:.0f} ms (bar 200 ms), "
        f"RSS {'within' if rss_ok else 'over'} its bound, abusive requests "
        f"{'all refused with 4xx' if refused_only else 'NOT all refused with 4xx'}"
    )
    return passed


# ----- a server of our own
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=["load", "mixed", "abuse"], default="load")
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
    parser.add_argument("--clients", type=int, default=4, help="load and abuse: concurrent clients")
    parser.add_argument(
        "--duration", type=float, default=20.0, help="seconds of load (new requests stop after it)"
    )
    parser.add_argument(
        "--idle-duration",
        type=float,
        default=10.0,
        help="mixed and abuse: seconds of the idle reference",
    )
    parser.add_argument(
        "--pause", type=float, default=None, help="seconds between a client's requests (mixed: 0.2)"
    )
    parser.add_argument("--batch-items", type=int, default=40, help="mixed: items in the batch")
    parser.add_argument(
        "--rss-margin-mb", type=float, default=150.0, help="abuse: allowed RSS growth over idle"
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
    if args.pause is None:
        args.pause = 0.2 if args.scenario == "mixed" else 0.0

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with tempfile.TemporaryDirectory(prefix="natiq-load-") as tmp:
        proc = None
        url = args.url
        if not url:
            proc, url = start_server(args, Path(tmp))
        print(
            f"scenario {args.scenario}; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
            f"on {os.cpu_count()} CPUs before the run"
        )
        passed = True
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
            if args.scenario == "load":
                tally = asyncio.run(
                    run_load(url, headers, voice, args, args.clients, args.duration)
                )
                report(tally, args, int(health["sample_rate"]))
            elif args.scenario == "mixed":
                passed = run_mixed(url, headers, voice, args)
            else:
                passed = run_abuse(url, headers, voice, proc.pid if proc else None, args)
            print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
