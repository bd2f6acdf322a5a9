"""Pads a list of ``EncodedSample`` into one training batch.

Text is right-padded with the pad token (attention 0, label ignored); the
audio frames of each sample are right-padded with stream EOS and marked
invalid in ``audio_input_ids_mask`` (bool, as the model requires), their
labels ignored. Right padding keeps every sample's positions starting at 0,
exactly as in single-sample generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from natiq.backends.higgs.chatml_inputs import IGNORE_INDEX, EncodedSample


@dataclass
class HiggsCollator:
    pad_token_id: int
    stream_eos: int
    num_codebooks: int

    def __call__(self, samples: Sequence[EncodedSample]) -> dict[str, torch.Tensor]:
        if not samples:
            raise ValueError("cannot collate an empty batch")
        batch = len(samples)
        length = max(s.input_ids.shape[0] for s in samples)
        frames = max(max(s.audio_frames.shape[0] for s in samples), 1)
        input_ids = torch.full((batch, length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((batch, length), dtype=torch.long)
        labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
        audio_input_ids = torch.full(
            (batch, frames, self.num_codebooks), self.stream_eos, dtype=torch.long
        )
        audio_mask = torch.zeros((batch, frames), dtype=torch.bool)
        audio_labels = torch.full(
            (batch, frames, self.num_codebooks), IGNORE_INDEX, dtype=torch.long
        )
        for row, sample in enumerate(samples):
            n = sample.input_ids.shape[0]
            f = sample.audio_frames.shape[0]
            input_ids[row, :n] = sample.input_ids
            attention_mask[row, :n] = 1
            labels[row, :n] = sample.text_labels
            audio_input_ids[row, :f] = sample.audio_frames
            audio_mask[row, :f] = True
            audio_labels[row, :f] = sample.audio_labels
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": labels,
            "audio_input_ids": audio_input_ids,
            "audio_input_ids_mask": audio_mask,
            "audio_labels": audio_labels,
        }
