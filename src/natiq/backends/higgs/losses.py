"""The training objective: shifted causal cross-entropy on audio (+ optional text).

Audio labels arrive per frame; they are scattered onto the sequence positions
that hold audio (``<|AUDIO_OUT|>`` and delay placeholders), then shifted
**once**: the hidden state at position ``p`` is scored against the label at
``p + 1``. The audio loss is the sum over the ``K`` codebooks of each
codebook's mean CE, which is what transformers' native loss computes (a test
pins the equality). The text loss is the same shifted CE with the text head.
Computing them here, rather than taking the model's single summed number,
lets training log and weight them separately.

The heads run only on the positions whose next token is labelled (the
target clip and the target turn's text), not on the whole sequence as the
native forward does: the text head's 128k-wide logits over every position
cost ~14 bytes each (bf16 logits, fp32 copy, log-softmax, gradient), about
3.4 GiB per 2048-token sample, for positions whose loss is ignored anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from natiq.backends.higgs.chatml_inputs import IGNORE_INDEX
from natiq.backends.higgs.loading import match_audio_embedding_dtype


def place_audio_labels(
    input_ids: torch.Tensor,
    audio_labels: torch.Tensor,
    audio_mask: torch.Tensor,
    audio_token_id: int,
    delay_token_id: int,
) -> torch.Tensor:
    """``(B, F, K)`` frame labels -> ``(B, L, K)`` sequence labels (ignored off audio positions)."""
    batch, length = input_ids.shape
    k = audio_labels.shape[-1]
    positions = (input_ids == audio_token_id) | (input_ids == delay_token_id)
    placed = audio_labels.new_full((batch, length, k), IGNORE_INDEX)
    placed[positions] = audio_labels[audio_mask]
    return placed


def next_token_rows(
    hidden: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The one shift: hidden states at ``p`` whose label at ``p + 1`` is set, with those labels.

    ``hidden``: ``(B, L, H)``; ``labels``: ``(B, L)`` or ``(B, L, K)`` (a row
    is kept when any of its ``K`` labels is set). Returns ``(N, H)`` and
    ``(N,)`` or ``(N, K)``.
    """
    targets = labels[:, 1:]
    labelled = targets != IGNORE_INDEX
    keep = labelled if targets.dim() == 2 else labelled.any(dim=-1)
    return hidden[:, :-1][keep], targets[keep]


def text_loss(hidden: torch.Tensor, head: nn.Module, labels: torch.Tensor) -> torch.Tensor:
    """Mean shifted CE of the text head over the labelled positions."""
    rows, targets = next_token_rows(hidden, labels)
    if targets.numel() == 0:
        return hidden.sum() * 0.0
    return F.cross_entropy(head(rows).float(), targets)


def audio_loss(
    hidden: torch.Tensor, head: nn.Module, placed_labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum over codebooks of each codebook's mean shifted CE; returns ``(total, per_codebook)``.

    ``placed_labels``: ``(B, L, K)``; ``head`` maps ``H`` to ``K x V`` logits.
    A codebook without any label contributes 0.
    """
    rows, targets = next_token_rows(hidden, placed_labels)
    k = placed_labels.shape[-1]
    if targets.numel() == 0:
        zero = hidden.sum() * 0.0
        return zero, zero.repeat(k)
    logits = head(rows).float().reshape(rows.shape[0] * k, -1)
    losses = F.cross_entropy(
        logits, targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none"
    ).reshape(-1, k)
    counted = (targets != IGNORE_INDEX).sum(dim=0)
    per_codebook = losses.sum(dim=0) / counted.clamp(min=1)
    return per_codebook.sum(), per_codebook


@dataclass
class LossOutput:
    loss: torch.Tensor
    audio: torch.Tensor
    text: torch.Tensor | None
    per_codebook: torch.Tensor


class HiggsTrainingObjective(nn.Module):
    """Wraps the (PEFT) model so one ``forward`` returns the weighted loss.

    Calling this module (not the inner model's submodules) keeps DDP's
    gradient synchronisation intact under ``accelerate launch``.
    """

    def __init__(self, model: nn.Module, text_loss_weight: float = 0.0) -> None:
        super().__init__()
        self.model = model
        self.text_loss_weight = text_loss_weight
        match_audio_embedding_dtype(model)  # trained under autocast: see its docstring

    def _core(self) -> nn.Module:
        inner = self.model
        return inner.get_base_model() if hasattr(inner, "get_base_model") else inner

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        core = self._core()
        config = core.config
        hidden = core.model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            audio_input_ids=batch["audio_input_ids"],
            audio_input_ids_mask=batch["audio_input_ids_mask"],
            use_cache=False,
        ).last_hidden_state
        placed = place_audio_labels(
            batch["input_ids"],
            batch["audio_labels"],
            batch["audio_input_ids_mask"],
            config.audio_token_id,
            config.audio_delay_token_id,
        )
        audio, per_codebook = audio_loss(hidden, core.audio_lm_head, placed)
        text = None
        total = audio
        if self.text_loss_weight > 0 and core.text_lm_head is not None:
            text = text_loss(hidden, core.text_lm_head, batch["labels"])
            total = audio + self.text_loss_weight * text
        return LossOutput(loss=total, audio=audio, text=text, per_codebook=per_codebook)
