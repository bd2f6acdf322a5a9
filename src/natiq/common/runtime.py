"""Device, precision and thread settings for every torch-using stage.

Chosen by configuration, not by branches in model code: ``auto`` picks CUDA
when present; mixed precision (bf16, or fp16 where bf16 is unsupported) is
used on GPU by default, CPU runs fp32 unless bf16 is asked for by name (to
check mixed-precision code without a GPU). Lives in ``common`` so that every
torch-using layer (backends, eval, serve, cli) shares one device rule.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator
from typing import Literal

import torch

Precision = Literal["auto", "fp32", "bf16", "fp16"]


def select_device(name: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` if available else ``cpu``; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from natiq.common.errors import NatiqError

        raise NatiqError("CUDA was requested but no GPU is visible; use --device cpu or auto")
    return device


def resolve_precision(
    precision: Precision, device: torch.device
) -> Literal["fp32", "bf16", "fp16"]:
    """Map ``auto`` to bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU.

    On CPU only an explicit ``bf16`` is honoured (CPU autocast supports it; it is
    there to check mixed-precision code paths without a GPU, and is slower than
    fp32 on most CPUs); ``auto`` and ``fp16`` run fp32.
    """
    if device.type != "cuda":
        if precision == "bf16":
            _warn_cpu_bf16()
            return "bf16"
        return "fp32"
    if precision != "auto":
        return precision
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


@functools.cache
def _warn_cpu_bf16() -> None:
    warnings.warn(
        "bf16 autocast on CPU: meant for checking mixed-precision code without a GPU; "
        "it is usually slower than fp32 there (use --precision auto for fp32)",
        stacklevel=3,
    )


def autocast(
    device: torch.device, precision: Precision = "auto"
) -> contextlib.AbstractContextManager:
    """An autocast context for the resolved precision; a no-op for fp32."""
    resolved = resolve_precision(precision, device)
    if resolved == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if resolved == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def limit_threads(num_threads: int | None = None) -> None:
    """Set torch's intra-op threads (``NATIQ_NUM_THREADS`` env var, else unchanged)."""
    value = num_threads or int(os.environ.get("NATIQ_NUM_THREADS", "0") or 0)
    if value > 0:
        torch.set_num_threads(value)


@contextlib.contextmanager
def inference_mode() -> Iterator[None]:
    with torch.inference_mode():
        yield
