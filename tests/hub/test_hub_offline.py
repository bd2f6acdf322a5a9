"""``hf://`` references, and failing in seconds (not after minutes of retries) when the Hub
cannot be reached and the cache does not hold the model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from natiq.common.hub import HfRef, as_hf_url, parse_hf_url


@pytest.mark.parametrize(
    ("url", "ref"),
    [
        ("hf://owner/repo", HfRef("owner/repo")),
        ("hf://owner/repo@v1", HfRef("owner/repo", None, "v1")),
        ("hf://owner/repo/a/b.yaml", HfRef("owner/repo", "a/b.yaml")),
        ("hf://owner/repo/b.safetensors@0123abc", HfRef("owner/repo", "b.safetensors", "0123abc")),
    ],
)
def test_hf_references_parse_and_print_back(url: str, ref: HfRef) -> None:
    assert parse_hf_url(url) == ref
    assert ref.url() == url


@pytest.mark.parametrize("bad", ["hf://owner", "hf://owner/repo@", "owner/repo"])
def test_malformed_hf_references_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_hf_url(bad)


def test_a_path_that_swallowed_a_slash_is_still_an_hf_reference() -> None:
    assert as_hf_url(Path("hf://owner/repo@v1")) == "hf://owner/repo@v1"
    assert as_hf_url(Path("models/local")) is None


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_repository_missing_from_the_cache_offline_says_what_to_do() -> None:
    from natiq.common.errors import ModelLoadError
    from natiq.common.hub import resolve_model_reference

    with pytest.raises(ModelLoadError) as caught:  # the tests run with HF_HUB_OFFLINE=1
        resolve_model_reference("hf://natiq-tests/never-published@v1")
    message = str(caught.value)
    assert message.startswith(
        "hf://natiq-tests/never-published@v1 is not in the Hugging Face cache"
    )
    assert "HF_HUB_OFFLINE is set" in message
    assert "natiq hub pull natiq-tests/never-published" in message


@pytest.mark.slow
def test_unreachable_hub_and_empty_cache_fail_at_once_with_what_to_do(tmp_path: Path) -> None:
    """``speak --model english`` used to print five rounds of retries (28 s) before failing."""
    model, message = "english", "not in the local Hugging Face cache"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(
        PYTHONPATH=src,
        HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}",
        HF_HUB_CACHE=str(tmp_path / "empty-cache"),
        HF_HOME=str(tmp_path / "hf-home"),
    )
    command = [sys.executable, "-m", "natiq.cli.main", "speak", "--model", model]
    command += ["--text", "سلام", "--output", str(tmp_path / "x.wav"), "--device", "cpu"]
    started = time.monotonic()
    # huggingface_hub alone retries five times with back-off (about 25 s per file)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    print(f"{model}: failed after {time.monotonic() - started:.1f} s")
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert "Retrying" not in result.stderr
    assert not (tmp_path / "x.wav").exists()
