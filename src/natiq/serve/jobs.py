"""Batch synthesis jobs whose state lives on disk, so they survive a restart.

A job is a folder ``<root>/<job id>/`` holding ``job.json`` (id, creation
time, item count, status), ``items.jsonl`` (the validated requests) and
``results.jsonl`` (one line appended per finished item, ok or error) beside
the audio files ``results/<index>.<format>``. One worker thread takes jobs in
order; on start it re-queues every job not marked completed and skips the
items whose result line already exists. Writes are atomic, so a kill at any
moment at worst repeats the item that was being synthesized.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
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

JOB_ID = re.compile(r"^job_[0-9a-f]{16}$")

# (item) -> (encoded audio, facts to record such as the duration)
Renderer = Callable[[dict[str, Any]], tuple[bytes, dict[str, Any]]]


@dataclass(frozen=True)
class BatchLimits:
    max_items: int
    max_text_chars: int
    formats: tuple[str, ...]
    default_format: str = "wav"


def parse_batch(body: bytes, limits: BatchLimits) -> list[dict[str, Any]]:
    """Validate a JSONL body (``natiq.data.batch_lines``, strictly) against the server's limits.

    Every problem names its line (``batch:3: ...``). Returns the items to store:
    ``index``, ``id``, ``text``, ``voice``, ``response_format``.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFormatError("the batch body is not UTF-8 text") from None
    lines = text.splitlines()
    if sum(1 for line in lines if line.strip()) > limits.max_items:
        raise DataFormatError(f"the batch has more than {limits.max_items} items; split it")
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
        items.append(
            {
                "index": len(items),
                "id": line.id,
                "text": line.text,
                "voice": line.voice,
                "response_format": fmt,
            }
        )
    if not items:
        raise DataFormatError("the batch is empty: send one JSON object per line")
    return items


class JobStore:
    def __init__(self, root: Path, render: Renderer) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._render = render
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._queued: set[str] = set()
        self.resumed: list[str] = []

    # ----- paths and state
    def _dir(self, job_id: str) -> Path | None:
        if not JOB_ID.match(job_id):
            return None
        folder = self.root / job_id
        return folder if (folder / "job.json").is_file() else None

    def _read_job(self, folder: Path) -> dict[str, Any]:
        return json.loads((folder / "job.json").read_text(encoding="utf-8"))

    def _results(self, folder: Path) -> dict[int, dict[str, Any]]:
        path = folder / "results.jsonl"
        if not path.is_file():
            return {}
        return {
            record["index"]: record for _, record in read_jsonl(path, skip_partial_last_line=True)
        }

    # ----- public API
    def submit(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        job_id = "job_" + secrets.token_hex(8)
        folder = self.root / job_id
        write_jsonl(folder / "items.jsonl", items)
        job = {"id": job_id, "created": time.time(), "total": len(items), "status": "queued"}
        atomic_write_json(folder / "job.json", job)
        with self._lock:
            self._queued.add(job_id)
        self._queue.put(job_id)
        return self.status(job_id) or job

    def status(self, job_id: str) -> dict[str, Any] | None:
        folder = self._dir(job_id)
        if folder is None:
            return None
        job = self._read_job(folder)
        results = self._results(folder)
        done = sorted(results.values(), key=lambda r: r["index"])
        job["completed"] = sum(1 for r in done if r["status"] == "ok")
        job["failed"] = sum(1 for r in done if r["status"] == "error")
        job["results"] = done
        return job

    def result_file(self, job_id: str, index: int) -> tuple[Path, str] | None:
        folder = self._dir(job_id)
        if folder is None:
            return None
        record = self._results(folder).get(index)
        if record is None or record["status"] != "ok":
            return None
        path = folder / "results" / f"{index}.{record['response_format']}"
        return (path, record["response_format"]) if path.is_file() else None

    def counts(self) -> dict[str, int]:
        counts = {"queued": 0, "running": 0, "completed": 0}
        for folder in self.root.iterdir():
            if (folder / "job.json").is_file():
                status = self._read_job(folder).get("status", "queued")
                counts[status] = counts.get(status, 0) + 1
        return counts

    # ----- worker
    def start(self) -> None:
        """Re-queue unfinished jobs (oldest first) and start the worker thread."""
        pending = []
        for folder in self.root.iterdir():
            if JOB_ID.match(folder.name) and (folder / "job.json").is_file():
                job = self._read_job(folder)
                if job.get("status") != "completed" and job["id"] not in self._queued:
                    pending.append((job["created"], job["id"]))
        for _, job_id in sorted(pending):
            self.resumed.append(job_id)
            self._queue.put(job_id)
        self._thread = threading.Thread(target=self._work, name="natiq-batch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None:
                return
            folder = self._dir(job_id)
            if folder is not None:
                self._run_job(folder)

    def _set_status(self, folder: Path, status: str) -> None:
        job = self._read_job(folder)
        job["status"] = status
        job["updated"] = time.time()
        atomic_write_json(folder / "job.json", job)

    def _run_job(self, folder: Path) -> None:
        done = self._results(folder)
        items = [record for _, record in read_jsonl(folder / "items.jsonl")]
        pending = [item for item in items if item["index"] not in done]
        if pending:
            self._set_status(folder, "running")
        for item in pending:
            if self._stop.is_set():
                return
            record = {
                "index": item["index"],
                "id": item["id"],
                "response_format": item["response_format"],
            }
            try:
                data, facts = self._render(item)
            except NatiqError as exc:
                record.update(status="error", error=str(exc))
            except Exception as exc:  # a bug in one item must not stop the job: record it
                record.update(status="error", error=f"internal error: {type(exc).__name__}: {exc}")
            else:
                atomic_write_bytes(
                    folder / "results" / f"{item['index']}.{item['response_format']}", data
                )
                record.update(status="ok", **facts)
            append_jsonl(folder / "results.jsonl", record)
        self._set_status(folder, "completed")
