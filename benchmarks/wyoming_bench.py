"""wyoming-bench (PyPI) against natiq's Wyoming server, with natiq's HTTP route as the reference.

1. Makes (or reuses) a virtual environment of its own for ``wyoming-bench``
   (``--bench-venv``, default ``$TMPDIR/wybench``): the benchmark tool brings
   its own pins and never enters natiq's environment.
2. Starts ``natiq serve --wyoming tcp://127.0.0.1:P`` (HTTP beside it) on the
   100M Pocket TTS architecture with random weights (the export dir of
   ``benchmarks/pocket_speak.py``; ``--tiny`` for the tiny test model), one
   thread (``NATIQ_NUM_THREADS``, like a small Home Assistant box), each piece
   capped at ``--max-seconds`` (random weights rarely decide to stop), and
   uploads an espeak-ng Arabic voice over HTTP.
3. Runs ``wyoming-bench tts 127.0.0.1:P --mode both`` on four Arabic texts of
   one to four sentences (the shape of wyoming-bench's own English set) with
   that voice, prints its report, and counts its failures in each mode.
4. The reference, in the same run: the same texts and rounds through natiq's
   HTTP route (``/v1/audio/speech``, PCM streamed as generated) and through
   Wyoming ``synthesize``, request by request in alternating order from one
   client process, so machine load and client cost hit both alike; prints
   the Wyoming/HTTP ratios of time to first audio and total time (what the
   protocol costs over HTTP). wyoming-bench's own client is another process,
   so its figures are not compared with HTTP directly.

``--no-unique`` is passed to wyoming-bench: natiq keeps no synthesis cache to
defeat, and the random hex nonce it would append is not Arabic text.

    .venv/bin/python benchmarks/wyoming_bench.py                 # 100M architecture
    .venv/bin/python benchmarks/wyoming_bench.py --tiny --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from pocket_speak import write_export_dir  # noqa: E402 - the sibling benchmark's model
from serve_load import ensure_voice, free_port  # noqa: E402 - the sibling benchmark's helpers

WYOMING_BENCH = "wyoming-bench==2026.10.0"
TEXTS = [
    "الطقس اليوم مشمس ودافئ مع نسيم خفيف.",
    "قفز الثعلب البني السريع فوق الكلب الكسول. هذه الجملة تختبر الكلام بجملتين.",
    "تحويل النص إلى كلام مجال رائع. النماذج العصبية الحديثة تنتج صوتا طبيعيا. "
    "نقيس أداءها لنقارن بينها.",
    "مرحبا بكم في اختبار بروتوكول وايومنغ. نقيس زمن الاستجابة وسلوك البث والإنتاجية. "
    "يتراوح طول كل عينة بين جملة وأربع جمل. تساعدنا النتائج على اختيار أفضل محرك للاستخدام الفوري.",
]
MEASUREMENT = re.compile(
    r"^\[(?P<mode>non_streaming|streaming)\] r\d+ sent=\d+ ttft=(?P<ttft>\d+)ms "
    r"total=(?P<total>\d+)ms audio=(?P<audio>[\d.]+)s bytes=\d+ cycles=(?P<cycles>\d+)"
)
FAILURE = re.compile(r"^\[(?P<mode>non_streaming|streaming)\] r\d+ FAIL: (?P<error>.*)")
MODES = ("non_streaming", "streaming")
RATE = 24000


@dataclass
class Runs:
    """First-audio and total seconds, audio seconds and audio cycles of successful runs."""

    ttft: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    audio: list[float] = field(default_factory=list)
    cycles: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.total:
            return f"ok=0 errors={len(self.errors)}"
        return (
            f"ok={len(self.total)} errors={len(self.errors)}  first audio mean "
            f"{statistics.fmean(self.ttft) * 1000:.0f} ms (p95 {p95(self.ttft) * 1000:.0f})  "
            f"total mean {statistics.fmean(self.total) * 1000:.0f} ms  "
            f"RTF {sum(self.total) / sum(self.audio):.2f}  audio mean {statistics.fmean(self.audio):.2f} s"
        )


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench_venv(path: Path) -> Path:
    """The wyoming-bench executable of its own virtual environment, made on first use."""
    executable = path / "bin" / "wyoming-bench"
    if executable.exists():
        return executable
    print(f"[setup] installing {WYOMING_BENCH} into its own environment {path}", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(path)], check=True)
    subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "install", "-q", WYOMING_BENCH], check=True
    )
    return executable


def start_server(
    model_args: list[str], workdir: Path, max_seconds: float
) -> tuple[subprocess.Popen, str, int]:
    http_port, wyoming_port = free_port(), free_port()
    command = [
        sys.executable, "-m", "natiq.cli.main", "serve", "--host", "127.0.0.1",
        "--port", str(http_port), "--wyoming", f"tcp://127.0.0.1:{wyoming_port}",
        *model_args, "--device", "cpu", "--data-dir", str(workdir / "data"),
        "--max-seconds", str(max_seconds),
    ]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", NATIQ_NUM_THREADS="1")
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited:\n{(workdir / 'server.log').read_text()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url, wyoming_port
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    sys.exit("the server did not start within 300 s")


def http_once(client: httpx.Client, url: str, text: str, voice: str) -> tuple[float, float, float]:
    """First-audio seconds, total seconds and audio seconds of /v1/audio/speech (PCM, streamed)."""
    body = {"model": "natiq", "input": text, "voice": voice, "response_format": "pcm"}
    started = time.perf_counter()
    first, size = None, 0
    with client.stream("POST", url + "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        for part in response.iter_bytes():
            if part and first is None:
                first = time.perf_counter() - started
            size += len(part)
    return first or 0.0, time.perf_counter() - started, size / 2 / RATE


async def wyoming_once(port: int, text: str, voice: str) -> tuple[float, float, float]:
    """The same through Wyoming ``synthesize``, read with the wyoming library's client."""
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize, SynthesizeVoice

    async with AsyncTcpClient("127.0.0.1", port, read_timeout=300) as client:
        started = time.perf_counter()
        first, size = None, 0
        await client.write_event(Synthesize(text, SynthesizeVoice(voice)).event())
        while (event := await client.read_event()) is not None and event.type != "audio-stop":
            if event.type == "error":
                raise RuntimeError(event.data)
            if event.type == "audio-chunk":
                first = first if first is not None else time.perf_counter() - started
                size += len(event.payload or b"")
        return first or 0.0, time.perf_counter() - started, size / 2 / RATE


