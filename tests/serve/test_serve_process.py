"""The real ``natiq serve`` command in its own process, for what only a
process shows: signals, the shutdown they start, a crash, and the restarts
on the same data folder."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from support.serve import API_KEY, VOICE_TEXT, ServerProcess, write_key

pytestmark = pytest.mark.slow

ITEM = "السلام عليكم ورحمة الله. كيف حالك اليوم؟"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def result_lines(data: Path, job_id: str) -> list[dict]:
    path = data / "jobs" / job_id / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_sigterm_leaves_running_batch_items_pending_and_restarts_finish_them(
    tmp_path: Path, tiny_yaml: Path, clip_bytes: bytes
):
    data = tmp_path / "data"
    args = [
        "--model", str(tiny_yaml), "--device", "cpu",
        "--api-key-file", str(write_key(tmp_path)), "--data-dir", str(data), "--max-seconds", "0.96",
    ]  # fmt: skip
    server = ServerProcess(args, tmp_path / "server.log")
    server.start()
    try:
        voice = httpx.post(
            server.url + "/v1/voices",
            headers=AUTH,
            files={"file": ("ref.wav", clip_bytes, "audio/wav")},
            data={"text": VOICE_TEXT},
            timeout=60,
        ).json()["id"]
        lines = [json.dumps({"input": ITEM, "voice": voice, "id": f"s{i}"}) for i in range(4)]
        body = "\n".join(lines).encode()
        job_id = httpx.post(server.url + "/v1/batch", headers=AUTH, content=body).json()["id"]
        started = time.monotonic()
        # uvicorn shuts down cleanly, then exits by the signal it caught
        assert server.stop(signal.SIGTERM) == -signal.SIGTERM
        assert time.monotonic() - started < 10
        assert "Application shutdown complete." in server.log()
        done = result_lines(data, job_id)
        assert [r["status"] for r in done] == ["ok"] * len(done)  # nothing failed by the stop
        assert len(done) < 4, "the batch finished before the signal; make its items longer"

        server.start()  # restart; then a crash while it works
        assert f"resuming 1 unfinished batch job(s): {job_id}" in server.log()
        while len(result_lines(data, job_id)) == len(done) and server._poll() is None:
            time.sleep(0.01)
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL

        server.start()
        deadline = time.monotonic() + 90
        status = httpx.get(server.url + f"/v1/batch/{job_id}", headers=AUTH).json()
        while status["status"] != "completed" and time.monotonic() < deadline:
            time.sleep(0.05)
            status = httpx.get(server.url + f"/v1/batch/{job_id}", headers=AUTH).json()
        wav = httpx.get(server.url + status["results"][3]["url"], headers=AUTH)
    finally:
        server.stop(signal.SIGKILL)
    assert (status["total"], status["completed"], status["failed"]) == (4, 4, 0)
    assert [r["id"] for r in status["results"]] == ["s0", "s1", "s2", "s3"]
    assert len(result_lines(data, job_id)) == 4  # each item once: none repeated after a restart
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
