"""Helpers shared by the Pocket training tests: latent manifests of the mini-corpus, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner


def write_manifest(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def invoke_natiq(*args: str) -> str:
    """Run ``natiq ARGS`` in process; its output, after checking it exited 0."""
    from natiq.cli.main import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
