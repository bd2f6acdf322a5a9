"""``natiq data prepare``: any Arabic speech corpus -> ``audio/`` + ``metadata.jsonl``.

The runner streams ``SourceItem``s from one input (a ClArTTS-schema parquet
dataset, local or on the Hub; an input manifest; or an audio folder), keeps
this shard's items, groups them in batches (one parquet row group, or a few
files), processes each batch (in a process pool when ``num_workers > 1``),
writes each wav atomically and then journals the batch's results with one
write and one fsync. The journals are the only state: a re-run skips what
they list (redoing an item whose wav is missing or has another size than
journaled), and the final ``metadata.jsonl`` and ``rejects.jsonl`` are rebuilt
from them, sorted by id, so that an interrupted-and-resumed run and an
uninterrupted run give identical files.

Wavs are renamed into place without a per-file fsync; the file system is
synced once before the manifests are written, so a manifest never lists a
wav that a power loss could still truncate. Pool workers end with the main
process, even when it is SIGKILLed (``natiq.common.lifetime``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import itertools
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from natiq.common.errors import AudioInputError, DataFormatError
from natiq.common.files import atomic_write_json, read_jsonl, sync_filesystem, write_jsonl
from natiq.data import journal
from natiq.data.manifest import UtteranceRecord
from natiq.data.processing import AudioOptions, process_audio
from natiq.data.rejects import ItemRejected, Reason
from natiq.data.sources import SourceItem, read_audio_dir, read_manifest_source
from natiq.data.splits import assign_splits, id_hash
from natiq.data.transcripts import TextOptions, prepare_transcript, validate_text_options

CONFIG_NAME = "prepare_config.json"
METADATA_NAME = "metadata.jsonl"
REJECTS_NAME = "rejects.jsonl"
AUDIO_DIR = "audio"
CONFIG_VERSION = 1
MAX_BATCH = 64  # parquet rows of one row group per batch, at most
FILE_BATCH = 8  # items read from files per batch


@dataclass(frozen=True)
class Shard:
    """``--shard i/n``: this run handles the items whose id hash falls in bucket ``i`` of ``n``."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index_text, count_text = text.split("/")
            shard = cls(int(index_text), int(count_text))
        except ValueError:
            raise DataFormatError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
        if shard.count < 1 or not 0 <= shard.index < shard.count:
            raise DataFormatError(f"--shard {text}: need 0 <= i < n")
        return shard

    def owns(self, utt_id: str) -> bool:
        return self.count == 1 or int(id_hash(utt_id) * self.count) == self.index


@dataclass(frozen=True)
class PrepareConfig:
    """Everything ``prepare`` needs; each field is one CLI flag."""

    output_dir: Path
    dataset: str | None = None
    dataset_split: str = "train"
    manifest: Path | None = None
    audio_dir: Path | None = None
    text: TextOptions = field(default_factory=TextOptions)
    audio: AudioOptions = field(default_factory=AudioOptions)
    val_fraction: float = 0.02
    num_workers: int = 1
    limit: int | None = None
    shard: Shard = field(default_factory=Shard)
    progress: bool = True

    def input_description(self) -> dict[str, Any]:
        """The input, as recorded in ``prepare_config.json`` (absolute paths)."""
        if self.dataset is not None:
            from natiq.data.clartts import resolve_dataset

            name = resolve_dataset(self.dataset)
            if Path(name).is_dir():
                name = str(Path(name).resolve())
            return {"kind": "dataset", "source": name, "split": self.dataset_split}
        if self.manifest is not None:
            return {"kind": "manifest", "source": str(Path(self.manifest).resolve())}
        return {"kind": "audio_dir", "source": str(Path(str(self.audio_dir)).resolve())}

    def recorded(self) -> dict[str, Any]:
        """The settings that determine the output (not workers, limit, shard or progress)."""
        frontend = self.text.frontend_config()
        return {
            "version": CONFIG_VERSION,
            "input": self.input_description(),
            "text": asdict(self.text),
            "frontend": frontend.to_dict(),
            "audio": asdict(self.audio),
            "val_fraction": self.val_fraction,
        }


@dataclass
class PrepareSummary:
    """What one ``prepare`` run did (printed by the CLI, returned by ``run_prepare``)."""

    output_dir: Path
    processed: int = 0
    resumed: int = 0
    other_shards: int = 0
    kept: int = 0
    rejected: int = 0
    train: int = 0
    val: int = 0
    hours: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    # CPU seconds spent processing items, per process id (the workers, or this process),
    # and within that, the first batch a fresh process ran (it pays one-time warm-up costs).
    processing_cpu_s: dict[int, float] = field(default_factory=dict)
    first_batch_cpu_s: dict[int, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"output: {self.output_dir}",
            f"this run: {self.processed} processed, {self.resumed} already done (skipped)"
            + (f", {self.other_shards} left to other shards" if self.other_shards else ""),
            f"manifest: {self.kept} utterances ({self.train} train, {self.val} val), {self.hours:.3f} h",
            f"rejected: {self.rejected}",
        ]
        out += [f"  {reason}: {count}" for reason, count in sorted(self.reasons.items())]
        return out


