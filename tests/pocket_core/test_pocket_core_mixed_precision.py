"""The sampler-head losses under bf16 autocast with CUDA's casting rules (emulated on CPU).

On an H200 the first bf16 training step that computed LSD's self-distillation term failed
inside the head (``expected mat1 and mat2 to have the same dtype``): CUDA autocast runs the
reductions of forward-mode tangent formulas in fp32, so tangents became fp32 beside bf16
primals. ``support.cuda_autocast`` makes CPU autocast cast like CUDA's, which reproduces it
here. The LSD terms (``lsd_rows``) now run in fp32 with autocast off: under autocast they
equal the fp32 computation bit for bit, and the gradient reaches a bf16 ``cond`` in bf16.
The diagonal-only steps keep running the head under autocast (bf16).
"""

from __future__ import annotations

import pytest
import torch

from support.cuda_autocast import cuda_autocast_rules
from support.lsd_reference import random_draws

DIM, COND, WIDTH, ROWS = 8, 16, 32, 12


@pytest.fixture()
def head():
    from pocket_tts.modules.mlp import SimpleMLPAdaLN

    torch.manual_seed(0)
    return SimpleMLPAdaLN(DIM, WIDTH, DIM, COND, 2, num_time_conds=2)


def _inputs():
    gen = torch.Generator().manual_seed(1)
    draws = random_draws(ROWS, DIM, gen)
    return torch.randn(ROWS, COND, generator=gen), torch.randn(ROWS, DIM, generator=gen), draws


def _rows_and_grads(head, cond, x1, draws, precision: str):
    """LSD rows computed under ``precision`` (backward outside autocast, as trainers do)."""
    from natiq.backends.pocket.objectives import lsd_rows

    with cuda_autocast_rules(), torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
        diag, distill = lsd_rows(head, cond, x1, draws, "input")
    grads = torch.autograd.grad(diag.sum() + 3 * distill.sum(), list(head.parameters()))
    return diag, distill, grads


def test_lsd_terms_under_cuda_bf16_autocast_equal_fp32(head) -> None:
    cond, x1, draws = _inputs()
    want = _rows_and_grads(head, cond, x1, draws, "fp32")
    got = _rows_and_grads(head, cond, x1, draws, "bf16")
    assert [t.dtype for t in got[:2]] == [torch.float32, torch.float32]
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    assert all(torch.equal(a, b) for a, b in zip(got[2], want[2], strict=True))


def test_bf16_condition_gets_its_gradient_in_bf16(head) -> None:
    from natiq.backends.pocket.objectives import lsd_rows

    cond, x1, draws = _inputs()
    low = cond.to(torch.bfloat16).requires_grad_(True)
    with cuda_autocast_rules(), torch.autocast("cpu", dtype=torch.bfloat16):
        diag, distill = lsd_rows(head, low, x1, draws, "input")
    (diag.sum() + distill.sum()).backward()
    assert low.grad is not None and low.grad.dtype == torch.bfloat16
    assert bool(torch.isfinite(low.grad.float()).all()) and float(low.grad.float().abs().sum()) > 0
    # the same rows as fp32 on the bf16-rounded condition
    want = lsd_rows(head, low.detach().float(), x1, draws, "input")
    assert torch.equal(diag, want[0]) and torch.equal(distill, want[1])


def test_head_runs_bf16_on_diagonal_steps_and_fp32_for_lsd(head) -> None:
    from natiq.backends.pocket.objectives import head_losses
    from natiq.backends.pocket.recipe import ObjectiveSettings

    cond, x1, _ = _inputs()
    seen: list[torch.dtype] = []
    head.register_forward_hook(lambda module, args, output: seen.append(output.dtype))
    settings = ObjectiveSettings(learned_weighting=False)
    with cuda_autocast_rules(), torch.autocast("cpu", dtype=torch.bfloat16):
        plain = head_losses(head, cond, x1, settings=settings, distill=False)
        assert seen == [torch.bfloat16]
        seen.clear()
        both = head_losses(head, cond, x1, settings=settings, distill=True)
        assert seen == [torch.float32, torch.float32]  # student with its jvp, then the teacher
    for out in (plain, both):
        assert all(bool(torch.isfinite(v)) for v in out.terms.values())
    assert float(both.terms["distill"].detach()) > 0 and float(plain.terms["distill"]) == 0
