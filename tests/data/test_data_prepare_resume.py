"""``prepare`` survives being killed: the re-run finishes with exactly the files of an
uninterrupted run; several workers and several shards give the same files too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from natiq.common.files import read_jsonl, write_jsonl
from natiq.data.mini_corpus import mini_corpus_manifest
from natiq.data.prepare import PrepareConfig, Shard, run_prepare
from natiq.data.processing import AudioOptions

COPIES = 3
RUNNER = """
import sys
from pathlib import Path
from natiq.data.prepare import PrepareConfig, run_prepare
from natiq.data.processing import AudioOptions
if __name__ == "__main__":
    run_prepare(PrepareConfig(output_dir=Path(sys.argv[1]), manifest=Path(sys.argv[2]), val_fraction=0.1,
                              audio=AudioOptions(loudness=None), num_workers=int(sys.argv[3]),
                              progress=False))
"""


@pytest.fixture(scope="module")
def big_manifest(tmp_path_factory) -> Path:
    """The mini-corpus three times over (60 items with distinct ids)."""
    source = mini_corpus_manifest()
    records = []
    for copy in range(COPIES):
        for _, record in read_jsonl(source):
            audio = str(source.parent / record["audio"])
            records.append({**record, "id": f"{record['id']}_c{copy}", "audio": audio})
    path = tmp_path_factory.mktemp("big") / "manifest.jsonl"
    write_jsonl(path, records)
    return path


def _config(output: Path, manifest: Path, **kwargs) -> PrepareConfig:
    return PrepareConfig(
        output_dir=output,
        manifest=manifest,
        val_fraction=0.1,
        audio=AudioOptions(loudness=None),
        progress=False,
        **kwargs,
    )


def _snapshot(output: Path) -> dict[str, bytes]:
    """Every file a user sees (the hidden journal folder excluded)."""
    files = [p for p in output.rglob("*") if p.is_file() and ".progress" not in p.parts]
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def reference(big_manifest, tmp_path_factory) -> dict[str, bytes]:
    output = tmp_path_factory.mktemp("uninterrupted")
    run_prepare(_config(output, big_manifest))
    return _snapshot(output)


def _journal_lines(output: Path) -> int:
    path = output / ".progress" / "journal.jsonl"
    return path.read_bytes().count(b"\n") if path.is_file() else 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_killed_run_resumes_to_identical_output(big_manifest, reference, tmp_path, workers):
    output = tmp_path / "out"
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    command = [sys.executable, str(runner), str(output), str(big_manifest), str(workers)]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while _journal_lines(output) < 8 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_at_kill = _journal_lines(output)
    assert 8 <= done_at_kill < COPIES * 20, "the run must be killed part-way"
    assert not (output / "metadata.jsonl").exists()

    summary = run_prepare(_config(output, big_manifest))
    assert summary.resumed == done_at_kill
    assert summary.processed == COPIES * 20 - done_at_kill
    assert _snapshot(output) == reference
    assert not [p for p in output.rglob("*.tmp*")]


@pytest.mark.slow
def test_two_workers_give_the_same_files(big_manifest, reference, tmp_path):
    run_prepare(_config(tmp_path, big_manifest, num_workers=2))
    assert _snapshot(tmp_path) == reference


def test_shards_sharing_a_folder_give_the_same_files(big_manifest, reference, tmp_path):
    first = run_prepare(_config(tmp_path, big_manifest, shard=Shard(0, 2)))
    second = run_prepare(_config(tmp_path, big_manifest, shard=Shard(1, 2)))
    assert first.processed + second.processed == COPIES * 20
    assert first.other_shards == second.processed
    assert _snapshot(tmp_path) == reference
    config = json.loads((tmp_path / "prepare_config.json").read_text(encoding="utf-8"))
    assert config["audio"]["trim_silence"] is False and config["frontend"]["diacritics"] == "keep"


def test_a_journaled_wav_cut_short_is_redone(big_manifest, tmp_path):
    """Wavs are renamed into place without fsync: a wav a power loss truncated is processed again."""
    run_prepare(_config(tmp_path, big_manifest, limit=4))
    wavs = sorted((tmp_path / "audio").glob("*.wav"))
    intact = wavs[1].read_bytes()
    wavs[1].write_bytes(intact[:100])
    wavs[2].unlink()
    summary = run_prepare(_config(tmp_path, big_manifest, limit=4))
    assert (summary.processed, summary.resumed) == (2, 2)
    assert wavs[1].read_bytes() == intact and wavs[2].is_file()
