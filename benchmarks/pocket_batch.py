"""Batched Pocket streams against today's locked backend: same model, same requests, one run.

Builds the default ``english`` architecture (~100M parameters) with random
weights as a natiq export dir (as ``benchmarks/pocket_speak.py`` does), loads
it twice and, for 1, 2, 4 and 8 concurrent clients, runs the same requests
through:

- ``locked``: ``PocketBackend`` as the server used it until now: one stream at
  a time (pocket-tts's own two-thread generation under a lock), so extra
  clients wait their turn;
- ``batched``: ``PocketBackend(max_batch=8)``: every client's stream joins
  one loop that steps all of them per frame (``natiq.backends.pocket.batched``).

Each client sends requests back to back through ``generate_scheduled`` (the
server's entry point); client ``i`` starts ``i / N`` of a single request's
time after the first (arrivals spread as on a server, not all at one
instant). The measurement window opens once every client has started and
lasts ``--seconds``; then all streams are stopped. EOS is disabled so every
request is the same length; a request's seed depends only on its client and
rank, and the audio of each seed that completed in both variants is compared
(max abs difference). Printed: aggregate seconds of audio per second of
window, median / p95 first-chunk latency of the requests sent inside the
window, the 1-minute load average (the machine is shared), and the peak RSS
of each variant in a child process of its own (1 and 8 streams). Every
(variant, clients) pair runs once per round, rounds interleaved, and the
headline ratios are paired within a round (the machine is shared: its load
drifts). The CPU time the process spent per second of audio is printed too:
unlike speed, it hardly depends on what else the machine runs.

    .venv/bin/python benchmarks/pocket_batch.py [--streams 1 2 4 8] [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pocket_speak import model_text_of, proc_status_mb, voice_clip, write_export_dir

MAX_BATCH = 8
OUTLIER = 1e-5  # a per-seed difference above this is listed (rounding alone gives ~5e-8)


@dataclass
class Run:
    """What one variant did for one number of clients, inside the measurement window."""

    window_s: float = 0.0
    window_samples: int = 0
    window_cpu_s: float = 0.0  # CPU time of this whole process inside the window
    first_chunk_s: list[float] = field(default_factory=list)
    audio: dict[int, np.ndarray] = field(default_factory=dict)  # completed requests, by seed
    sample_rate: int = 24000

    @property
    def throughput(self) -> float:
        """Seconds of audio produced per second of the window."""
        return self.window_samples / self.sample_rate / self.window_s if self.window_s else 0.0

    @property
    def cpu_per_audio(self) -> float:
        """CPU seconds spent per second of audio (all threads): insensitive to other load."""
        audio_s = self.window_samples / self.sample_rate
        return self.window_cpu_s / audio_s if audio_s else float("nan")


def load_backend(export_dir: Path, max_batch: int):
    from natiq.backends.pocket.synthesis import PocketBackend

    return PocketBackend.load(
        checkpoint=export_dir, device="cpu", eos_threshold=float("inf"), max_batch=max_batch
    )


def one_request(backend, text: str, voice, seed: int) -> tuple[float, np.ndarray]:
    """(first-chunk latency, audio) of one request on its own."""
    from natiq.backends.base import SynthesisOptions

    started = time.perf_counter()
    first = None
    parts = []
    for chunk in backend.stream(text, voice, SynthesisOptions(seed=seed)):
        if first is None:
            first = time.perf_counter() - started
        parts.append(chunk)
    return first if first is not None else float("nan"), np.concatenate(parts)


def run_clients(backend, text: str, voice, clients: int, window_s: float, stagger_s: float) -> Run:
    """``clients`` threads send requests back to back through the server's entry point.

    Client ``i`` starts at ``i * stagger_s``; the window opens when the last
    one has started and lasts ``window_s``; then every stream is stopped.
    Audio is counted when a chunk arrives inside the window.
    """
    from natiq.backends.base import SynthesisOptions

    run = Run(window_s=window_s, sample_rate=backend.sample_rate)
    lock = threading.Lock()
    errors: list[BaseException] = []
    started = time.perf_counter()
    opens = started + stagger_s * (clients - 1)
    closes = opens + window_s

    def client(index: int) -> None:
        time.sleep(index * stagger_s)
        try:
            for r in itertools.count():
                if time.perf_counter() >= closes:
                    return
                seed = index * 1000 + r
                stop = threading.Event()
                asked = time.perf_counter()
                parts, first = [], None
                chunks = backend.generate_scheduled(
                    text, voice, SynthesisOptions(seed=seed), interactive=True, stop=stop
                )
                for chunk in chunks:
                    now = time.perf_counter()
                    if first is None:
                        first = now - asked
                    if now > closes:
                        stop.set()
                        break
                    parts.append(chunk)
                    if now >= opens:
                        with lock:
                            run.window_samples += chunk.size
                else:  # a whole request: kept to compare the variants seed by seed
                    with lock:
                        run.audio[seed] = np.concatenate(parts)
                if first is not None and asked >= opens:
                    with lock:
                        run.first_chunk_s.append(first)
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, opens - time.perf_counter()))
    cpu = time.process_time()
    time.sleep(max(0.0, closes - time.perf_counter()))
    run.window_cpu_s = time.process_time() - cpu
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return run


def step_costs(export_dir: Path, text: str, frames: int = 20) -> None:
    """Milliseconds of one FlowLM step (all rows) and one Mimi frame (all rows) at 1, 2, 4, 8 rows.

    The loop's own row classes on one thread, no other thread running: where
    the time of a frame goes, and how it grows with the rows.
    """
    import torch

    from natiq.backends.pocket import batched

    backend = load_backend(export_dir, 1)
    model = backend.model
    voice = backend.prepare_voice(voice_prompt(export_dir))
    segment = batched.plan_segments(model, text)[0]
    batched.relayout_linear_weights(model.flow_lm)  # as the loop does
    packed = batched.PackedLinears(model.flow_lm, batched.PACKED_ROWS)
    with torch.no_grad(), packed.active():
        prompt = batched.prompt_state(model, voice, segment.tokens)
        for rows in (1, 2, 4, 8):
            flow, mimi = batched.FlowRows(model), batched.MimiRows(model)
            for index in range(rows):
                stream = batched._Stream(
                    voice=voice,
                    generator=torch.Generator().manual_seed(index),
                    temperature=float(model.temp),
                    interactive=True,
                    stop=threading.Event(),
                    order=index,
                )
                stream.start(segment)
                flow.add_prompt(stream, prompt)
            mimi.apply(flow.ops)
            flow.ops = []
            for _ in range(3):  # warm-up
                latents = flow.step().latents
                mimi.decode(latents[:, None])
            started = time.perf_counter()
            for _ in range(frames):
                latents = flow.step().latents
            flowed = time.perf_counter()
            for _ in range(frames):
                mimi.decode(latents[:, None])
            decoded = time.perf_counter()
            print(
                f"{rows} rows: FlowLM {(flowed - started) / frames * 1000:5.1f} ms per step, "
                f"Mimi {(decoded - flowed) / frames * 1000:5.1f} ms per frame "
                f"(load {load_average():.1f})",
                flush=True,
            )


def child(variant: str, streams: int, export_dir: Path, text: str) -> None:
    """Load one variant, run ``streams`` concurrent requests once, print the peak RSS (MB) as JSON."""
    backend = load_backend(export_dir, MAX_BATCH if variant == "batched" else 1)
    voice = backend.prepare_voice(voice_prompt(export_dir))
    threads = [
        threading.Thread(target=one_request, args=(backend, text, voice, seed))
        for seed in range(streams)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        json.dumps({"variant": variant, "streams": streams, "peak_rss_mb": proc_status_mb("VmHWM")})
    )


def voice_prompt(export_dir: Path):
    from natiq.backends.base import VoicePrompt

    return VoicePrompt(audio=export_dir / "voice.wav")


def peak_rss(variant: str, streams: int, export_dir: Path, text: str) -> float:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            variant,
            "--child-streams",
            str(streams),
            "--workdir",
            str(export_dir.parent),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def load_average() -> float:
    return os.getloadavg()[0]


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def p95_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window per run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--step-costs",
        action="store_true",
        help="only time one FlowLM step and one Mimi frame at 1, 2, 4 and 8 rows, on this thread",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-streams", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import logging

    import torch

    torch.set_num_threads(1)
    # "Maximum generation length reached without EOS" is the point of eos_threshold=inf.
    logging.getLogger("pocket_tts").setLevel(logging.ERROR)

    workdir = args.workdir or Path(tempfile.gettempdir()) / "natiq-bench-pocket"
    export_dir = workdir / "export"
    if args.child:
        child(args.child, args.child_streams, export_dir, model_text_of(export_dir))
        return
    if max(args.streams) > MAX_BATCH:
        raise SystemExit(f"--streams goes up to the batch size, {MAX_BATCH}")

    from natiq.data.audio import save_wav

    if not ((export_dir / "bench.yaml").is_file() and (export_dir / "voice.wav").is_file()):
        started = time.perf_counter()
        write_export_dir(export_dir)
        save_wav(export_dir / "voice.wav", voice_clip(), 24000)
        print(f"model written in {time.perf_counter() - started:.1f} s: {export_dir}")
    text = model_text_of(export_dir)
    print(f"model text: {text!r}; torch threads {torch.get_num_threads()}; {os.cpu_count()} CPUs")
    if args.step_costs:
        step_costs(export_dir, text)
        return

    backends = {
        "locked": load_backend(export_dir, 1),
        "batched": load_backend(export_dir, MAX_BATCH),
    }
    voices = {name: b.prepare_voice(voice_prompt(export_dir)) for name, b in backends.items()}
    for name, backend in backends.items():  # warm-up; the locked one also times one request
        one_request(backend, text, voices[name], seed=10_000)
    started = time.perf_counter()
    one_request(backends["locked"], text, voices["locked"], seed=10_000)
    single_s = time.perf_counter() - started

    load_before = load_average()
    runs: dict[tuple[str, int], list[Run]] = {}
    for round_index in range(args.rounds):
        for position, clients in enumerate(args.streams):
            order = ["locked", "batched"]
            if (position + round_index) % 2:
                order.reverse()
            for name in order:
                run = run_clients(
                    backends[name], text, voices[name], clients, args.seconds, single_s / clients
                )
                runs.setdefault((name, clients), []).append(run)
                print(
                    f"round {round_index + 1} {name:>8} x{clients}: {run.throughput:5.2f} s audio/s, "
                    f"{run.cpu_per_audio:.2f} CPU s per audio s, first chunk median "
                    f"{median_ms(run.first_chunk_s):6.0f} ms (load {load_average():.1f})",
                    flush=True,
                )
    load_after = load_average()
    stats = backends["batched"]._loop.stats
    backends["batched"]._loop.close()  # its threads end before the interpreter does

    diffs = []
    outliers = []  # (clients, round, seed, difference) above OUTLIER
    for key, key_runs in runs.items():
        if key[0] != "batched":
            continue
        pairs = zip(key_runs, runs[("locked", key[1])], strict=True)
        for round_index, (batched, locked) in enumerate(pairs):
            for seed in sorted(set(batched.audio) & set(locked.audio)):
                audio, reference = batched.audio[seed], locked.audio[seed]
                if reference.shape != audio.shape:
                    raise SystemExit(
                        f"seed {seed}: {audio.shape} samples batched, {reference.shape} locked"
                    )
                diffs.append(float(np.abs(reference - audio).max()))
                if diffs[-1] > OUTLIER:
                    outliers.append((key[1], round_index + 1, seed, diffs[-1]))
    if not diffs:
        raise SystemExit("no request completed in both variants: give a longer --seconds")

    memory = {}
    if not args.skip_memory:
        for variant, streams in (("locked", 1), ("batched", 1), ("batched", MAX_BATCH)):
            memory[f"{variant}x{streams}"] = peak_rss(variant, streams, export_dir, text)

    def throughput(name: str, clients: int) -> float:
        return statistics.median(r.throughput for r in runs[(name, clients)])

    def cpu(name: str, clients: int) -> float:
        return statistics.median(r.cpu_per_audio for r in runs[(name, clients)])

    def first_ms(name: str, clients: int) -> float:
        return median_ms([f for r in runs[(name, clients)] for f in r.first_chunk_s])

    print(
        f"\nload average (1 min) before {load_before:.1f}, after {load_after:.1f}; "
        f"{args.rounds} rounds of {args.seconds:.0f} s windows; medians over rounds"
    )
    print(
        f"{'clients':>8}{'locked s/s':>12}{'batched s/s':>13}{'ratio':>7}"
        f"{'CPU/audio locked':>18}{'batched':>9}{'first ms locked':>17}{'batched':>9}"
    )
    for clients in args.streams:
        print(
            f"{clients:>8}{throughput('locked', clients):>12.2f}{throughput('batched', clients):>13.2f}"
            f"{throughput('batched', clients) / throughput('locked', clients):>7.2f}"
            f"{cpu('locked', clients):>18.2f}{cpu('batched', clients):>9.2f}"
            f"{first_ms('locked', clients):>17.0f}{first_ms('batched', clients):>9.0f}"
        )
    print(
        f"batched loop: {stats.steps} steps, {stats.mean_rows:.2f} rows per step on average, "
        f"at most {stats.max_rows}, {stats.joins} joins"
    )
    print(
        f"max abs difference per seed, batched vs locked: {max(diffs):.2e} over {len(diffs)} requests"
    )
    for clients, round_index, seed, gap in outliers:
        print(f"  above {OUTLIER:.0e}: x{clients} round {round_index} seed {seed}: {gap:.2e}")

    top, single = max(args.streams), min(args.streams)
    # paired by round: the two runs were measured minutes apart at most, under similar load
    gains = [
        b.throughput / s.throughput
        for b, s in zip(runs[("batched", top)], runs[("locked", single)], strict=True)
    ]
    firsts = [
        median_ms(b.first_chunk_s) / median_ms(s.first_chunk_s)
        for b, s in zip(runs[("batched", top)], runs[("locked", single)], strict=True)
        if b.first_chunk_s and s.first_chunk_s
    ]
    gain = statistics.median(gains)
    first_ratio = statistics.median(firsts) if firsts else float("nan")
    efficiency = cpu("locked", single) / cpu("batched", top)
    print(
        f"\nthroughput at {top} batched streams / {single} locked stream (median of rounds "
        f"{', '.join(f'{g:.2f}' for g in gains)}): {gain:.2f}x (target >= 4)"
        f" {'OK' if gain >= 4 else 'BELOW TARGET'}"
    )
    print(f"CPU per second of audio, {single} locked / {top} batched: {efficiency:.2f}x")
    print(
        f"first chunk at {top} batched streams / {single} locked stream: {first_ratio:.2f}x"
        f" (target <= 1.5) {'OK' if first_ratio <= 1.5 else 'ABOVE TARGET'}"
    )
    if memory:
        rss_ratio = memory[f"batchedx{MAX_BATCH}"] / memory["batchedx1"]
        print(
            f"peak RSS MB: {memory}; batched x{MAX_BATCH} / x1 = {rss_ratio:.2f}"
            f" (target <= 1.3) {'OK' if rss_ratio <= 1.3 else 'ABOVE TARGET'}"
        )
    print(
        json.dumps(
            {
                "throughput": {f"{n}x{c}": throughput(n, c) for (n, c) in runs},
                "cpu_per_audio": {f"{n}x{c}": cpu(n, c) for (n, c) in runs},
                "first_chunk_ms": {f"{n}x{c}": first_ms(n, c) for (n, c) in runs},
                "gain_by_round": gains,
                "memory_mb": memory,
                "max_abs_diff": max(diffs),
                "outliers": outliers,
                "load_average": [load_before, load_after],
            }
        )
    )


if __name__ == "__main__":
    main()
