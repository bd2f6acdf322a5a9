"""CUDA autocast's casting rules, applied by CPU autocast: mixed-precision GPU bugs found on CPU.

CPU and CUDA autocast cast different operator lists. CUDA runs reductions,
``exp``/``log``/``pow``/``rsqrt``, softmax, norms and losses in fp32 (the
``fp32`` and ``fp32_set_opt_dtype`` policies of ``ATen/autocast_mode.h``); CPU
autocast leaves most of them in the input's dtype. Two natiq failures existed
only on the GPU because of that (``docs/pocket-training.md``, "Mixed precision"):
a ``sum`` inside a forward-mode AD tangent formula turned Pocket's LSD tangents
fp32 while their primals stayed bf16, and the ``sum`` over codebook embeddings
turned Higgs' audio embeddings fp32 beside bf16 text embeddings.

``cuda_autocast_rules()`` registers, for the duration of a ``with`` block, a CPU
autocast kernel for every operator that CUDA autocast casts and CPU autocast
does not, with CUDA's policy for it; the registrations are removed on exit.
Inside, ``torch.autocast("cpu", dtype=torch.bfloat16)`` (or Accelerate's
``mixed_precision="bf16"`` on CPU) casts like CUDA autocast does. Not emulated:
the cast cache, and kernels that differ between devices.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

# From ATen/autocast_mode.h (PyTorch 2.11): operator overloads and CUDA's policy.
LOWER_PRECISION = [
    "_convolution.deprecated",
    "_convolution",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_tbc",
    "conv_transpose1d",
    "conv_transpose2d.input",
    "conv_transpose3d.input",
    "convolution",
    "prelu",
    "addmm",
    "addmv",
    "addr",
    "matmul",
    "einsum",
    "mm",
    "mv",
    "linalg_vecdot",
    "linear",
    "addbmm",
    "baddbmm",
    "bmm",
    "chain_matmul",
    "linalg_multi_dot",
    "lstm_cell",
    "gru_cell",
    "rnn_tanh_cell",
    "rnn_relu_cell",
    "scaled_dot_product_attention",
]
FP32 = [
    "acos",
    "asin",
    "cosh",
    "erfinv",
    "exp",
    "expm1",
    "log",
    "log10",
    "log2",
    "log1p",
    "reciprocal",
    "rsqrt",
    "sinh",
    "tan",
    "pow.Tensor_Scalar",
    "pow.Tensor_Tensor",
    "pow.Scalar",
    "softplus",
    "layer_norm",
    "native_layer_norm",
    "group_norm",
    "frobenius_norm.dim",
    "nuclear_norm",
    "nuclear_norm.dim",
    "cosine_similarity",
    "poisson_nll_loss",
    "cosine_embedding_loss",
    "nll_loss",
    "nll_loss2d",
    "hinge_embedding_loss",
    "kl_div",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "mse_loss",
    "margin_ranking_loss",
    "multilabel_margin_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "multi_margin_loss",
    "binary_cross_entropy_with_logits",
    "dist",
    "pdist",
    "cdist",
    "renorm",
    "logsumexp",
]
FP32_SET_OPT_DTYPE = [
    "prod",
    "prod.dim_int",
    "softmax.int",
    "log_softmax.int",
    "cumprod",
    "cumsum",
    "linalg_vector_norm",
    "linalg_matrix_norm",
    "linalg_matrix_norm.str_ord",
    "sum",
    "sum.dim_IntList",
]

_AUTOCAST_CPU = torch._C.DispatchKeySet(torch._C.DispatchKey.AutocastCPU)
_LOW = (torch.bfloat16, torch.float16)


def _overload(name: str) -> torch._ops.OpOverload:
    packet, _, overload = name.partition(".")
    return getattr(getattr(torch.ops.aten, packet), overload or "default")


def _cast_floats(value, dtype: torch.dtype, only: tuple[torch.dtype, ...]):
    if isinstance(value, torch.Tensor) and value.dtype in only:
        return value.to(dtype)
    if isinstance(value, list | tuple):
        return type(value)(_cast_floats(v, dtype, only) for v in value)
    return value


def _lower_precision(op: torch._ops.OpOverload) -> Callable:
    def kernel(*args, **kwargs):
        dtype = torch.get_autocast_dtype("cpu")
        with torch._C._ExcludeDispatchKeyGuard(_AUTOCAST_CPU):
            return op(*_cast_floats(args, dtype, (torch.float32,)), **kwargs)

    return kernel


def _fp32(op: torch._ops.OpOverload) -> Callable:
    def kernel(*args, **kwargs):
        with torch._C._ExcludeDispatchKeyGuard(_AUTOCAST_CPU):
            return op(*_cast_floats(args, torch.float32, _LOW), **kwargs)

    return kernel


def _fp32_set_opt_dtype(op: torch._ops.OpOverload) -> Callable:
    """Run with ``dtype=float32`` unless one is given, when the first input is a float (not double)."""
    names = [argument.name for argument in op._schema.arguments]
    position = names.index("dtype")

    def kernel(*args, **kwargs):
        first = args[0]
        eligible = first.is_floating_point() and first.dtype != torch.float64
        if eligible and position < len(args) and args[position] is None:
            args = (*args[:position], torch.float32, *args[position + 1 :])
        elif eligible and position >= len(args) and kwargs.get("dtype") is None:
            kwargs = {**kwargs, "dtype": torch.float32}
        with torch._C._ExcludeDispatchKeyGuard(_AUTOCAST_CPU):
            return op(*args, **kwargs)

    return kernel


def _missing_on_cpu(name: str) -> bool:
    return not torch._C._dispatch_has_kernel_for_dispatch_key(f"aten::{name}", "AutocastCPU")


@contextlib.contextmanager
def cuda_autocast_rules() -> Iterator[list[str]]:
    """CPU autocast casts as CUDA autocast does inside this block; yields the operators added."""
    library = torch.library.Library("aten", "IMPL")
    added = []
    try:
        for names, policy in (
            (LOWER_PRECISION, _lower_precision),
            (FP32, _fp32),
            (FP32_SET_OPT_DTYPE, _fp32_set_opt_dtype),
        ):
            for name in names:
                if _missing_on_cpu(name):
                    library.impl(name, policy(_overload(name)), "AutocastCPU")
                    added.append(name)
        yield added
    finally:
        library._destroy()
