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
  ``distill`` = |d/dt X_{s,t}(I_s) - v(t, t, X_{s,t}(I_s))|^2 (the map must move
  along the flow the diagonal defines; the time derivative is a forward-mode
  jvp through the head; the teacher ``v(t, t, .)`` passes gradient to the
  student through its input only, or not at all, never into its own weights).
  Trained this way, one step lands on *a* sample, not on the average of the
  plausible ones.
- ``flow-matching`` (kept for comparison): only the diagonal velocity is
  trained. Consistent with pocket-tts' ``ot_decode`` for a head with one time
  condition (Euler, >= 16 steps); on an LSD head it never trains the 1-step
  ``v(0, 1, x)`` that ``lsd_decode`` uses, which is why fine-tuning the released
  head with it collapses at 1 step.

The recipe around both (``ObjectiveSettings``): times drawn logit-normal, the
diagonal share ``p_equal``, a learned per-(s, t) weighting of each term
(``LossWeighting``, trained with the model, never exported), the distillation
term computed on a random share of steps and scaled up to keep its expected
gradient, several noise draws per frame, condition dropout of text and voice,
and ``eos_weight`` x BCE on the EOS logit (1 after the last frame, 0 before).
``LossModule`` bundles the model and these so ``accelerator.prepare`` wraps one
module.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.autograd import forward_ad
from torch.nn import functional as F

from natiq.backends.pocket.batch import PocketBatch
from natiq.backends.pocket.forward import (
    compute_latent_stats,
    set_latent_stats,
    teacher_forced_backbone,
)
from natiq.backends.pocket.recipe import ObjectiveSettings

__all__ = [
    "LossModule",
    "LossOutput",
    "LossWeighting",
    "LsdDraws",
    "ObjectiveSettings",
    "compute_latent_stats",
    "compute_losses",
    "distill_on_step",
    "head_losses",
    "lsd_rows",
    "sample_pair",
    "sample_times",
    "set_latent_stats",
]

OBJECTIVES: tuple[str, ...] = ("lsd", "flow-matching")


@dataclass
class LossOutput:
    """``total`` is what to backpropagate; ``terms`` holds scalars for logging.

    ``diag`` and ``distill`` are the plain per-dimension mean squared errors
    (before the learned weighting, comparable across runs). On training steps
    that skip the distillation term ``distill`` is 0, and on the others it is
    divided by the share of steps that compute it, so its running mean is an
    unbiased estimate and every step reports the same terms (processes reduce
    them together). ``eos`` is the BCE; ``total`` the loss.
    """

    total: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)


