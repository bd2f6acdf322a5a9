"""A tiny LSD Pocket TTS memorizes four mini-corpus utterances, with the reference recipe.

The objective is ``LossModule`` at its defaults, pocket-tts' recipe:
logit-normal times (sigmoid N(0.4, 1)), p_equal 0.75, the distillation term
on a quarter of the steps, 4 noise draws, learned per-(s, t) weighting, text
and voice dropout 0.2, a teacher whose gradient reaches the student through
its input only. Fixed step count at one torch thread. Latents are normalized
with the data's statistics first: raw random-Mimi latents are too small for
an MSE to mean anything. Free-running generation uses pocket-tts' own
KV-cached sampler (temperature 0, the targets' lengths) and is compared with
the untrained model's MSE to the targets.

``reference`` (every default): (a) the unweighted diagonal flow-matching
term falls to <= 0.2x its start; (b) free-running generation decoded in 2
LSD steps ends <= 0.3x; (c) decoded in 1 step it has moved, <= 0.85x. The
one-step corner (s, t) = (0, 1) is where logit-normal times rarely land
(below 0.1 for 0.5% of draws): the reference builds it over 100k+ steps, so
at 350 steps the 1-step map is still far (0.66-0.73x over three seeds) while
2 steps are close (0.09-0.12x). ``short-run`` trains that corner directly
(uniform times, distillation every step, one noise draw; everything else
the reference): (b) is then asked of the 1-step decoder itself.
docs/pocket-tts-arabic.md has the figures.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

STEPS = 350
LR = 2e-3
# name -> (ObjectiveSettings overrides, {decode steps: largest share of the untrained free-run MSE})
RUNS = {
    "reference": ({}, {2: 0.3, 1: 0.85}),
    "short-run": (
        {"time_sampling": "uniform", "distill_every_prob": 1.0, "noise_draws": 1},
        {1: 0.3},
    ),
}


def _diag_term(model, batch) -> float:
    from natiq.backends.pocket.objectives import compute_losses

    with torch.no_grad():
        out = compute_losses(
            model.flow_lm, batch, generator=torch.Generator().manual_seed(123), training=False
        )
    return float(out.terms["diag"])


def _free_run_mse(model, token_ids, latents, decode_steps: int) -> float:
    from natiq.backends.pocket.forward import free_run_latents, normalize_latents

    model.eval()
    errors = []
    for ids, target in zip(token_ids, latents, strict=True):
        generated = free_run_latents(
            model, torch.tensor(ids), target.shape[0], temp=0.0, decode_steps=decode_steps
        )
        errors.append(float(((generated - normalize_latents(model.flow_lm, target)) ** 2).mean()))
    model.train()
    return sum(errors) / len(errors)


@pytest.mark.slow
@pytest.mark.parametrize("run", list(RUNS))
def test_tiny_lsd_model_memorizes_four_utterances(
    run: str, tiny_yaml: Path, mini_records: list, mini_latents: list
) -> None:
    from natiq.backends.pocket.batch import PocketBatch
    from natiq.backends.pocket.objectives import (
        LossModule,
        ObjectiveSettings,
        compute_latent_stats,
        set_latent_stats,
    )
    from natiq.backends.pocket.text_tokens import tokenize_model_text
    from natiq.backends.pocket.tiny import load_tiny_tts

    overrides, free_run_bounds = RUNS[run]
    model = load_tiny_tts(tiny_yaml)
    set_latent_stats(model.flow_lm, *compute_latent_stats(mini_latents))
    token_ids = [tokenize_model_text(model, record["text"]) for record in mini_records[:4]]
    batch = PocketBatch.from_items(token_ids, mini_latents, pad_id=256)

    diag_start = _diag_term(model, batch)
    free_start = {k: _free_run_mse(model, token_ids, mini_latents, k) for k in free_run_bounds}
    loss_module = LossModule(model.flow_lm, ObjectiveSettings(**overrides)).train()
    optimizer = torch.optim.AdamW(loss_module.parameters(), lr=LR, weight_decay=0.0)
    gen = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        # condition dropout as the dataset draws it (ExampleSettings: 20% text, 20% voice)
        keep = torch.rand(2, batch.batch_size, generator=gen) >= 0.2
        loss = loss_module(replace(batch, keep_text=keep[0], keep_voice=keep[1]), generator=gen)
        optimizer.zero_grad()
        loss.total.backward()
        optimizer.step()
    diag_end = _diag_term(model, batch)
    free_end = {k: _free_run_mse(model, token_ids, mini_latents, k) for k in free_run_bounds}
    print(
        f"{run}: diag {diag_start:.3f} -> {diag_end:.3f} ({diag_end / diag_start:.3f}x); "
        + "; ".join(
            f"free-run {k}-step MSE {free_start[k]:.3f} -> {free_end[k]:.3f} "
            f"({free_end[k] / free_start[k]:.3f}x)"
            for k in free_run_bounds
        )
    )
    assert diag_end <= 0.2 * diag_start
    for decode_steps, bound in free_run_bounds.items():
        assert free_end[decode_steps] <= bound * free_start[decode_steps], decode_steps
