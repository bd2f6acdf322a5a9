"""Training losses of Pocket TTS's sampler head: LSD (the released one) and plain flow matching.

Conventions are pocket-tts' decoders': time 0 is Gaussian noise ``x0``, time 1
the (normalized) latent ``x1``, the interpolant is ``I_t = (1 - t) x0 + t x1``
with velocity ``x1 - x0``.

- ``lsd`` (Lagrangian Self-Distillation, arXiv 2505.18825), for heads with two
  time conditions (``flow.type: lsd``). The head ``v(s, t, x)`` defines a flow
  map ``X_{s,t}(x) = x + (t - s) v(s, t, x)``, which ``lsd_decode`` applies once
  from ``s=0`` to ``t=1``. Two terms per frame:
  ``diag``  = |v(t, t, I_t) - (x1 - x0)|^2 (flow matching on the diagonal: the
  instantaneous velocity), and
  ``distill`` = |d/dt X_{s,t}(I_s) - sg[v(t, t, X_{s,t}(I_s))]|^2 (the map must move
  along the flow the diagonal defines; the time derivative is a forward-mode
  jvp through the head, the teacher is stop-gradient).
  Trained this way, one step lands on *a* sample, not on the average of the
  plausible ones.
- ``flow-matching`` (the seed's objective, kept for comparison): only the
  diagonal velocity is trained. Consistent with pocket-tts' ``ot_decode`` for a
  head with one time condition (``flow.type: flow_matching``, Euler, >= 16 steps);
  on an LSD head it trains ``v(t, t, x)`` only, and the 1-step ``v(0, 1, x)``
  that ``lsd_decode`` uses is never trained: that is why fine-tuning the
  released head with it collapses at 1 step.

Both add ``eos_weight`` x BCE on the EOS logit (1 after the last frame, 0 before).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch.autograd import forward_ad
from torch.nn import functional as F

from natiq.backends.pocket.batch import PocketBatch
from natiq.backends.pocket.forward import (
    compute_latent_stats,
    set_latent_stats,
    teacher_forced_backbone,
)

__all__ = [
    "DEFAULT_P_EQUAL",
    "LossOutput",
    "Objective",
    "compute_latent_stats",
    "compute_losses",
    "head_losses",
    "set_latent_stats",
]

Objective = Literal["lsd", "flow-matching"]
OBJECTIVES: tuple[str, ...] = ("lsd", "flow-matching")
# Weight of the diagonal term in LSD's total; the rest goes to self-distillation.
DEFAULT_P_EQUAL = 0.5
DEFAULT_EOS_WEIGHT = 0.1


@dataclass
class LossOutput:
    """``total`` is what to backpropagate; ``terms`` holds detached-able scalars for logging:
    ``diag``, ``distill`` (0 for flow matching), ``eos``, ``total``."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)


def compute_losses(
    flow_lm: torch.nn.Module,
    batch: PocketBatch,
    *,
    objective: Objective = "lsd",
    eos_weight: float = DEFAULT_EOS_WEIGHT,
    p_equal: float = DEFAULT_P_EQUAL,
    generator: torch.Generator | None = None,
) -> LossOutput:
    """Teacher-forced FlowLM forward on ``batch`` and the chosen objective's losses.

    Every real frame of every utterance contributes equally (padding is masked);
    the EOS term averages over positions ``0..F`` of each utterance.
    ``generator`` draws the noise and times (for reproducible steps).
    """
    _check_objective(objective, p_equal)
    out = teacher_forced_backbone(flow_lm, batch)
    cond = out.cond[:, :-1][out.frame_mask]
    target = out.targets[out.frame_mask]
    head = head_losses(
        flow_lm.flow_net, cond, target, objective=objective, p_equal=p_equal, generator=generator
    )

    positions = torch.arange(out.eos_logits.shape[1], device=out.eos_logits.device)[None, :]
    eos_target = (positions == batch.latent_lengths.to(positions.device)[:, None]).to(
        out.eos_logits
    )
    eos = F.binary_cross_entropy_with_logits(out.eos_logits[out.eos_mask], eos_target[out.eos_mask])
    total = head.total + eos_weight * eos
    terms = {**head.terms, "eos": eos, "total": total}
    return LossOutput(total=total, terms=terms)


