"""The text front-end a training run records, with the user's pronunciation lexicon.

A fresh run builds its ``FrontendConfig`` from its own settings and adds the
entries of ``--lexicon`` (``natiq.text.user_lexicon``); the config, lexicon
included, is saved in every checkpoint as ``natiq_frontend.json``, so
inference applies the lexicon without being given it again. A resumed run
keeps the checkpoint's front-end: a ``--lexicon`` whose entries differ from the
recorded ones is an error rather than a silent change of what the model hears.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from natiq.common.errors import CheckpointMismatchError
from natiq.text import FrontendConfig
from natiq.text.user_lexicon import read_lexicon, same_entries, with_lexicon


def run_frontend(
    resume_dir: Path | None, fresh: Callable[[], FrontendConfig], lexicon: Path | None
) -> FrontendConfig:
    """The front-end of a run: the resumed checkpoint's, or ``fresh()`` with ``lexicon``'s entries."""
    entries = read_lexicon(lexicon) if lexicon is not None else None
    if resume_dir is not None:
        recorded = FrontendConfig.load(resume_dir)
        if entries is not None and not same_entries(recorded.lexicon, entries):
            raise CheckpointMismatchError(
                f"{resume_dir} was trained with another pronunciation lexicon than {lexicon} "
                f"({len(recorded.lexicon)} recorded entries); resume without --lexicon, or "
                "start a new run"
            )
        return recorded
    return with_lexicon(fresh(), entries or ())