@dataclass(frozen=True)
class _Job:
    """What a worker needs to finish one item (picklable)."""

    key: str
    item: SourceItem
    text: TextOptions
    audio: AudioOptions
    audio_dir: Path


def _reject_entry(key: str, item: SourceItem, reason: Reason, detail: str) -> dict[str, Any]:
    return {
        "key": key,
        "status": "rejected",
        "reject": {"id": item.id, "reason": str(reason), "detail": detail, "origin": item.origin},
    }


def _load_samples(item: SourceItem) -> tuple[Any, int]:
    if item.audio_path is not None:
        from natiq.data.audio import load_audio

        try:
            return load_audio(item.audio_path)
        except AudioInputError as exc:
            raise ItemRejected(Reason.UNREADABLE_AUDIO, str(exc)) from None
    samples = item.samples
    if item.parquet is not None:
        from natiq.data.parquet_rows import load_row_audio

        samples = load_row_audio(item.parquet)
    if samples is None or not item.sample_rate or item.sample_rate <= 0:
        raise ItemRejected(Reason.UNREADABLE_AUDIO, "no samples or no valid sampling rate")
    return samples, int(item.sample_rate)


def process_job(job: _Job) -> dict[str, Any]:
    """Process one item completely: text, audio, wav on disk; return its journal entry."""
    from natiq.data.audio import save_wav

    item = job.item
    try:
        transcript = prepare_transcript(item.text, job.text)
        samples, rate = _load_samples(item)
        audio = process_audio(samples, rate, job.audio)
    except ItemRejected as exc:
        return _reject_entry(job.key, item, exc.reason, exc.detail)
    except (AudioInputError, ValueError) as exc:
        return _reject_entry(job.key, item, Reason.UNREADABLE_AUDIO, str(exc))
    wav_name = f"{item.id}.wav"
    wav_path = save_wav(job.audio_dir / wav_name, audio, job.audio.sample_rate, durable=False)
    record = {
        "id": item.id,
        "audio": f"{AUDIO_DIR}/{wav_name}",
        "duration": round(audio.size / job.audio.sample_rate, 4),
        "sample_rate": job.audio.sample_rate,
        "speaker": item.speaker,
        "text_raw": transcript.raw,
        "text": transcript.text,
    }
    if transcript.romanized is not None:
        record["text_romanized"] = transcript.romanized
        record["romanization"] = job.text.romanize
    return {"key": job.key, "status": "ok", "record": record, "bytes": wav_path.stat().st_size}


def _worker_init(owner_pid: int) -> None:
    """One thread per worker process (parallelism comes from the processes); end with the owner."""
    from natiq.common.lifetime import die_with

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    die_with(owner_pid)


def open_source(config: PrepareConfig) -> Iterator[SourceItem]:
    """The configured input as a stream of items (exactly one input must be given)."""
    given = [x for x in (config.dataset, config.manifest, config.audio_dir) if x is not None]
    if len(given) != 1:
        raise DataFormatError("give exactly one input: --dataset, --manifest or --audio-dir")
    if config.dataset is not None:
        from natiq.data.clartts import read_clartts

        return read_clartts(config.dataset, config.dataset_split)
    if config.manifest is not None:
        return read_manifest_source(config.manifest)
    return read_audio_dir(str(config.audio_dir))


def _check_config(output_dir: Path, recorded: dict[str, Any]) -> None:
    path = output_dir / CONFIG_NAME
    if path.is_file():
        import json

        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            existing = None
        if existing != recorded:
            raise DataFormatError(
                f"{path}: {output_dir} was prepared with other settings; resume with the same "
                "options, or choose a new --output-dir"
            )
        return
    atomic_write_json(path, recorded)


def _remove_stray_temporaries(audio_dir: Path, shard: Shard) -> None:
    """Temporary files a kill left behind (``atomic_path`` names them ``.<name>.*.tmp*``).

    When shards share the folder, another shard may be writing right now, so
    only temporaries older than an hour are removed then.
    """
    if not audio_dir.is_dir():
        return
    cutoff = time.time() - (3600.0 if shard.count > 1 else -60.0)
    for stray in audio_dir.glob(".*.tmp*"):
        with contextlib.suppress(FileNotFoundError):
            if stray.stat().st_mtime < cutoff:
                stray.unlink()


