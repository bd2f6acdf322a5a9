"""LSD's two terms written out a second way, for tests and GPU checks to compare against.

``natiq.backends.pocket.objectives.lsd_rows`` computes them with one forward-mode
dual pass; this derivation uses ``torch.func`` instead, with nothing shared but
the head, so a dropped term, swapped times or a teacher that is not stopped
shows up as a different value or gradient.
"""

from __future__ import annotations

import torch


def independent_lsd_rows(head, cond, x1, draws) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row diagonal and distillation errors for ``draws`` (an ``LsdDraws``).

    ``d/dt`` by ``torch.func.jvp`` on the end time; the teacher ``v(t, t, .)`` runs
    with detached weights, so its gradient reaches only its input.
    """
    from torch.func import functional_call, jvp

    params = dict(head.named_parameters())
    frozen = {name: value.detach() for name, value in params.items()}
    s, t = draws.s, draws.t_distill
    x_t = (1 - draws.t) * draws.x0 + draws.t * x1
    diag = (functional_call(head, params, (cond, draws.t, draws.t, x_t)) - (x1 - draws.x0)) ** 2
    x_s = (1 - s) * draws.x0_distill + s * x1
    velocity, d_velocity = jvp(
        lambda end: functional_call(head, params, (cond, s, end, x_s)), (t,), (torch.ones_like(t),)
    )
    mapped = x_s + (t - s) * velocity
    teacher = functional_call(head, frozen, (cond, t, t, mapped))  # weights frozen, input live
    distill = (velocity + (t - s) * d_velocity - teacher) ** 2
    return diag.sum(-1), distill.sum(-1)


def random_draws(n: int, dim: int, generator: torch.Generator, device: str | torch.device = "cpu"):
    """An ``LsdDraws`` of ``n`` rows: Gaussian noise, uniform times, ``s <= t``."""
    from natiq.backends.pocket.objectives import LsdDraws

    pair = torch.rand(n, 2, generator=generator, device=device).sort(dim=1).values
    return LsdDraws(
        x0=torch.randn(n, dim, generator=generator, device=device),
        t=torch.rand(n, 1, generator=generator, device=device),
        x0_distill=torch.randn(n, dim, generator=generator, device=device),
        s=pair[:, :1],
        t_distill=pair[:, 1:],
    )
