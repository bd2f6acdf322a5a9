"""The training objective: shifted causal cross-entropy on audio (+ optional text).

Audio labels arrive per frame; they are scattered onto the sequence positions
that hold audio (``<|AUDIO_OUT|>`` and delay placeholders), then shifted
**once**: the logits at position ``p`` are scored against the label at
``p + 1``. The audio loss is the sum over the ``K`` codebooks of each
codebook's mean CE, which is what transformers' native loss computes (a test
pins the equality). The text loss is the same shifted CE with the text head.
Computing them here, rather than taking the model's single summed number,
lets training log and weight them separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from natiq.backends.higgs.chatml_inputs import IGNORE_INDEX


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


def shifted_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean CE of ``logits[:, p]`` against ``labels[:, p + 1]`` over labelled positions."""
    logits = logits[:, :-1].float()
    targets = labels[:, 1:]
    if not bool((targets != IGNORE_INDEX).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX
    )


def audio_loss(
    audio_logits: torch.Tensor, placed_labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum over codebooks of shifted CE; returns ``(total, per_codebook)``.

    ``audio_logits``: ``(B, L, K * V)``; ``placed_labels``: ``(B, L, K)``.
    """
    k = placed_labels.shape[-1]
    logits = audio_logits.reshape(*audio_logits.shape[:2], k, -1)
    per_codebook = torch.stack(
        [shifted_cross_entropy(logits[:, :, i], placed_labels[:, :, i]) for i in range(k)]
    )
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
        audio, per_codebook = audio_loss(core.audio_lm_head(hidden), placed)
        text = None
        total = audio
        if self.text_loss_weight > 0 and core.text_lm_head is not None:
            text = shifted_cross_entropy(core.text_lm_head(hidden), batch["labels"])
            total = audio + self.text_loss_weight * text
        return LossOutput(loss=total, audio=audio, text=text, per_codebook=per_codebook)
