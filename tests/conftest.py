"""Test-wide settings and the fixtures every area shares.

Settings: one torch thread (two threads were seen 30x slower on a busy 2-core
machine), offline Hugging Face, a shared output folder for artifacts such as
screenshots, and a ``NATIQ_CACHE_DIR`` of the run's own (the packaged Whisper
is joined there, never into the user's cache). Shared fixtures: the tiny random
Pocket TTS models, built once per test process (tests must not write into their
folders: copy them first).

In parallel (``pytest -n 2``, what CI runs), every test of one folder runs in
the same worker (``pytest_xdist_make_scheduler``): a folder's session and module
fixtures (the evaluated run of tests/eval, the trained models of tests/higgs,
...) are then built once, not once per worker. Each worker has its own
temporary folders and its own cache folder, so no two processes write one file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.alignment import natiq_cache

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("NATIQ_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"


def pytest_configure(config: pytest.Config) -> None:
    # CI replays a fixed set of examples (a red CI blocks everything); local runs
    # keep exploring new ones and remember failures in .hypothesis/.
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None)
    if os.environ.get("CI"):
        settings.load_profile("ci")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under ``-n N`` (xdist's default ``--dist load``), one test folder is one unit of work.

    xdist's ``--dist loadgroup`` with ``xdist_group`` marks would say the same, but
    it marks a group by editing node ids, which pytest 9.2 no longer reads
    (pytest-dev/pytest-xdist#1386): the groups were silently ignored.
    """
    if config.getoption("dist") != "load":
        return None  # an explicit --dist mode keeps xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid.split("::", 1)[0].rsplit("/", 1)[0]

    return FolderScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def natiq_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache of this test process (one per xdist worker), for natiq and its subprocesses."""
    path = natiq_cache(tmp_path_factory)
    os.environ["NATIQ_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def tiny_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Pocket TTS model of inference tests (random weights, 256-piece tokenizer), as a YAML."""
    from natiq.backends.pocket.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny_pocket"))


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A narrower tiny Pocket TTS model (width 32, 2 heads) that training tests step quickly."""
    from natiq.backends.pocket.tiny import write_tiny_model

    return write_tiny_model(
        tmp_path_factory.mktemp("tiny_pocket_base"), d_model=32, flow_dim=32, num_heads=2
    )
