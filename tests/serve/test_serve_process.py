"""A real ``natiq serve`` process, for what only a process shows: a signal
and the shutdown it starts. The restart on the same data folder then runs in
process (the same ``create_app`` the command runs)."""

from __future__ import annotations

import json
import logging
import signal
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from natiq.serve.app import create_app
from support.serve import API_KEY, BASE_URL, VOICE_TEXT, ServerProcess, make_settings, write_key

pytestmark = pytest.mark.slow

ITEM = "السلام عليكم ورحمة الله. كيف حالك اليوم؟"


def test_sigterm_leaves_running_batch_items_pending_and_a_restart_finishes_them(
    tmp_path: Path, tiny_yaml: Path, synthesizer, clip_bytes: bytes, caplog
):
    data = tmp_path / "data"
    key = write_key(tmp_path)
    args = [
        "--model", str(tiny_yaml), "--device", "cpu", "--api-key-file", str(key),
        "--data-dir", str(data), "--max-seconds", "0.96",
    ]  # fmt: skip
    server = ServerProcess(args, tmp_path / "server.log")
    auth = {"Authorization": f"Bearer {API_KEY}"}
    server.start()
    try:
        voice = httpx.post(
            server.url + "/v1/voices",
            headers=auth,
            files={"file": ("ref.wav", clip_bytes, "audio/wav")},
            data={"text": VOICE_TEXT},
            timeout=60,
        ).json()["id"]
        lines = [json.dumps({"input": ITEM, "voice": voice, "id": f"s{i}"}) for i in range(3)]
        submitted = httpx.post(
            server.url + "/v1/batch", headers=auth, content="\n".join(lines).encode()
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        started = time.monotonic()
        # uvicorn shuts down cleanly, then exits by the signal it caught
        assert server.stop(signal.SIGTERM) == -signal.SIGTERM
        assert time.monotonic() - started < 10
        assert "Application shutdown complete." in server.log()
    finally:
        server.stop(signal.SIGKILL)
    results = data / "jobs" / job_id / "results.jsonl"
    done = (
        [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    )
    assert [r["status"] for r in done] == ["ok"] * len(done)  # nothing failed by the stop
    assert len(done) < 3, "the batch finished before the signal; make its items longer"

    settings = make_settings(tmp_path, api_key_file=key, data_dir=data, max_seconds=0.96)
    with (
        caplog.at_level(logging.INFO, logger="natiq.serve"),
        TestClient(create_app(settings, synthesizer), base_url=BASE_URL, headers=auth) as client,
    ):
        deadline = time.monotonic() + 60
        status = client.get(f"/v1/batch/{job_id}").json()
        while status["status"] != "completed" and time.monotonic() < deadline:
            time.sleep(0.05)
            status = client.get(f"/v1/batch/{job_id}").json()
        wav = client.get(status["results"][2]["url"])
    assert f"resuming 1 unfinished batch job(s): {job_id}" in caplog.text
    assert (status["total"], status["completed"], status["failed"]) == (3, 3, 0)
    assert [r["id"] for r in status["results"]] == ["s0", "s1", "s2"]
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
