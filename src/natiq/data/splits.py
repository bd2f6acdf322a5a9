"""Deterministic train/val assignment by id hash, per speaker.

An utterance goes to ``val`` when the hash of its id falls below
``val_fraction``, so the decision does not depend on corpus order, on
``--limit`` or on ``--shard``. Then, per speaker with at least two
utterances, the split is repaired so that the speaker appears in ``val``
(its lowest-hash utterance moves there) and in ``train`` (its highest-hash
utterance stays there), whenever ``val_fraction > 0``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence


def id_hash(utt_id: str) -> float:
    """A stable number in [0, 1) derived from the id (SHA-1, first 64 bits)."""
    digest = hashlib.sha1(utt_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_splits(items: Sequence[tuple[str, str]], val_fraction: float) -> dict[str, str]:
    """Map each ``(id, speaker)`` to ``train`` or ``val``."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    splits: dict[str, str] = {}
    by_speaker: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for utt_id, speaker in items:
        value = id_hash(utt_id)
        splits[utt_id] = "val" if value < val_fraction else "train"
        by_speaker[speaker].append((value, utt_id))
    if val_fraction == 0.0:
        return splits
    for ranked in by_speaker.values():
        if len(ranked) < 2:
            continue
        ranked.sort()
        if all(splits[utt_id] == "train" for _, utt_id in ranked):
            splits[ranked[0][1]] = "val"
        if all(splits[utt_id] == "val" for _, utt_id in ranked):
            splits[ranked[-1][1]] = "train"
    return splits
