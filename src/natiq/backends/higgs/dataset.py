"""ChatML samples + cached codes -> encoded training examples, bad ones reported.

A sample is skipped (never silently) when its reference or target audio
could not be encoded, the reference is longer than the limit, or a text is
empty after the front-end; each skip is returned with its reason so the
trainer can write it to ``skipped.jsonl``.

The system prompt is each line's own (``natiq data chatml --scene`` sets it)
unless training overrides it for all lines (the trainer records the one it
used with the adapter so that inference builds the same prompt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from natiq.backends.higgs.audio_codes import CodeStore
from natiq.backends.higgs.chatml_inputs import CloningTexts, EncodedSample, encode_conversation
from natiq.backends.higgs.config import DEFAULT_SYSTEM_PROMPT, FRAMES_PER_SECOND, AudioIds
from natiq.common.errors import NatiqError


@dataclass
class Skipped:
    id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "reason": self.reason}


def system_prompt_of(sample: Any, override: str | None = None) -> str:
    """``override`` if given, else the line's own system prompt, else the default one."""
    if override is not None:
        return override
    return sample.system or DEFAULT_SYSTEM_PROMPT


def prepared_texts(sample: Any, frontend: Any, system_prompt: str | None = None) -> CloningTexts:
    """System prompt (see ``system_prompt_of``) kept as written; reference and target text through the front-end."""
    return CloningTexts(
        system=system_prompt_of(sample, system_prompt),
        ref_text=frontend.prepare(sample.ref_text).model_text if sample.ref_text.strip() else "",
        target_text=frontend.prepare(sample.target_text).model_text
        if sample.target_text.strip()
        else "",
    )


def encode_training_samples(
    samples: Sequence[Any],
    *,
    tokenizer: Any,
    ids: AudioIds,
    frontend: Any,
    store: CodeStore,
    max_ref_seconds: float,
    max_target_seconds: float,
    system_prompt: str | None = None,
) -> tuple[list[EncodedSample], list[Skipped]]:
    encoded: list[EncodedSample] = []
    skipped: list[Skipped] = []
    for sample in samples:
        try:
            if sample.target_audio is None:
                raise NatiqError(
                    "no target audio turn: a training sample needs the last assistant audio"
                )
            ref_codes = store.load(sample.ref_audio)
            target_codes = store.load(sample.target_audio)
            for label, codes, limit in (
                ("reference", ref_codes, max_ref_seconds),
                ("target", target_codes, max_target_seconds),
            ):
                seconds = codes.shape[1] / FRAMES_PER_SECOND
                if seconds > limit:
                    raise NatiqError(
                        f"the {label} clip is {seconds:.1f} s, over the {limit:g} s limit"
                    )
            texts = prepared_texts(sample, frontend, system_prompt)
            encoded.append(encode_conversation(tokenizer, ids, texts, ref_codes, target_codes))
        except NatiqError as exc:
            skipped.append(Skipped(id=str(sample.id), reason=str(exc)))
    return encoded, skipped
