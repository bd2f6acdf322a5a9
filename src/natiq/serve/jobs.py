"""Batch synthesis jobs whose state lives on disk, so they survive a restart.

A job is a folder ``<root>/<job id>/`` holding ``job.json`` (id, creation
time, item count, status), ``items.jsonl`` (the validated requests) and
``results.jsonl`` (one line appended per finished item, ok or error) beside
the audio files ``results/<index>.<format>``. Writes are atomic; an append
first cuts off a torn last line (what a crash or a full disk leaves), so
results stay readable.

One worker thread takes jobs in order. An item that is stopped (the server
shuts down, the job is deleted) leaves no result line: it stays pending and
runs after a restart, when every job not finished is queued again and the
items that have a result line are skipped. An error outside an item (a full
disk while writing a result) does not end the worker: the job is retried
later and the error is reported by ``health()`` until a job succeeds.

The store keeps an index of its jobs in memory (status, progress, bytes), so
caps are checked and counted without reading the disk: at most ``max_jobs``
unfinished jobs and ``max_queued_items`` pending items (``JobsBusy``, 429), and
no new job once the folder holds ``max_bytes`` (``JobsStorageFull``, 507).
Finished jobs are deleted ``retention_s`` after they finish.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError, NatiqError
from natiq.common.files import (
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    read_jsonl,
    write_jsonl,
)
from natiq.data.batch_lines import parse_batch_lines
from natiq.data.journal import repair_partial_line
from natiq.serve import strict_json

log = logging.getLogger("natiq.serve")

JOB_ID = re.compile(r"job_[0-9a-f]{16}")
FINISHED = frozenset({"completed", "failed"})
SWEEP_EVERY_S = 60.0

# (item, stop) -> (encoded audio, facts to record such as the duration); when
# ``stop`` is set it may raise anything: the item is then left pending.
Renderer = Callable[[dict[str, Any], threading.Event], tuple[bytes, dict[str, Any]]]


class JobsBusy(NatiqError):
    """Too many unfinished jobs or pending items; retry later (429)."""


class JobsStorageFull(NatiqError):
    """The jobs folder holds as many bytes as allowed (507)."""


@dataclass(frozen=True)
class BatchLimits:
    max_items: int
    max_text_chars: int
    formats: tuple[str, ...]
    default_format: str = "wav"


@dataclass(frozen=True)
class JobLimits:
    max_jobs: int = 20
    max_queued_items: int = 2000
    max_bytes: int = 2 * 1024**3
    retention_s: float = 24 * 3600.0
    retry_s: float = 30.0


def parse_batch(body: bytes, limits: BatchLimits) -> list[dict[str, Any]]:
    """Validate a JSONL body (``natiq.data.batch_lines``, strictly) against the server's limits.

    Every problem names its line (``batch:3: ...``). Lines end at ``\n`` only
    (U+2028 or U+0085 may sit inside a string), and each is first read by the
    server's strict JSON parser (no NaN/Infinity, bounded nesting). Returns
    the items to store: ``index``, ``id``, ``text``, ``voice``, ``response_format``
    (and ``speed``, ``timings`` when the line sets them).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFormatError("the batch body is not UTF-8 text") from None
    lines = text.split("\n")
    if sum(1 for line in lines if line.strip()) > limits.max_items:
        raise DataFormatError(f"the batch has more than {limits.max_items} items; split it")
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                strict_json.loads(line)
            except ValueError as exc:
                raise DataFormatError(f"batch:{number}: invalid JSON ({exc})") from None
    items: list[dict[str, Any]] = []
    for line in parse_batch_lines(lines, source="batch"):
        if len(line.text) > limits.max_text_chars:
            raise DataFormatError(
                f"batch:{line.line}: 'text' has {len(line.text)} characters; the limit is {limits.max_text_chars}"
            )
        fmt = line.response_format or limits.default_format
        if fmt not in limits.formats:
            raise DataFormatError(
                f"batch:{line.line}: 'response_format' must be one of {', '.join(limits.formats)}"
            )
        item = {
            "index": len(items),
            "id": line.id,
            "text": line.text,
            "voice": line.voice,
            "response_format": fmt,
        }
        # set only when asked: items stored before these fields existed read the same
        item.update({k: v for k, v in (("speed", line.speed), ("timings", line.timings)) if v})
        items.append(item)
    if not items:
        raise DataFormatError("the batch is empty: send one JSON object per line")
    return items


@dataclass
class _Job:
    """What the store remembers of a job between disk reads."""

    id: str
    created: float
    total: int
    status: str
    done: int = 0
    bytes: int = 0
    finished: float | None = None


