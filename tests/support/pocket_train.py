"""Helpers shared by the Pocket training tests: latent manifests of the mini-corpus."""

from __future__ import annotations

import json
from pathlib import Path


def write_manifest(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path