def head_losses(
    head: torch.nn.Module,
    cond: torch.Tensor,
    target: torch.Tensor,
    *,
    objective: Objective = "lsd",
    p_equal: float = DEFAULT_P_EQUAL,
    generator: torch.Generator | None = None,
) -> LossOutput:
    """Sampler-head losses for ``N`` frames: ``cond`` [N, C] conditions, ``target`` [N, D] latents.

    Usable on a bare ``SimpleMLPAdaLN`` (the objective test trains one alone).
    """
    _check_objective(objective, p_equal)
    conds = _num_time_conds(head)
    if objective == "lsd" and conds != 2:
        raise ValueError(
            f"the lsd objective needs a sampler head with two time conditions (flow.type: lsd); "
            f"this head has {conds}"
        )
    if conds not in (1, 2):
        raise ValueError(
            f"cannot train a sampler head with {conds} time conditions with {objective}"
        )

    n = target.shape[0]
    x1 = target.to(torch.float32)
    device = _gen_device(generator, x1)
    x0 = torch.randn(x1.shape, generator=generator, device=device).to(x1)
    t = torch.rand((n, 1), generator=generator, device=device).to(x1)
    x_t = (1 - t) * x0 + t * x1
    if objective == "flow-matching":
        times = (t, t) if conds == 2 else (t,)
        diag = _mse(head(cond, *times, x_t), x1 - x0)
        return LossOutput(total=diag, terms={"diag": diag, "distill": torch.zeros_like(diag)})

    # Self-distillation rows: s <= t, start from the interpolant at s.
    pair = torch.rand((n, 2), generator=generator, device=device).to(x1)
    s, t2 = pair.min(dim=1, keepdim=True).values, pair.max(dim=1, keepdim=True).values
    x0b = torch.randn(x1.shape, generator=generator, device=device).to(x1)
    x_s = (1 - s) * x0b + s * x1
    # One head call for both terms: diagonal rows (s = t) and distillation rows, with
    # d/dt by forward-mode AD. X_{s,t} = x + (t - s) v  =>  dX/dt = v + (t - s) dv/dt.
    t_all = torch.cat([t, t2])
    with forward_ad.dual_level():
        dual = head(
            torch.cat([cond, cond]),
            torch.cat([t, s]),
            forward_ad.make_dual(t_all, torch.ones_like(t_all)),
            torch.cat([x_t, x_s]),
        )
        velocity, d_velocity = forward_ad.unpack_dual(dual)
    diag = _mse(velocity[:n], x1 - x0)
    gap = t2 - s
    mapped = x_s + gap * velocity[n:]
    d_mapped = velocity[n:] + gap * d_velocity[n:]
    with torch.no_grad():
        teacher = head(cond.detach(), t2, t2, mapped.detach())
    distill = _mse(d_mapped, teacher)
    total = p_equal * diag + (1 - p_equal) * distill
    return LossOutput(total=total, terms={"diag": diag, "distill": distill})


def _mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (prediction - target).pow(2).mean()


def _num_time_conds(head: torch.nn.Module) -> int:
    base = getattr(head, "base_model", None)  # a PEFT wrapper keeps the head inside
    module = getattr(base, "model", head) if base is not None else head
    return int(getattr(module, "num_time_conds", getattr(head, "num_time_conds", 2)))


def _gen_device(generator: torch.Generator | None, like: torch.Tensor) -> torch.device:
    return generator.device if generator is not None else like.device


def _check_objective(objective: str, p_equal: float) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    if not 0.0 <= p_equal <= 1.0:
        raise ValueError(f"p_equal must be in [0, 1], got {p_equal}")