def _read_results(folder: Path) -> dict[int, dict[str, Any]]:
    """Result lines by item index; a line that does not parse is skipped, never fatal."""
    path = folder / "results.jsonl"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    results = {}
    for line in raw.split(b"\n"):
        try:
            record = json.loads(line)
            results[int(record["index"])] = record
        except (ValueError, KeyError, TypeError):
            continue
    return results


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            continue
    return total


class JobStore:
    def __init__(self, root: Path, render: Renderer, limits: JobLimits | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.limits = limits or JobLimits()
        self._render = render
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._item_stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._current: str | None = None
        self.state = "not started"
        self.last_error: str | None = None
        self.resumed: list[str] = []
        for folder in sorted(self.root.iterdir()):
            job = self._load(folder)
            if job is not None:
                self._jobs[job.id] = job

    def _load(self, folder: Path) -> _Job | None:
        if not JOB_ID.fullmatch(folder.name):
            return None
        try:
            record = json.loads((folder / "job.json").read_text(encoding="utf-8"))
            job = _Job(
                id=folder.name,
                created=float(record["created"]),
                total=int(record["total"]),
                status=str(record.get("status", "queued")),
                finished=record.get("finished"),
            )
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("skipping the unreadable batch job folder %s", folder.name)
            return None
        if job.status not in FINISHED:
            job.status = "queued"  # it was interrupted; it runs again
        for leftover in folder.rglob(".*.tmp*"):  # a write cut short by a kill
            leftover.unlink(missing_ok=True)
        job.done = len(_read_results(folder))
        job.bytes = _folder_bytes(folder)
        return job

    # ----- public API
    def submit(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """Store a new job and queue it; raises ``JobsBusy`` or ``JobsStorageFull`` over a cap."""
        job_id = "job_" + secrets.token_hex(8)
        with self._lock:
            self._check_room(len(items))
            job = _Job(id=job_id, created=time.time(), total=len(items), status="queued")
            self._jobs[job_id] = job  # counted at once, so parallel submissions see it
        folder = self.root / job_id
        try:
            write_jsonl(folder / "items.jsonl", items)
            self._write_job(job)
        except BaseException:
            with self._lock:
                self._jobs.pop(job_id, None)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job.bytes = _folder_bytes(folder)
        self._queue.put(job_id)
        return self.status(job_id) or {}

    def _check_room(self, items: int) -> None:
        unfinished = [job for job in self._jobs.values() if job.status not in FINISHED]
        if len(unfinished) >= self.limits.max_jobs:
            raise JobsBusy(
                f"this server already has {len(unfinished)} unfinished batch jobs (the limit); "
                "retry when one has finished"
            )
        pending = sum(job.total - job.done for job in unfinished)
        if pending + items > self.limits.max_queued_items:
            raise JobsBusy(
                f"{pending} batch items are waiting and this job adds {items}; the limit is "
                f"{self.limits.max_queued_items}: retry later or send fewer items"
            )
        used = sum(job.bytes for job in self._jobs.values())
        if used >= self.limits.max_bytes:
            raise JobsStorageFull(
                f"batch results fill this server's {self.limits.max_bytes} bytes; "
                "delete finished jobs (DELETE /v1/batch/<id>) or wait for them to expire"
            )

    def status(self, job_id: str) -> dict[str, Any] | None:
        job = self._jobs.get(job_id)
        if job is None:
            return None
        done = sorted(_read_results(self.root / job_id).values(), key=lambda r: r["index"])
        return {
            "id": job.id,
            "created": job.created,
            "total": job.total,
            "status": job.status,
            "completed": sum(1 for r in done if r.get("status") == "ok"),
            "failed": sum(1 for r in done if r.get("status") == "error"),
            "results": done,
        }

    def result_file(self, job_id: str, index: int) -> tuple[Path, str] | None:
        if job_id not in self._jobs:
            return None
        record = _read_results(self.root / job_id).get(index)
        if record is None or record.get("status") != "ok":
            return None
        fmt = str(record["response_format"])
        path = self.root / job_id / "results" / f"{index}.{fmt}"
        return (path, fmt) if path.is_file() else None

    def delete(self, job_id: str) -> bool:
        """Forget a job and remove its files; a running item is stopped at its next frame."""
        with self._lock:
            if self._jobs.pop(job_id, None) is None:
                return False
            running = self._current == job_id
            if running:
                self._item_stop.set()
        if not running:  # else the worker removes it when the item has stopped
            shutil.rmtree(self.root / job_id, ignore_errors=True)
        return True

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("queued", "running", "completed", "failed"), 0)
        for job in list(self._jobs.values()):
            counts[job.status] = counts.get(job.status, 0) + 1
        return counts

    def health(self) -> dict[str, Any]:
        alive = self._thread is not None and self._thread.is_alive()
        state = self.state if alive or self._stop.is_set() else "stopped unexpectedly"
        return {"worker": state, "last_error": self.last_error}

    @property
    def healthy(self) -> bool:
        return self.last_error is None and (
            (self._thread is not None and self._thread.is_alive()) or self._stop.is_set()
        )

    # ----- worker
    def start(self) -> None:
        """Queue unfinished jobs (oldest first) and start the worker thread (once)."""
        if self._thread is not None:  # an application's lifespan may be entered twice
            return
        pending = sorted(
            (job.created, job.id) for job in self._jobs.values() if job.status not in FINISHED
        )
        for _, job_id in pending:
            self.resumed.append(job_id)
            self._queue.put(job_id)
        self.state = "idle"
        self._thread = threading.Thread(target=self._work, name="natiq-batch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the item being synthesized (it stays pending) and end the worker."""
        self._stop.set()
        with self._lock:
            self._item_stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self) -> None:
        last_sweep = -SWEEP_EVERY_S
        while not self._stop.is_set():
            if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                self._sweep()
                last_sweep = time.monotonic()
            try:
                job_id = self._queue.get(timeout=SWEEP_EVERY_S)
            except queue.Empty:
                continue
            if job_id is None:
                return
            try:
                self._run_job(job_id)
            except OSError as exc:  # a full or failing disk: try this job again later
                log.exception("batch job %s: cannot write its results; retrying later", job_id)
                self.last_error = f"cannot write batch results ({exc.strerror or 'I/O error'})"
                self.state = "retrying"
                self._retry_later(job_id)
            except Exception:  # a bug must not end the worker: the job fails, others go on
                log.exception("batch job %s failed", job_id)
                self._finish(job_id, "failed")
            else:
                if self.state == "running":
                    self.last_error = None
            finally:
                if self.state == "running":
                    self.state = "idle"

    def _retry_later(self, job_id: str) -> None:
        timer = threading.Timer(self.limits.retry_s, self._queue.put, args=(job_id,))
        timer.daemon = True
        timer.start()

    def _write_job(self, job: _Job) -> None:
        record = {
            "id": job.id,
            "created": job.created,
            "total": job.total,
            "status": job.status,
            "updated": time.time(),
            "finished": job.finished,
        }
        atomic_write_json(self.root / job.id / "job.json", record)

    def _finish(self, job_id: str, status: str) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.status, job.finished = status, time.time()
            self._write_job(job)

    def _run_job(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in FINISHED or self._stop.is_set():
                return
            self._current = job_id
            self._item_stop = stop = threading.Event()
        folder = self.root / job_id
        try:
            self.state = "running"
            done = _read_results(folder)
            try:
                items = [record for _, record in read_jsonl(folder / "items.jsonl")]
            except DataFormatError:
                log.error("batch job %s: its items.jsonl is unreadable", job_id)
                self._finish(job_id, "failed")
                return
            job.status = "running"
            self._write_job(job)
            for item in items:
                if item["index"] in done:
                    continue
                if stop.is_set() or self._stop.is_set():
                    return
                record = self._render_item(item, folder, stop)
                if record is None:  # stopped: the item stays pending
                    return
                repair_partial_line(folder / "results.jsonl")
                append_jsonl(folder / "results.jsonl", record)
                job.done += 1
                job.bytes = _folder_bytes(folder)
            self._finish(job_id, "completed")
        finally:
            with self._lock:
                self._current = None
                deleted = job_id not in self._jobs
            if deleted:
                shutil.rmtree(folder, ignore_errors=True)

    def _render_item(
        self, item: dict[str, Any], folder: Path, stop: threading.Event
    ) -> dict[str, Any] | None:
        """The result line of one item (its audio written first), or ``None`` if it was stopped."""
        record = {
            "index": item["index"],
            "id": item["id"],
            "response_format": item["response_format"],
        }
        try:
            data, facts = self._render(item, stop)
        except Exception as exc:
            if stop.is_set():
                return None
            if isinstance(exc, NatiqError):
                record.update(status="error", error=str(exc))
            else:
                log.exception("batch item %s failed", item["index"])
                record.update(status="error", error="internal error; see the server log")
            return record
        if stop.is_set():
            return None
        atomic_write_bytes(folder / "results" / f"{item['index']}.{item['response_format']}", data)
        record.update(status="ok", **facts)
        return record

    def _sweep(self) -> None:
        """Delete finished jobs older than the retention period."""
        cutoff = time.time() - self.limits.retention_s
        for job in list(self._jobs.values()):
            if job.status in FINISHED and (job.finished or job.created) < cutoff:
                log.info("batch job %s expired; deleting it", job.id)
                self.delete(job.id)