def interleaved_reference(url: str, port: int, voice: str, rounds: int) -> tuple[Runs, Runs]:
    """HTTP and Wyoming, request by request in alternating order, from one client process."""
    http, wyoming = Runs(), Runs()
    with httpx.Client(timeout=300) as client:
        for round_no in range(rounds):
            for index, text in enumerate(TEXTS):
                pair = [
                    (http, lambda text=text: http_once(client, url, text, voice)),
                    (wyoming, lambda text=text: asyncio.run(wyoming_once(port, text, voice))),
                ]
                for runs, once in pair[:: 1 if (round_no + index) % 2 == 0 else -1]:
                    first, total, audio = once()
                    runs.ttft.append(first)
                    runs.total.append(total)
                    runs.audio.append(audio)
    return http, wyoming


def run_wyoming_bench(executable: Path, port: int, voice: str, rounds: int) -> dict[str, Runs]:
    command = [
        str(executable), "tts", f"127.0.0.1:{port}", "--mode", "both", "--texts", *TEXTS,
        "--config", json.dumps({"voice": {"name": voice}}), "--rounds", str(rounds),
        "--warmup", "1", "--no-unique", "--timeout", "120", "-v",
    ]  # fmt: skip
    print("$ wyoming-bench tts 127.0.0.1:PORT --mode both --texts <4 Arabic texts> "
          f"--config '{{\"voice\": {{\"name\": \"{voice}\"}}}}' --rounds {rounds} --warmup 1 "
          "--no-unique --timeout 120 -v", flush=True)  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    print(done.stdout, flush=True)
    if done.returncode or done.stderr.strip():
        print(f"wyoming-bench exited with {done.returncode}\n{done.stderr[-3000:]}", flush=True)
    runs = {mode: Runs() for mode in MODES}
    for line in done.stdout.splitlines():
        if match := MEASUREMENT.match(line.strip()):
            mode = runs[match["mode"]]
            mode.ttft.append(int(match["ttft"]) / 1000)
            mode.total.append(int(match["total"]) / 1000)
            mode.audio.append(float(match["audio"]))
            mode.cycles.append(int(match["cycles"]))
        elif match := FAILURE.match(line.strip()):
            runs[match["mode"]].errors.append(match["error"])
        elif "NOT SUPPORTED" in line:
            runs["streaming"].errors.append(line.strip())
    if done.returncode:
        runs["non_streaming"].errors.append(f"wyoming-bench exited with {done.returncode}")
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="the tiny test model, not the 100M one")
    parser.add_argument("--model", help="a model to serve instead (YAML, export dir or name)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per text and mode")
    parser.add_argument("--max-seconds", type=float, default=2.0, help="cap per piece of text")
    parser.add_argument("--bench-venv", type=Path, default=Path(tempfile.gettempdir()) / "wybench")
    args = parser.parse_args()

    executable = bench_venv(args.bench_venv)
    with tempfile.TemporaryDirectory(prefix="natiq-wyoming-bench-") as tmp:
        workdir = Path(tmp)
        if args.model:
            model_args = ["--model", args.model]
        elif args.tiny:
            from natiq.backends.pocket.tiny import write_tiny_model

            model_args = ["--model", str(write_tiny_model(workdir / "tiny"))]
        else:
            print(
                "[setup] writing the 100M Pocket TTS architecture with random weights", flush=True
            )
            model_args = ["--checkpoint", str(write_export_dir(workdir / "export").parent)]
        proc, url, port = start_server(model_args, workdir, args.max_seconds)
        try:
            voice = ensure_voice(url, {}, None)
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"model {'tiny' if args.tiny else args.model or '100M random'}; "
                  f"--max-seconds {args.max_seconds}; one thread; load average {load} "
                  f"on {os.cpu_count()} CPUs before the run\n", flush=True)  # fmt: skip
            wyoming = run_wyoming_bench(executable, port, voice, args.rounds)
            http, direct = interleaved_reference(url, port, voice, args.rounds)
        finally:
            proc.terminate()
            proc.wait(30)

    print("wyoming-bench's runs, as parsed here:")
    for mode in MODES:
        print(f"  Wyoming {mode:<16} {wyoming[mode].line()}")
    print("The reference: the same texts and rounds, HTTP and Wyoming request by request in")
    print("alternating order from one client process (wyoming library client, httpx):")
    print(f"  HTTP /v1/audio/speech    {http.line()}")
    print(f"  Wyoming synthesize       {direct.line()}")
    print(
        f"  Wyoming / HTTP: first audio x{statistics.fmean(direct.ttft) / statistics.fmean(http.ttft):.2f}, "
        f"total x{statistics.fmean(direct.total) / statistics.fmean(http.total):.2f}"
    )
    plain, streamed = wyoming["non_streaming"], wyoming["streaming"]
    if streamed.total and plain.total:
        print(
            f"  Wyoming streaming / non-streaming: first audio x"
            f"{statistics.fmean(streamed.ttft) / statistics.fmean(plain.ttft):.2f}; "
            f"audio cycles per text {sorted(set(streamed.cycles))} (one per sentence)"
        )
    errors = {mode: wyoming[mode].errors for mode in MODES}
    expected = args.rounds * len(TEXTS)
    complete = all(len(wyoming[mode].total) == expected for mode in MODES)
    passed = complete and not any(errors.values())
    print(
        f"{'PASS' if passed else 'FAIL'} wyoming-bench: "
        + ", ".join(
            f"{mode} {len(wyoming[mode].total)}/{expected} ok, {len(errors[mode])} errors"
            for mode in MODES
        )
    )
    for mode, found in errors.items():
        for error in found[:5]:
            print(f"  {mode}: {error}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
