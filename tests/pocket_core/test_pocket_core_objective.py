"""Where LSD and plain flow matching really differ: conditions with two valid targets.

On memorized single targets 1-step flow matching looks as good as LSD (the
conditional mean *is* the target). With two targets per condition, 1-step flow
matching lands between them, while a 1-step LSD sample lands near one of them.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch

STEPS = 300
BATCH = 256
LATENT, COND, WIDTH, N_CONDITIONS = 32, 16, 64, 2


def _problem() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    conds = torch.randn(N_CONDITIONS, COND, generator=gen)
    middle = torch.randn(N_CONDITIONS, LATENT, generator=gen)
    offset = torch.randn(N_CONDITIONS, LATENT, generator=gen)
    return conds, torch.stack([middle + offset, middle - offset], dim=1)


def _train(objective: str, time_conds: int, conds: torch.Tensor, targets: torch.Tensor):
    from pocket_tts.modules.mlp import SimpleMLPAdaLN

    from natiq.backends.pocket.objectives import head_losses
    from natiq.backends.pocket.recipe import ObjectiveSettings

    # A short run (see test_pocket_core_learning): uniform times, the distillation
    # term on every step, one noise draw; no learned weighting (a bare head). p_equal
    # 0.5 gives distillation more weight than the reference's 0.75 (LSD 0.145 here,
    # 0.246 at 0.75; flow matching 0.407 either way): the comparison, not the
    # recipe, is what this test pins.
    settings = ObjectiveSettings(
        loss=objective, time_sampling="uniform", p_equal=0.5, distill_every_prob=1.0,
        noise_draws=1,
    )  # fmt: skip
    torch.manual_seed(1)
    head = SimpleMLPAdaLN(LATENT, WIDTH, LATENT, COND, 2, num_time_conds=time_conds)
    optimizer = torch.optim.Adam(head.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(2)
    for _ in range(STEPS):
        which = torch.randint(0, N_CONDITIONS, (BATCH,), generator=gen)
        side = torch.randint(0, 2, (BATCH,), generator=gen)
        loss = head_losses(
            head, conds[which], targets[which, side], settings=settings, generator=gen
        )
        optimizer.zero_grad()
        loss.total.backward()
        optimizer.step()
    return head


def _nearest_target_mse(
    head, decode, steps: int, conds: torch.Tensor, targets: torch.Tensor
) -> float:
    which = torch.arange(N_CONDITIONS).repeat_interleave(128)
    noise = torch.randn(which.shape[0], LATENT, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        samples = decode(partial(head, conds[which]), noise, steps)
    return float(((samples[:, None] - targets[which]) ** 2).mean(-1).min(1).values.mean())


@pytest.mark.slow
def test_one_step_lsd_lands_on_a_target_where_flow_matching_collapses() -> None:
    from pocket_tts.models.flow_lm import lsd_decode, ot_decode

    conds, targets = _problem()
    lsd_head = _train("lsd", 2, conds, targets)
    fm_head = _train("flow-matching", 1, conds, targets)
    lsd_one = _nearest_target_mse(lsd_head, lsd_decode, 1, conds, targets)
    fm_one = _nearest_target_mse(fm_head, ot_decode, 1, conds, targets)
    fm_many = _nearest_target_mse(fm_head, ot_decode, 16, conds, targets)
    print(
        f"nearest-target MSE: lsd 1-step {lsd_one:.3f}, fm 1-step {fm_one:.3f}, fm 16-step {fm_many:.3f}"
    )
    assert lsd_one <= 0.5 * fm_one
    # flow matching is not broken, it needs the multi-step decoder it was made for
    assert fm_many < 0.5 * fm_one
