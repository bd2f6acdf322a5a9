"""MKL-packed FlowLM weights for the batched loop: a few rows times a weight for about the price of one.

At one CPU thread, multiplying 8 rows by a ``[4096, 1024]`` fp32 weight that
is not in cache costs ~2.5x one row (1.03 -> 2.55 ms, measured here): for
more than one row MKL repacks the whole weight into its blocked layout on
every call, so the weight crosses the memory bus about three times. MKL's
own pre-packed GEMM (``torch.ops.mkl._mkl_linear``, what torch's inductor
uses for frozen fp32 linears) packs it once: 8 rows then cost 1.77 ms, and a
FlowLM step over 8 rows 50 ms instead of 69 (``benchmarks/pocket_batch.py``).

A packed weight serves exactly one row count, so smaller batches (from
``MIN_ROWS`` up) are padded with zero rows; one or two rows keep the stock
product, which is as fast there. Packing costs memory: the packed copy is
~1.7-2x the weight plus a few MB per matrix; measured, RSS grows by ~360 MB
for the 100M model's FlowLM (docs/serving.md). The stock weights stay (warm starts and the
locked path use them).

Only the thread inside ``PackedLinears.active()`` takes the packed product:
the batched loop's warm starts run the same modules on callers' threads at
the same time, and they must stay bitwise pocket-tts. Packed copies are taken
once: a model whose weights change afterwards (a LoRA merged later) needs a
new ``PackedLinears``.
"""

from __future__ import annotations

import contextlib
import threading
import types
from collections.abc import Iterator
from typing import Any

import torch
from torch.nn import functional as F

# Below this many rows the stock product is as fast as a padded packed one (measured: 2 rows
# 1.68 ms stock against 1.77 packed; 4 rows 1.92 against 1.77).
MIN_ROWS = 3

_thread = threading.local()


def packing_available(device: torch.device | str) -> bool:
    """MKL's packed GEMM exists in x86 CPU builds of torch; CUDA and ARM builds go without."""
    if torch.device(device).type != "cpu" or not torch.backends.mkl.is_available():
        return False
    mkl = torch.ops.mkl
    return hasattr(mkl, "_mkl_linear") and hasattr(mkl, "_mkl_reorder_linear_weight")


class PackedLinears:
    """Packed copies of the fp32 ``nn.Linear`` weights of ``module``, for products of ``rows`` rows."""

    def __init__(self, module: torch.nn.Module, rows: int) -> None:
        if rows < 1:
            raise ValueError(f"rows must be >= 1, got {rows}")
        self.rows = rows
        self.count = 0  # weights packed
        self.products = 0  # products that took a packed weight
        first = next(module.parameters(), None)
        if rows < MIN_ROWS or first is None or not packing_available(first.device):
            return
        for child in module.modules():
            if type(child) is torch.nn.Linear and child.weight.dtype == torch.float32:
                packed = torch.ops.mkl._mkl_reorder_linear_weight(
                    child.weight.detach().contiguous(), rows
                )
                child.forward = types.MethodType(_forward_for(self, packed), child)
                self.count += 1

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Packed products on this thread (only) while inside."""
        before = getattr(_thread, "packed", None)
        _thread.packed = self
        try:
            yield
        finally:
            _thread.packed = before

    def product(
        self, x: torch.Tensor, packed: torch.Tensor, weight: torch.Tensor, bias: Any
    ) -> torch.Tensor:
        """``F.linear(x, weight, bias)`` through ``packed``, in chunks of ``rows`` rows, zero-padded."""
        flat = x.reshape(-1, x.shape[-1])
        total = flat.shape[0]
        outputs = []
        for start in range(0, total, self.rows):
            chunk = flat[start : start + self.rows]
            n = chunk.shape[0]
            if n < MIN_ROWS:
                outputs.append(F.linear(chunk, weight, bias))
                continue
            if n < self.rows:
                chunk = torch.cat([chunk, chunk.new_zeros(self.rows - n, chunk.shape[1])])
            out = torch.ops.mkl._mkl_linear(chunk, packed, weight, bias, self.rows)
            self.products += 1
            outputs.append(out[:n])
        out = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
        return out.reshape(*x.shape[:-1], out.shape[-1])


def _forward_for(owner: PackedLinears, packed: torch.Tensor) -> Any:
    def forward(self: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // x.shape[-1] if x.dim() else 0
        if (
            getattr(_thread, "packed", None) is not owner
            or rows < MIN_ROWS
            or x.dtype != torch.float32
            or torch.is_grad_enabled()
        ):
            return F.linear(x, self.weight, self.bias)
        return owner.product(x, packed, self.weight, self.bias)

    return forward