def _jobs(
    config: PrepareConfig, items: Iterable[SourceItem], done: set[str], summary: PrepareSummary
) -> Iterator[_Job]:
    """Select this shard's unfinished items; turn repeated ids into duplicate rejects."""
    audio_dir = config.output_dir / AUDIO_DIR
    seen: dict[str, int] = {}
    selected = 0
    for index, item in enumerate(items):
        if not item.id:
            item.id = f"item_{index:06d}"
        if not config.shard.owns(item.id):
            summary.other_shards += 1
            continue
        if config.limit is not None and selected >= config.limit:
            break
        selected += 1
        occurrence = seen.get(item.id, 0)
        seen[item.id] = occurrence + 1
        key = item.id if occurrence == 0 else f"{item.id}#{occurrence}"
        if key in done:
            summary.resumed += 1
            continue
        yield _Job(key=key, item=item, text=config.text, audio=config.audio, audio_dir=audio_dir)


def _duplicate_entry(job: _Job) -> dict[str, Any] | None:
    if "#" not in job.key:
        return None
    detail = f"id {job.item.id!r} already used by an earlier item"
    return _reject_entry(job.key, job.item, Reason.DUPLICATE_ID, detail)


@dataclass(frozen=True)
class _BatchResult:
    entries: list[dict[str, Any]]
    pid: int = 0
    cpu_s: float = 0.0
    first_in_process: bool = False


_batches_run = 0  # batches this process has processed (the first pays warm-up costs)


def process_batch(jobs: list[_Job]) -> _BatchResult:
    """``process_job`` for several jobs (a parquet row group is decoded once), with its CPU time."""
    global _batches_run
    started = time.process_time()
    entries = [process_job(job) for job in jobs]
    if jobs and jobs[0].item.parquet is not None:
        from natiq.data.parquet_rows import release_group

        release_group()
    first, _batches_run = _batches_run == 0, _batches_run + 1
    return _BatchResult(entries, os.getpid(), time.process_time() - started, first)


def _group_of(job: _Job) -> tuple[str, int] | None:
    ref = job.item.parquet
    return None if ref is None else (ref.path, ref.row_group)


def _batches(jobs: Iterable[_Job]) -> Iterator[list[_Job] | dict[str, Any]]:
    """Duplicate rejects as they come; jobs grouped by parquet row group, else ``FILE_BATCH`` at a time."""
    batch: list[_Job] = []
    for job in jobs:
        duplicate = _duplicate_entry(job)
        if duplicate is not None:
            yield duplicate
            continue
        group = _group_of(job)
        if batch:
            same = group is not None and group == _group_of(batch[-1]) and len(batch) < MAX_BATCH
            files = group is None and _group_of(batch[-1]) is None and len(batch) < FILE_BATCH
            if not (same or files):
                yield batch
                batch = []
        batch.append(job)
    if batch:
        yield batch


def _run_serial(jobs: Iterable[_Job]) -> Iterator[_BatchResult]:
    for batch in _batches(jobs):
        yield _BatchResult([batch]) if isinstance(batch, dict) else process_batch(batch)


def _run_pool(
    jobs: Iterable[_Job], workers: int, audio: AudioOptions, *, parquet: bool
) -> Iterator[_BatchResult]:
    """Process batches in ``workers`` processes, at most ``2 * workers`` batches in flight."""
    # forkserver: workers fork from a clean process that imported the processing
    # code once (fork from this process is unsafe once pyarrow or torch started threads).
    preload = ["natiq.data.prepare", "natiq.text", "natiq.common.lifetime"]
    preload += ["silero_vad"] if audio.trim_silence else []
    preload += ["pyloudnorm"] if audio.loudness is not None else []
    preload += ["natiq.data.parquet_rows", "pyarrow.parquet"] if parquet else []
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    with cf.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
    ) as pool:
        pending: set[cf.Future[_BatchResult]] = set()
        for batch in _batches(jobs):
            if isinstance(batch, dict):
                yield _BatchResult([batch])
                continue
            pending.add(pool.submit(process_batch, batch))
            if len(pending) >= 2 * workers:
                finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        for future in cf.as_completed(pending):
            yield future.result()


def _progress_total(config: PrepareConfig) -> int | None:
    if config.limit is not None:
        return config.limit
    if config.manifest is not None and Path(config.manifest).suffix.lower() in (".jsonl", ".json"):
        return sum(1 for _ in read_jsonl(Path(config.manifest)))
    if config.dataset is not None:
        from natiq.data.clartts import split_size

        return split_size(config.dataset, config.dataset_split)
    return None