class LossWeighting(torch.nn.Module):
    """Learned per-(s, t) log-weight of a squared error: ``loss * exp(w) / D - w``.

    An uncertainty weighting: minimizing over ``w`` gives ``exp(-w) = E[loss]/D``,
    so each (s, t) region's term is rescaled to unit size and hard regions do
    not drown easy ones. Zero-initialised, so training starts unweighted.
    """

    def __init__(self, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        size = 2
        for _ in range(depth):
            layers += [torch.nn.Linear(size, width), torch.nn.ReLU()]
            size = width
        layers.append(torch.nn.Linear(size, 1))
        self.net = torch.nn.Sequential(*layers)
        for module in self.net:
            if isinstance(module, torch.nn.Linear):
                torch.nn.init.zeros_(module.weight)
                torch.nn.init.zeros_(module.bias)

    def forward(self, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """[N, 1] times -> [N] log-weights."""
        return self.net(torch.cat([s, t], dim=-1).float())[..., 0]


class LossModule(torch.nn.Module):
    """The trained model plus its objective as one module, so ``accelerator.prepare`` wraps the forward.

    ``flow_lm`` is the FlowLM or its PEFT wrapper. ``weighting`` (None unless
    ``settings.learned_weighting`` and LSD) holds the objective's own trainable
    weights: they are optimized with the model (they are among
    ``parameters()``) and kept in checkpoints beside it
    (``checkpointing.save_loss_module``), never exported.
    Condition dropout and the skipped distillation steps apply in ``train()``
    mode only; ``eval()`` computes every term on full conditions.
    """

    def __init__(self, flow_lm: torch.nn.Module, settings: ObjectiveSettings | None = None) -> None:
        super().__init__()
        self.flow_lm = flow_lm
        self.settings = settings or ObjectiveSettings()
        self.weighting = (
            LossWeighting(self.settings.weighting_width, self.settings.weighting_depth)
            if self.settings.learned_weighting and self.settings.loss == "lsd"
            else None
        )

    def forward(
        self,
        batch: PocketBatch,
        generator: torch.Generator | None = None,
        distill: bool | None = None,
    ) -> LossOutput:
        """The losses of ``batch``; ``distill`` (see ``distill_on_step``) overrides the draw."""
        return compute_losses(
            self.flow_lm,
            batch,
            settings=self.settings,
            weighting=self.weighting,
            generator=generator,
            training=self.training,
            distill=distill,
        )

    def objective_parameters(self) -> list[torch.nn.Parameter]:
        return [] if self.weighting is None else list(self.weighting.parameters())


def compute_losses(
    flow_lm: torch.nn.Module,
    batch: PocketBatch,
    *,
    settings: ObjectiveSettings | None = None,
    weighting: LossWeighting | None = None,
    generator: torch.Generator | None = None,
    training: bool = True,
    distill: bool | None = None,
) -> LossOutput:
    """Teacher-forced FlowLM forward on ``batch`` and the objective's losses.

    Every real frame of every utterance contributes equally (padding is masked);
    the EOS term averages over positions ``0..F`` of each utterance.
    ``generator`` draws the noise and times (for reproducible steps);
    ``training`` applies the batch's condition dropout and skips the
    distillation term on a share of steps (``distill`` decides instead of a draw).
    """
    settings = settings or ObjectiveSettings()
    _check_objective(settings.loss)
    keep_text, keep_voice = (batch.keep_text, batch.keep_voice) if training else (None, None)
    out = teacher_forced_backbone(flow_lm, batch, keep_text=keep_text, keep_voice=keep_voice)
    cond = out.cond[:, :-1][out.frame_mask]
    target = out.targets[out.frame_mask]
    head = head_losses(
        flow_lm.flow_net,
        cond,
        target,
        settings=settings,
        weighting=weighting,
        generator=generator,
        training=training,
        distill=distill,
    )

    positions = torch.arange(out.eos_logits.shape[1], device=out.eos_logits.device)[None, :]
    eos_target = (positions == batch.latent_lengths.to(positions.device)[:, None]).to(
        out.eos_logits
    )
    eos = F.binary_cross_entropy_with_logits(out.eos_logits[out.eos_mask], eos_target[out.eos_mask])
    total = head.total + settings.eos_weight * eos
    terms = {**head.terms, "eos": eos, "total": total}
    return LossOutput(total=total, terms=terms)


def head_losses(
    head: torch.nn.Module,
    cond: torch.Tensor,
    target: torch.Tensor,
    *,
    settings: ObjectiveSettings | None = None,
    weighting: LossWeighting | None = None,
    generator: torch.Generator | None = None,
    training: bool = True,
    distill: bool | None = None,
) -> LossOutput:
    """Sampler-head losses for ``N`` frames: ``cond`` [N, C] conditions, ``target`` [N, D] latents.

    Usable on a bare ``SimpleMLPAdaLN`` (the objective tests train one alone).
    Each frame is repeated ``settings.noise_draws`` times with fresh noise.
    """
    settings = settings or ObjectiveSettings()
    _check_objective(settings.loss)
    conds = _num_time_conds(head)
    if settings.loss == "lsd" and conds != 2:
        raise ValueError(
            f"the lsd objective needs a sampler head with two time conditions (flow.type: lsd); "
            f"this head has {conds}"
        )
    if conds not in (1, 2):
        raise ValueError(
            f"cannot train a sampler head with {conds} time conditions with {settings.loss}"
        )

    repeats = settings.noise_draws
    x1 = target.to(torch.float32).repeat(repeats, 1)
    cond = cond.repeat(repeats, 1)
    n, dim = x1.shape
    device = _gen_device(generator, x1)
    x0 = torch.randn(x1.shape, generator=generator, device=device).to(x1)
    t = sample_times(n, settings, generator, device).to(x1)
    if settings.loss == "flow-matching":
        x_t = (1 - t) * x0 + t * x1
        times = (t, t) if conds == 2 else (t,)
        diag = _mse(head(cond, *times, x_t), x1 - x0)
        return LossOutput(total=diag, terms={"diag": diag, "distill": torch.zeros_like(diag)})

    if training and distill is None and settings.distill_every_prob < 1.0:
        draw = float(torch.rand((), generator=generator, device=device))
        distill = draw < settings.distill_every_prob
    if training and distill is False:
        velocity = head(cond, t, t, (1 - t) * x0 + t * x1)
        diag_rows = (velocity - (x1 - x0)).pow(2).sum(-1)
        diag_loss = _weighted(diag_rows, weighting, t, t, dim)
        diag = diag_rows.mean() / dim
        terms = {"diag": diag, "distill": torch.zeros_like(diag)}
        return LossOutput(total=settings.p_equal * diag_loss, terms=terms)

    s, t2 = sample_pair(n, settings, generator, device)
    draws = LsdDraws(
        x0=x0,
        t=t,
        x0_distill=torch.randn(x1.shape, generator=generator, device=device).to(x1),
        s=s.to(x1),
        t_distill=t2.to(x1),
    )
    diag_rows, distill_rows = lsd_rows(head, cond, x1, draws, settings.teacher_gradient)
    diag_loss = _weighted(diag_rows, weighting, t, t, dim)
    distill_loss = _weighted(distill_rows, weighting, draws.s, draws.t_distill, dim)
    share = settings.distill_every_prob if training else 1.0
    total = settings.p_equal * diag_loss + (1 - settings.p_equal) / share * distill_loss
    terms = {"diag": diag_rows.mean() / dim, "distill": distill_rows.mean() / dim / share}
    return LossOutput(total=total, terms=terms)


@dataclass
class LsdDraws:
    """The random draws of one LSD evaluation ([N, D] noise, [N, 1] times).

    ``x0``/``t``: the diagonal term's noise and time; ``x0_distill``, ``s`` <=
    ``t_distill``: the self-distillation term's noise and start/end times.
    """

    x0: torch.Tensor
    t: torch.Tensor
    x0_distill: torch.Tensor
    s: torch.Tensor
    t_distill: torch.Tensor

    def to(self, dtype: torch.dtype) -> LsdDraws:
        return LsdDraws(**{name: value.to(dtype) for name, value in vars(self).items()})


def lsd_rows(
    head: torch.nn.Module,
    cond: torch.Tensor,
    x1: torch.Tensor,
    draws: LsdDraws,
    teacher_gradient: str = "input",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row squared errors (summed over dimensions) of LSD's two terms, for given draws.

    ``diag`` = |v(t, t, I_t) - (x1 - x0)|^2 and
    ``distill`` = |d/dt X_{s,t}(I_s) - v(t, t, X_{s,t}(I_s))|^2 with
    ``X_{s,t}(x) = x + (t - s) v(s, t, x)``, so ``dX/dt = v + (t - s) dv/dt``.
    One head call computes both: the diagonal rows and the distillation rows
    side by side, ``dv/dt`` by forward-mode AD on the end time.

    Runs in the head's own precision (its weights' dtype, fp32 when trained
    under mixed precision) with autocast off, whatever the caller's autocast:
    forward-mode AD and autocast do not mix. Tangent formulas run under the
    caller's autocast, and CUDA's computes their reductions in fp32, so a
    tangent turned fp32 beside its bf16 primal and the next matmul failed
    (``docs/pocket-training.md``, "Mixed precision"). The rows come back in
    that precision; ``cond`` (bf16 from an autocast backbone) is cast up and
    its gradient cast back.
    """
    dtype = _weight_dtype(head)
    with torch.autocast(x1.device.type, enabled=False):
        return _lsd_rows(head, cond.to(dtype), x1.to(dtype), draws.to(dtype), teacher_gradient)


def _lsd_rows(
    head: torch.nn.Module,
    cond: torch.Tensor,
    x1: torch.Tensor,
    draws: LsdDraws,
    teacher_gradient: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    n = x1.shape[0]
    x_t = (1 - draws.t) * draws.x0 + draws.t * x1
    s, t = draws.s, draws.t_distill
    x_s = (1 - s) * draws.x0_distill + s * x1
    t_all = torch.cat([draws.t, t])
    with forward_ad.dual_level():
        dual = head(
            torch.cat([cond, cond]),
            torch.cat([draws.t, s]),
            forward_ad.make_dual(t_all, torch.ones_like(t_all)),
            torch.cat([x_t, x_s]),
        )
        velocity, d_velocity = forward_ad.unpack_dual(dual)
    diag_rows = (velocity[:n] - (x1 - draws.x0)).pow(2).sum(-1)
    mapped = x_s + (t - s) * velocity[n:]
    d_mapped = velocity[n:] + (t - s) * d_velocity[n:]
    teacher = _teacher(lambda y: head(cond, t, t, y), mapped, teacher_gradient)
    distill_rows = (d_mapped - teacher).pow(2).sum(-1)
    return diag_rows, distill_rows


def sample_times(
    n: int, settings: ObjectiveSettings, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """[n, 1] diagonal times: ``sigmoid(N(mean, std))`` (logit-normal) or uniform in [0, 1)."""
    if settings.time_sampling == "uniform":
        return torch.rand((n, 1), generator=generator, device=device)
    logits = torch.randn((n, 1), generator=generator, device=device)
    return torch.sigmoid(logits * settings.logit_std + settings.logit_mean)


def sample_pair(
    n: int, settings: ObjectiveSettings, generator: torch.Generator | None, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """[n, 1] start and end times ``s <= t``: the smaller and larger of two time draws."""
    pair = torch.cat([sample_times(n, settings, generator, device) for _ in range(2)], dim=1)
    return pair.min(dim=1, keepdim=True).values, pair.max(dim=1, keepdim=True).values


def distill_on_step(settings: ObjectiveSettings, seed: int, step: int, micro: int = 0) -> bool:
    """Whether micro-batch ``micro`` of optimizer step ``step`` computes the distillation term.

    A pure function of its arguments: every process takes the same branch, and
    a run takes the same ones on 1 or N processes and after a resume.
    """
    if settings.distill_every_prob >= 1.0:
        return True
    return random.Random(f"{seed}/{step}/{micro}/distill").random() < settings.distill_every_prob


class _InputGradOnly(torch.autograd.Function):
    """``y = f(x)`` whose backward reaches ``x`` but never ``f``'s own weights."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            y = fn(leaf)
        ctx.save_for_backward(leaf, y)
        return y.detach()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        leaf, y = ctx.saved_tensors
        (grad,) = torch.autograd.grad(y, leaf, grad_output)
        return grad, None


def _teacher(
    fn: Callable[[torch.Tensor], torch.Tensor], mapped: torch.Tensor, gradient: str
) -> torch.Tensor:
    """The distillation target ``v(t, t, X_{s,t})``: its weights never receive gradient."""
    if gradient == "input":
        return _InputGradOnly.apply(mapped, fn)
    with torch.no_grad():
        return fn(mapped.detach())


def _weighted(
    rows: torch.Tensor,
    weighting: LossWeighting | None,
    s: torch.Tensor,
    t: torch.Tensor,
    dim: int,
) -> torch.Tensor:
    """Mean over rows of ``rows / D`` (no weighting) or ``rows * exp(w) / D - w``."""
    if weighting is None:
        return rows.mean() / dim
    log_weight = weighting(s, t)
    return (rows * log_weight.exp() / dim - log_weight).mean()


def _mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (prediction - target).pow(2).mean()


def _weight_dtype(head: torch.nn.Module) -> torch.dtype:
    """The dtype the head's weights have now (inside an FSDP forward: the unsharded ones)."""
    return next(p.dtype for p in head.parameters() if p.is_floating_point())


def _num_time_conds(head: torch.nn.Module) -> int:
    base = getattr(head, "base_model", None)  # a PEFT wrapper keeps the head inside
    module = getattr(base, "model", head) if base is not None else head
    return int(getattr(module, "num_time_conds", getattr(head, "num_time_conds", 2)))


def _gen_device(generator: torch.Generator | None, like: torch.Tensor) -> torch.device:
    return generator.device if generator is not None else like.device


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
