"""The text front-end settings that travel with a Higgs adapter.

Training writes the ``FrontendConfig`` it used as ``natiq_frontend.json``
into every checkpoint and the adapter dir; cloning reads it back, so Arabic
text is normalized and romanized at inference exactly as at training.
Higgs reads English (its base model was trained on it), so ``latin="auto"``
means "pass Latin words to the model as written" here (``natiq.text.code_switch``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from natiq.common.errors import CheckpointMismatchError, DataFormatError
from natiq.common.files import atomic_write_json

FRONTEND_FILE = "natiq_frontend.json"


def frontend_config_from_file(path: Path | None) -> Any:
    """A ``FrontendConfig`` from a JSON file, or the default one when ``path`` is ``None``."""
    from natiq.text import FrontendConfig

    if path is None:
        return reads_english(FrontendConfig())
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{path}: cannot read the front-end config ({exc})") from None
    return reads_english(FrontendConfig.from_dict(data))


def reads_english(config: Any) -> Any:
    """``config`` with ``latin="auto"`` made ``"pass"``: Higgs reads Latin text as written."""
    import dataclasses

    return dataclasses.replace(config, latin="pass") if config.latin == "auto" else config


def save_frontend_config(directory: Path, config: Any) -> Path:
    target = Path(directory) / FRONTEND_FILE
    atomic_write_json(target, config.to_dict())
    return target


def load_frontend(directory: Path | None) -> Any:
    """The ``TextFrontend`` recorded in ``directory``; the default front-end for a bare base model."""
    from natiq.text import FrontendConfig, TextFrontend

    if directory is None:
        return TextFrontend(reads_english(FrontendConfig()))
    source = Path(directory) / FRONTEND_FILE
    if not source.is_file():
        raise CheckpointMismatchError(
            f"{directory} has no {FRONTEND_FILE}: it was not written by `natiq higgs train`, "
            "so the text front-end used at training is unknown"
        )
    return TextFrontend(frontend_config_from_file(source))
