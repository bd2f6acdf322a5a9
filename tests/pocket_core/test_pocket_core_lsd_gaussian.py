"""LSD trains the exact one-step map on Gaussian targets, and its gradient is the right one.

For targets ``x1 ~ N(mu, diag(sigma^2))`` and noise ``x0 ~ N(0, I)`` the flow of
the linear interpolant maps noise to data by ``X_{0,1}(x0) = mu + sigma * x0``
in closed form. A sampler head trained with natiq's LSD must land there in one
``lsd_decode`` step. Before training, the loss and its gradient are checked
against an independent derivation (``torch.func.jvp`` for d/dt, a teacher
evaluated with detached weights), which is what catches a teacher whose
gradient is not stopped: on a Gaussian that mistake still learns the map.
Mutations run once against this file are listed in docs/pocket-tts-arabic.md.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch

from support.lsd_reference import independent_lsd_rows, random_draws

DIM, COND, WIDTH, N_CONDITIONS = 8, 8, 64, 4
STEPS, BATCH, LR = 300, 256, 3e-3


def _gaussians() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    conds = torch.randn(N_CONDITIONS, COND, generator=gen)
    mu = 1.5 * torch.randn(N_CONDITIONS, DIM, generator=gen)
    sigma = 0.3 + 1.2 * torch.rand(N_CONDITIONS, DIM, generator=gen)
    return conds, mu, sigma


def _head():
    from pocket_tts.modules.mlp import SimpleMLPAdaLN

    torch.manual_seed(1)
    return SimpleMLPAdaLN(DIM, WIDTH, DIM, COND, 2, num_time_conds=2)


def _check_against_independent_derivation(head, conds, mu, sigma) -> None:
    from natiq.backends.pocket.objectives import lsd_rows

    gen = torch.Generator().manual_seed(3)
    which = torch.arange(N_CONDITIONS).repeat(8)
    n = which.shape[0]
    x1 = mu[which] + sigma[which] * torch.randn(n, DIM, generator=gen)
    draws = random_draws(n, DIM, gen)
    ours = lsd_rows(head, conds[which], x1, draws, "input")
    reference = independent_lsd_rows(head, conds[which], x1, draws)
    for mine, theirs in zip(ours, reference, strict=True):
        assert torch.allclose(mine, theirs, rtol=1e-4, atol=1e-5)
        grads = torch.autograd.grad(
            mine.sum(), list(head.parameters()), allow_unused=True, retain_graph=True
        )
        expected = torch.autograd.grad(
            theirs.sum(), list(head.parameters()), allow_unused=True, retain_graph=True
        )
        for got, want in zip(grads, expected, strict=True):
            if want is None:
                assert got is None or float(got.abs().max()) == 0.0
            else:
                assert got is not None and torch.allclose(got, want, rtol=1e-3, atol=1e-6)


@pytest.mark.slow
def test_lsd_head_learns_the_exact_one_step_map_of_gaussian_targets() -> None:
    from pocket_tts.models.flow_lm import lsd_decode

    from natiq.backends.pocket.objectives import head_losses
    from natiq.backends.pocket.recipe import ObjectiveSettings

    conds, mu, sigma = _gaussians()
    head = _head()
    _check_against_independent_derivation(head, conds, mu, sigma)

    # Uniform times train the whole (s, t) square, (0, 1) included; the reference's
    # logit-normal times leave the corners to extrapolation (see the docs).
    settings = ObjectiveSettings(
        time_sampling="uniform", learned_weighting=False, distill_every_prob=1.0, noise_draws=1
    )
    optimizer = torch.optim.Adam(head.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(2)
    for _ in range(STEPS):
        which = torch.randint(0, N_CONDITIONS, (BATCH,), generator=gen)
        x1 = mu[which] + sigma[which] * torch.randn(BATCH, DIM, generator=gen)
        loss = head_losses(head, conds[which], x1, settings=settings, generator=gen)
        optimizer.zero_grad()
        loss.total.backward()
        optimizer.step()

    which = torch.arange(N_CONDITIONS).repeat_interleave(256)
    x0 = torch.randn(which.shape[0], DIM, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        one_step = lsd_decode(partial(head, conds[which]), x0, 1)
    exact = mu[which] + sigma[which] * x0
    error = float(((one_step - exact) ** 2).mean())
    mean_only = float(((mu[which] - exact) ** 2).mean())
    print(
        f"one-step map MSE to mu + sigma * x0: {error:.4f} (predicting mu alone: {mean_only:.3f})"
    )
    assert error <= 0.12
