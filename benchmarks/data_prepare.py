"""Throughput of ``natiq data prepare`` in seconds of audio per wall-clock second.

Two inputs with the same audio (speech from the bundled mini-corpus, tiled
to ``--seconds``, at ClArTTS's 40100 Hz):

- ``parquet``: a folder with ClArTTS's exact schema (float64 sample lists) in
  16-row groups, as the Hub stores it; the main process reads the light
  columns and whoever processes a row group decodes its audio
  (``natiq.data.parquet_rows``), the same path for any number of workers;
- ``wav``: an input manifest of 16-bit wav files; workers read the files
  themselves, so this measures resample + checks + atomic write + journal.

Each configuration runs ``--repeats`` times, interleaved (1, 2, 1, 2, ...
workers) so that the load of a shared machine falls on all of them alike,
into fresh output folders, after a 2-item warm-up that pays the one-time
imports and starts the forkserver. The best wall time of each is reported,
with the CPU seconds of the main process and of each process that
processed items: on a busy machine the wall-clock speed-up says little, and
the CPU split says what two free cores would give (``cpu-bound`` = the
one-worker run's CPU over the busiest process of this run). Each new worker
process pays its first batch 2-3x (page faults, lazy initialization) while
the one-worker run reuses this warm process, so the speed-up is also given
without each fresh process's first batch: the rate of a long run.

    .venv/bin/python benchmarks/data_prepare.py --items 240 --seconds 6 --workers 1 2 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

RATE = 40100


def build_parquet(folder: Path, items: int, seconds: float) -> float:
    """Write ``items`` rows of ``seconds`` each; returns the total audio duration."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from natiq.common.files import read_jsonl
    from natiq.data.audio import load_audio
    from natiq.data.mini_corpus import mini_corpus_manifest

    manifest = mini_corpus_manifest()
    corpus = [(r["text"], manifest.parent / r["audio"]) for _, r in read_jsonl(manifest)]
    length = int(seconds * RATE)
    path = folder / "data" / "train-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    writer = None
    for start in range(0, items, 16):
        texts, files, audio = [], [], []
        for index in range(start, min(items, start + 16)):
            text, wav = corpus[index % len(corpus)]
            samples, _ = load_audio(wav, target_sr=RATE)
            texts.append(text)
            files.append(f"bench_{index:05d}.wav")
            audio.append(np.resize(samples.astype(np.float64), length))
        table = pa.table(
            {
                "text": pa.array(texts, pa.string()),
                "file": pa.array(files, pa.string()),
                "audio": pa.array(audio, pa.list_(pa.float64())),
                "sampling_rate": pa.array([RATE] * len(files), pa.int64()),
                "duration": pa.array([length / RATE] * len(files), pa.float64()),
            }
        )
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return items * length / RATE


def build_wavs(folder: Path, parquet: Path) -> Path:
    """The parquet's rows as 16-bit wavs plus an input manifest; returns the manifest."""
    import pyarrow.parquet as pq

    from natiq.common.files import write_jsonl
    from natiq.data.audio import save_wav

    records = []
    for batch in pq.ParquetFile(next(parquet.rglob("*.parquet"))).iter_batches(batch_size=16):
        for text, name, audio in zip(
            *(batch.column(c).to_pylist() for c in ("text", "file", "audio")), strict=True
        ):
            save_wav(folder / name, np.asarray(audio, dtype=np.float32), RATE)
            records.append({"id": Path(name).stem, "audio": name, "text": text})
    write_jsonl(folder / "manifest.jsonl", records)
    return folder / "manifest.jsonl"


@dataclass(frozen=True)
class Run:
    wall: float
    main_cpu: float  # the main process, item processing excluded
    cpu: list[float]  # CPU seconds of each process that processed items
    steady_cpu: list[float]  # the same without each fresh process's first batch

    @property
    def warmup(self) -> float:
        return sum(self.cpu) - sum(self.steady_cpu)


def run_once(source: Path, output: Path, workers: int, limit: int | None = None) -> Run:
    from natiq.data.prepare import PrepareConfig, run_prepare
    from natiq.data.processing import AudioOptions

    config = PrepareConfig(
        output_dir=output,
        dataset=str(source) if source.is_dir() else None,
        manifest=source if source.is_file() else None,
        audio=AudioOptions(sample_rate=24000, max_duration=60.0),
        num_workers=workers,
        limit=limit,
        progress=False,
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    summary = run_prepare(config)
    elapsed, main_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if summary.rejected:
        raise SystemExit(f"unexpected rejects: {dict(summary.reasons)}")
    pids = sorted(summary.processing_cpu_s, key=summary.processing_cpu_s.get, reverse=True)
    cpu = [summary.processing_cpu_s[pid] for pid in pids]
    steady = [
        summary.processing_cpu_s[pid] - summary.first_batch_cpu_s.get(pid, 0.0) for pid in pids
    ]
    if workers == 1:  # the items were processed in this process: not main-process overhead
        main_cpu -= sum(cpu)
    return Run(elapsed, main_cpu, cpu, steady)


def report(kind: str, runs: dict[int, list[Run]], total: float, loads: list[float]) -> None:
    repeats = len(next(iter(runs.values())))
    print(
        f"{kind}: cpus {os.cpu_count()}, load average {min(loads):.1f}-{max(loads):.1f} "
        f"during the runs (shared machine), best wall of {repeats}, CPU medians"
    )
    base: Run | None = None
    base_cpu = base_steady = 0.0
    for workers, measured in runs.items():
        best = min(measured, key=lambda run: run.wall)
        cpu = statistics.median(sum(run.cpu) for run in measured)
        steady = statistics.median(sum(run.steady_cpu) for run in measured)
        busiest = statistics.median(max(run.cpu) for run in measured)
        busiest_steady = statistics.median(max(run.steady_cpu) for run in measured)
        if base is None:
            base, base_cpu, base_steady = best, cpu, steady
        print(
            f"  workers={workers}: {best.wall:6.2f} s wall, {total / best.wall:7.1f}x real time, "
            f"speed-up {base.wall / best.wall:.2f}x | CPU s: main {best.main_cpu:.2f}, processing "
            f"{' + '.join(f'{c:.2f}' for c in best.cpu)} (total {cpu:.2f}, of which first batch "
            f"of a fresh process {cpu - steady:.2f})"
        )
        print(
            f"      cpu-bound speed-up {base_cpu / busiest:.2f}x; "
            f"after each process's first batch {base_steady / busiest_steady:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=240)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=["parquet", "wav"])
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    with tempfile.TemporaryDirectory(prefix="natiq-bench-") as tmp:
        root = Path(tmp)
        total = build_parquet(root / "clartts", args.items, args.seconds)
        sources = {"parquet": root / "clartts"}
        if "wav" in args.kinds:
            sources["wav"] = build_wavs(root / "wavs", root / "clartts")
        print(
            f"input: {args.items} utterances x {args.seconds:g} s at {RATE} Hz = {total:.0f} s of audio"
        )
        for kind in args.kinds:
            source = sources[kind]
            for workers in args.workers:
                # One-time costs are not throughput: imports and the forkserver's preloading.
                run_once(source, root / f"warmup_{kind}_{workers}", workers, limit=2)
            runs: dict[int, list[Run]] = {w: [] for w in args.workers}
            loads = []
            for repeat in range(args.repeats):
                for workers in args.workers:
                    loads.append(os.getloadavg()[0])
                    runs[workers].append(
                        run_once(source, root / f"out_{kind}_{workers}_{repeat}", workers)
                    )
            report(kind, runs, total, loads)


if __name__ == "__main__":
    main()
