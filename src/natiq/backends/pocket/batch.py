"""The training batch every Pocket TTS objective consumes.

One padded batch of utterances: text token ids, the target's raw Mimi latents
and, optionally, raw latents of a voice prompt (another utterance of the same
speaker) used the way inference uses a voice: as a prefix before the text.
Latents stay raw (un-normalized) here; the forward pass normalizes them with
the model's ``emb_mean``/``emb_std`` so a batch never depends on a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

LATENT_DIM = 32


@dataclass
class PocketBatch:
    """A padded batch. Shapes: ``B`` utterances, ``T`` tokens, ``F`` frames, ``P`` prompt frames.

    - ``text_tokens``: LongTensor [B, T], padded with ``pad id = n_bins`` (the
      embedding's last row).
    - ``text_lengths``: LongTensor [B].
    - ``latents``: FloatTensor [B, F, 32], raw Mimi latents of the target, zero-padded.
    - ``latent_lengths``: LongTensor [B].
    - ``prompt_latents``: FloatTensor [B, P, 32] or None, raw latents of a voice prompt.
    - ``prompt_lengths``: LongTensor [B] or None (a length of 0 means no prompt for that row).
    - ``keep_text`` / ``keep_voice``: BoolTensor [B] or None: condition dropout drawn
      per example (False = trained without it); None keeps every condition.
    """

    text_tokens: torch.Tensor
    text_lengths: torch.Tensor
    latents: torch.Tensor
    latent_lengths: torch.Tensor
    prompt_latents: torch.Tensor | None = None
    prompt_lengths: torch.Tensor | None = None
    keep_text: torch.Tensor | None = None
    keep_voice: torch.Tensor | None = None

    def __post_init__(self) -> None:
        batch = self.text_tokens.shape[0]
        if self.text_tokens.dim() != 2 or self.latents.dim() != 3:
            raise ValueError(
                f"text_tokens must be [B, T] and latents [B, F, D], got "
                f"{tuple(self.text_tokens.shape)} and {tuple(self.latents.shape)}"
            )
        if self.latents.shape[0] != batch or self.text_lengths.shape != (batch,):
            raise ValueError("text_tokens, text_lengths and latents disagree on the batch size")
        if self.latent_lengths.shape != (batch,):
            raise ValueError("latent_lengths must be [B]")
        if (self.prompt_latents is None) != (self.prompt_lengths is None):
            raise ValueError("prompt_latents and prompt_lengths go together")
        if self.prompt_latents is not None and (
            self.prompt_latents.dim() != 3 or self.prompt_latents.shape[0] != batch
        ):
            raise ValueError(
                f"prompt_latents must be [B, P, D], got {tuple(self.prompt_latents.shape)}"
            )

    @property
    def batch_size(self) -> int:
        return int(self.text_tokens.shape[0])

    def to(self, device: torch.device | str) -> PocketBatch:
        """A copy on ``device`` (lengths included)."""

        def move(tensor: torch.Tensor | None) -> torch.Tensor | None:
            return None if tensor is None else tensor.to(device, non_blocking=True)

        return PocketBatch(
            text_tokens=move(self.text_tokens),
            text_lengths=move(self.text_lengths),
            latents=move(self.latents),
            latent_lengths=move(self.latent_lengths),
            prompt_latents=move(self.prompt_latents),
            prompt_lengths=move(self.prompt_lengths),
            keep_text=self.keep_text,
            keep_voice=self.keep_voice,
        )

    @classmethod
    def from_items(
        cls,
        text_ids: Sequence[Sequence[int]],
        latents: Sequence[torch.Tensor],
        *,
        pad_id: int,
        prompts: Sequence[torch.Tensor | None] | None = None,
        keep_text: Sequence[bool] | None = None,
        keep_voice: Sequence[bool] | None = None,
    ) -> PocketBatch:
        """Pad per-utterance items into a batch.

        ``latents[i]`` and ``prompts[i]`` are [frames, 32] raw latents; a ``None``
        prompt (or an empty one) means that row has no voice prefix.
        """
        if not text_ids or len(text_ids) != len(latents):
            raise ValueError("need as many token lists as latents, and at least one")
        if any(len(ids) == 0 for ids in text_ids):
            raise ValueError("an utterance has no text tokens")
        if any(item.dim() != 2 or item.shape[0] == 0 for item in latents):
            raise ValueError("each latents item must be a non-empty [frames, dim] tensor")
        batch = len(text_ids)
        text_lengths = torch.tensor([len(ids) for ids in text_ids], dtype=torch.long)
        tokens = torch.full((batch, int(text_lengths.max())), pad_id, dtype=torch.long)
        for row, ids in enumerate(text_ids):
            tokens[row, : len(ids)] = torch.as_tensor(list(ids), dtype=torch.long)
        latent_lengths, padded = _pad_frames(latents)
        prompt_lengths = prompt_latents = None
        if prompts is not None:
            if len(prompts) != batch:
                raise ValueError("need one prompt (or None) per utterance")
            dim = latents[0].shape[1]
            filled = [p if p is not None else torch.zeros(0, dim) for p in prompts]
            if any(p.shape[0] > 0 for p in filled):
                prompt_lengths, prompt_latents = _pad_frames(filled)
        flags = [
            None if values is None else torch.tensor(list(values), dtype=torch.bool)
            for values in (keep_text, keep_voice)
        ]
        if any(f is not None and f.shape != (batch,) for f in flags):
            raise ValueError("need one keep_text / keep_voice flag per utterance")
        return cls(
            tokens, text_lengths, padded, latent_lengths, prompt_latents, prompt_lengths, *flags
        )


def _pad_frames(items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([item.shape[0] for item in items], dtype=torch.long)
    dim = items[0].shape[1]
    padded = torch.zeros(len(items), max(int(lengths.max()), 1), dim, dtype=torch.float32)
    for row, item in enumerate(items):
        padded[row, : item.shape[0]] = item.to(torch.float32)
    return lengths, padded
