"""Batch jobs: parsing, resuming, stopped items left pending, a worker that
survives errors and says so, torn result lines, caps, deletion and expiry."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from natiq.common.errors import DataFormatError, InputTextError
from natiq.serve.jobs import (
    BatchLimits,
    JobLimits,
    JobsBusy,
    JobsStorageFull,
    JobStore,
    parse_batch,
)

BATCH = BatchLimits(max_items=3, max_text_chars=50, formats=("wav", "pcm", "flac"))
FAST_RETRY = JobLimits(retry_s=0.05)


def items(count: int) -> list[dict]:
    return parse_batch(
        "\n".join(f'{{"input": "جملة رقم {i}"}}' for i in range(count)).encode(),
        BatchLimits(max_items=count, max_text_chars=50, formats=("wav",)),
    )


def render_text(item: dict, stop: threading.Event) -> tuple[bytes, dict]:
    return item["text"].encode(), {"duration": 1.0}


def wait_for(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def wait_finished(store: JobStore, job_id: str) -> dict:
    wait_for(lambda: store.status(job_id)["status"] in ("completed", "failed"))
    return store.status(job_id)


def run_to_the_end(store: JobStore, job_id: str) -> dict:
    """Start the worker, wait for the job to finish, stop the worker."""
    store.start()
    try:
        return wait_finished(store, job_id)
    finally:
        store.stop()


# ----- parsing
def test_parse_batch_normalizes_items():
    body = '{"input": "مرحبا"}\n\n{"text": "أهلا", "voice": "v1", "response_format": "flac", "id": "a"}\r\n'
    assert parse_batch(body.encode(), BATCH) == [
        {"index": 0, "id": None, "text": "مرحبا", "voice": None, "response_format": "wav"},
        {"index": 1, "id": "a", "text": "أهلا", "voice": "v1", "response_format": "flac"},
    ]


def test_line_separators_inside_json_strings_do_not_split_a_batch_line():
    body = json.dumps({"input": "مرحبا\u2028بكم\u0085اليوم\u2029"}, ensure_ascii=False)
    assert parse_batch(body.encode(), BATCH)[0]["text"] == "مرحبا\u2028بكم\u0085اليوم\u2029"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b'{"input": "a"}\n{"input": ', "batch:2: invalid JSON"),
        (b'{"input": "a"}\n[1]', "batch:2: expected a JSON object"),
        (b'{"input": "a", "pitch": 2}', "batch:1: unknown field 'pitch'"),
        (b'{"voice": "v1"}', "batch:1: missing field"),
        (b'{"input": "   "}', "batch:1: 'input': must not be empty"),
        (b'{"text": "a", "id": "../x"}', "batch:1: 'id': '../x' is not a safe file name"),
        (b'{"text": "a", "id": "x"}\n{"text": "b", "id": "x"}', "batch:2: duplicate id 'x'"),
        ('{"input": "' + "ب" * 51 + '"}', "batch:1: 'text' has 51 characters; the limit is 50"),
        (b'{"input": "a", "response_format": "ogg"}', "batch:1: 'response_format' must be one of"),
        (b'{"input": "a"}\n' * 4, "more than 3 items"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"input": "a", "id": NaN}', "batch:1: invalid JSON"),
        (b'{"input": "a", "id": Infinity}', "batch:1: invalid JSON"),
        (b"[" * 100_000, "batch:1: invalid JSON \\(recursion limit exceeded"),
        (b'{"input": "\\ud800"}', "batch:1: invalid JSON"),
    ],
)
def test_parse_batch_names_the_line_of_each_problem(body, message):
    data = body.encode() if isinstance(body, str) else body
    with pytest.raises(DataFormatError, match=message):
        parse_batch(data, BATCH)


# ----- resuming
def test_job_resumes_after_a_stop_and_skips_finished_items(tmp_path):
    calls: list[str] = []
    first: JobStore

    def render_then_stop(item, stop):
        calls.append(item["text"])
        if len(calls) == 2:
            first._stop.set()  # the server goes away after this item
        return item["text"].encode(), {"duration": 1.0}

    first = JobStore(tmp_path, render_then_stop)
    job = first.submit(items(3))
    first.start()
    first._thread.join(30)  # the worker ends by itself once it sees the stop
    assert calls == ["جملة رقم 0", "جملة رقم 1"]
    assert first.status(job["id"])["status"] == "running"

    resumed_calls: list[str] = []

    def render(item, stop):
        resumed_calls.append(item["text"])
        if item["index"] == 2:
            raise InputTextError("nothing speakable")
        return item["text"].encode(), {"duration": 1.0}

    second = JobStore(tmp_path, render)
    status = run_to_the_end(second, job["id"])
    assert second.resumed == [job["id"]]
    assert resumed_calls == ["جملة رقم 2"]
    assert (status["completed"], status["failed"]) == (2, 1)
    assert status["results"][2] == {
        "index": 2,
        "id": None,
        "response_format": "wav",
        "status": "error",
        "error": "nothing speakable",
    }
    path, fmt = second.result_file(job["id"], 0)
    assert fmt == "wav" and path.read_bytes() == "جملة رقم 0".encode()
    assert second.result_file(job["id"], 2) is None
    assert second.result_file("../" + job["id"], 0) is None


def test_completed_jobs_are_not_run_again_after_restart(tmp_path):
    store = JobStore(tmp_path, render_text)
    job = store.submit(items(1))
    run_to_the_end(store, job["id"])
    again = JobStore(tmp_path, lambda item, stop: pytest.fail("a completed job ran again"))
    again.start()
    again.stop()
    assert again.resumed == []
    assert again.counts() == {"queued": 0, "running": 0, "completed": 1, "failed": 0}


def test_starting_the_store_twice_runs_one_worker(tmp_path):
    store = JobStore(tmp_path, render_text)
    job = store.submit(items(1))
    store.start()
    worker = store._thread
    store.start()  # an application's lifespan entered a second time
    try:
        assert store._thread is worker
        assert store.resumed == [job["id"]]  # queued once, not twice
    finally:
        store.stop()
    assert not store._thread.is_alive()  # stop() ends the one worker at once


def test_an_item_stopped_by_shutdown_stays_pending_and_runs_after_restart(tmp_path):
    started = threading.Event()

    def render_until_stopped(item, stop):
        started.set()
        stop.wait(30)  # synthesis in progress, until the server stops it
        raise RuntimeError("CancelledError")  # whatever a stopped synthesis raises

    store = JobStore(tmp_path, render_until_stopped)
    job = store.submit(items(2))
    store.start()
    assert started.wait(30)
    store.stop()
    assert not store._thread.is_alive()
    assert store.status(job["id"])["results"] == []  # no failure recorded

    again = JobStore(tmp_path, render_text)
    assert again.counts()["queued"] == 1
    status = run_to_the_end(again, job["id"])
    assert [r["status"] for r in status["results"]] == ["ok", "ok"]


# ----- a worker that survives
def test_batch_worker_survives_a_disk_error_and_reports_it_until_it_recovers(tmp_path):
    store = JobStore(tmp_path, render_text, FAST_RETRY)
    blocked = store.submit(items(2))
    # a file where the results folder should be: every write fails like a full disk
    results = tmp_path / blocked["id"] / "results"
    results.write_text("in the way")
    # and a job whose items cannot be read: a bug outside any item
    broken = store.submit(items(1))
    (tmp_path / broken["id"] / "items.jsonl").write_text("{not json\n")
    store.start()
    try:
        wait_for(lambda: store.health()["worker"] == "retrying")
        assert store.health()["last_error"].startswith("cannot write batch results (")
        assert not store.healthy
        results.unlink()
        status = wait_finished(store, blocked["id"])
        assert [r["status"] for r in status["results"]] == ["ok", "ok"]
        assert wait_finished(store, broken["id"])["status"] == "failed"
        later = store.submit(items(1))
        assert wait_finished(store, later["id"])["status"] == "completed"
        wait_for(lambda: store.health() == {"worker": "idle", "last_error": None})
        assert store.healthy
    finally:
        store.stop()


def test_a_torn_results_line_is_cut_before_the_next_append(tmp_path):
    store = JobStore(tmp_path, render_text)
    job = store.submit(items(3))
    # a crash (or a full disk) left item 0 done and half a line for item 1
    results = tmp_path / job["id"] / "results.jsonl"
    (tmp_path / job["id"] / "results").mkdir()
    (tmp_path / job["id"] / "results" / "0.wav").write_bytes(b"x")
    ok0 = {"index": 0, "id": None, "response_format": "wav", "status": "ok"}
    results.write_text(json.dumps(ok0) + '\n{"index": 1, "id": nu')
    status = run_to_the_end(JobStore(tmp_path, render_text), job["id"])
    assert [(r["index"], r["status"]) for r in status["results"]] == [
        (0, "ok"),
        (1, "ok"),
        (2, "ok"),
    ]
    lines = results.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)


# ----- caps, deletion, expiry
def test_job_caps_refuse_with_busy_or_storage_full(tmp_path):
    store = JobStore(tmp_path, render_text, JobLimits(max_jobs=2, max_queued_items=5))
    store.submit(items(3))
    with pytest.raises(JobsBusy, match="3 batch items are waiting and this job adds 3"):
        store.submit(items(3))
    store.submit(items(2))
    with pytest.raises(JobsBusy, match="2 unfinished batch jobs"):
        store.submit(items(1))
    small = JobStore(tmp_path / "small", render_text, JobLimits(max_bytes=100))
    small.submit(items(2))  # items.jsonl and job.json already pass 100 bytes
    with pytest.raises(JobsStorageFull, match="fill this server's 100 bytes"):
        small.submit(items(1))


@pytest.mark.parametrize(
    ("caps", "status", "message"),
    [
        ({"max_jobs": 1}, 429, "1 unfinished batch jobs"),
        ({"max_jobs_bytes": 200}, 507, "fill this server's 200 bytes"),
    ],
)
def test_batch_routes_answer_429_and_507_over_the_caps(make_api, caps, status, message):
    api = make_api(**caps)
    api.state.jobs.stop()  # nothing runs, so the first job stays unfinished
    line = json.dumps({"input": "مرحبا", "voice": "espeak"}).encode()
    assert api.client.post("/v1/batch", content=line).status_code == 202
    refused = api.client.post("/v1/batch", content=line)
    assert refused.status_code == status and message in refused.json()["detail"]


def test_a_batch_job_can_be_deleted_while_its_item_is_running(tmp_path):
    started = threading.Event()
    stopped = threading.Event()

    def render_until_stopped(item, stop):
        started.set()
        if stop.wait(30):
            stopped.set()
        raise RuntimeError("stopped")

    store = JobStore(tmp_path, render_until_stopped)
    job = store.submit(items(3))
    store.start()
    try:
        assert started.wait(30)
        assert store.delete(job["id"]) is True
        assert stopped.wait(5)  # the running item was told to stop
        wait_for(lambda: not (tmp_path / job["id"]).exists())
        assert store.status(job["id"]) is None and store.delete(job["id"]) is False
        assert store.counts() == {"queued": 0, "running": 0, "completed": 0, "failed": 0}
    finally:
        store.stop()


def test_delete_route_removes_a_finished_job(api):
    submitted = api.client.post(
        "/v1/batch", content='{"input": "مرحبا", "voice": "espeak"}'.encode()
    )
    job_id = submitted.json()["id"]
    wait_for(lambda: api.client.get(f"/v1/batch/{job_id}").json()["status"] == "completed")
    folder = Path(api.settings.data_dir) / "jobs" / job_id
    assert folder.is_dir()
    assert api.client.delete(f"/v1/batch/{job_id}").status_code == 204
    wait_for(lambda: not folder.exists())
    assert api.client.get(f"/v1/batch/{job_id}").status_code == 404
    assert api.client.delete(f"/v1/batch/{job_id}").status_code == 404
    assert api.client.delete("/v1/batch/..").status_code == 404


def test_finished_jobs_expire_after_the_retention_period(tmp_path):
    store = JobStore(tmp_path, render_text, JobLimits(retention_s=3600))
    old, recent = store.submit(items(1)), store.submit(items(1))
    store.start()
    try:
        wait_finished(store, old["id"])
        wait_finished(store, recent["id"])
    finally:
        store.stop()
    unfinished = store.submit(items(1))  # queued: it never expires while unfinished
    store._jobs[old["id"]].finished = time.time() - 3601  # finished more than an hour ago
    store._jobs[unfinished["id"]].created = time.time() - 7200
    store._sweep()
    assert store.status(old["id"]) is None and not (tmp_path / old["id"]).exists()
    assert store.status(recent["id"])["status"] == "completed"
    assert store.status(unfinished["id"]) is not None