def finished_keys(output_dir: Path) -> set[str]:
    """Journaled items that need no work: rejects, and kept items whose wav has its journaled size."""
    done = set()
    for key, entry in journal.read_journals(output_dir).items():
        size = entry.get("bytes")
        if entry["status"] == "ok" and size is not None:
            wav = output_dir / entry["record"]["audio"]
            try:
                if wav.stat().st_size != size:
                    continue
            except FileNotFoundError:
                continue
        done.add(key)
    return done


def finalize(
    output_dir: Path, val_fraction: float, summary: PrepareSummary | None = None
) -> PrepareSummary:
    """Rebuild ``metadata.jsonl`` and ``rejects.jsonl`` from all journals (sorted, atomic).

    The file system is synced first, so the manifests never list a wav that
    is not yet on disk.
    """
    summary = summary or PrepareSummary(output_dir=output_dir)
    sync_filesystem(output_dir)
    entries = journal.read_journals(output_dir)
    kept = sorted(
        (e["record"] for e in entries.values() if e["status"] == "ok"), key=lambda r: r["id"]
    )
    rejects = sorted(
        (e["reject"] for e in entries.values() if e["status"] == "rejected"),
        key=lambda r: (r["id"], r["reason"], r["origin"]),
    )
    splits = assign_splits([(r["id"], r["speaker"]) for r in kept], val_fraction)
    records = []
    for data in kept:
        record = UtteranceRecord(
            id=data["id"],
            audio=Path(data["audio"]),
            duration=data["duration"],
            sample_rate=data["sample_rate"],
            speaker=data["speaker"],
            split=splits[data["id"]],
            text_raw=data["text_raw"],
            text=data["text"],
            text_romanized=data.get("text_romanized"),
            romanization=data.get("romanization"),
        )
        records.append(record.to_dict())
    write_jsonl(output_dir / METADATA_NAME, records)
    write_jsonl(output_dir / REJECTS_NAME, rejects)
    summary.kept = len(records)
    summary.val = sum(1 for r in records if r["split"] == "val")
    summary.train = summary.kept - summary.val
    summary.hours = sum(r["duration"] for r in records) / 3600.0
    summary.rejected = len(rejects)
    summary.reasons = Counter(r["reason"] for r in rejects)
    return summary


def run_prepare(config: PrepareConfig) -> PrepareSummary:
    """Prepare (or resume preparing) ``config.output_dir``; see the module docstring."""
    validate_text_options(config.text)
    if not 0.0 <= config.val_fraction < 1.0:
        raise DataFormatError(f"--val-fraction must be in [0, 1), got {config.val_fraction}")
    if config.num_workers < 1:
        raise DataFormatError(f"--num-workers must be at least 1, got {config.num_workers}")
    if config.audio.min_duration > config.audio.max_duration:
        raise DataFormatError("--min-duration is larger than --max-duration")
    # Open the input (and read its first item) before touching the output folder,
    # so a mistyped input leaves nothing behind.
    stream = open_source(config)
    first = next(stream, None)
    items = itertools.chain([] if first is None else [first], stream)
    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    _check_config(output_dir, config.recorded())
    _remove_stray_temporaries(output_dir / AUDIO_DIR, config.shard)
    (output_dir / AUDIO_DIR).mkdir(exist_ok=True)
    journal_file = journal.journal_path(output_dir, config.shard.index, config.shard.count)
    journal.repair_partial_line(journal_file)
    done = finished_keys(output_dir)
    summary = PrepareSummary(output_dir=output_dir)
    jobs = _jobs(config, items, done, summary)
    results = (
        _run_serial(jobs)
        if config.num_workers == 1
        else _run_pool(jobs, config.num_workers, config.audio, parquet=config.dataset is not None)
    )
    from tqdm import tqdm

    total = _progress_total(config) if config.progress else None
    if total is not None and config.shard.count > 1:
        total = -(-total // config.shard.count)
    bar = tqdm(
        total=total, unit="utt", desc="prepare", disable=not config.progress, file=sys.stderr
    )
    with bar, contextlib.ExitStack() as stack:
        if config.dataset is not None:
            from natiq.data.parquet_rows import close_files

            stack.callback(close_files)
        for result in results:
            journal.append_entries(journal_file, result.entries)
            summary.processed += len(result.entries)
            if result.pid:
                cpu = summary.processing_cpu_s
                cpu[result.pid] = cpu.get(result.pid, 0.0) + result.cpu_s
                if result.first_in_process:
                    summary.first_batch_cpu_s[result.pid] = result.cpu_s
            bar.update(summary.processed + summary.resumed - bar.n)
    return finalize(output_dir, config.val_fraction, summary)
