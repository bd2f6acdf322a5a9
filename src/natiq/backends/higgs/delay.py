"""The codebook delay pattern, applied and undone exactly as generation does.

Higgs Audio v2 predicts its 8 codebooks with a delay: codebook ``k`` runs
``k`` frames behind codebook 0. A clip of ``T`` frames is stored as
``[BOS] + codes + [EOS]`` per codebook and shifted into ``T + 2 + (K - 1)``
frames, the staircase before filled with stream BOS and after with stream
EOS. Training inputs, training labels and generated frames all use this
layout, so it lives in one place.
"""

from __future__ import annotations

import torch


def add_stream_markers(codes: torch.Tensor, bos: int, eos: int) -> torch.Tensor:
    """``(K, T)`` codes -> ``(K, T + 2)`` with a stream BOS column before and EOS column after."""
    num_codebooks = codes.shape[0]
    bos_column = codes.new_full((num_codebooks, 1), bos)
    eos_column = codes.new_full((num_codebooks, 1), eos)
    return torch.cat([bos_column, codes, eos_column], dim=1)


def apply_delay(codes: torch.Tensor, bos: int, eos: int) -> torch.Tensor:
    """``(K, L)`` -> ``(K, L + K - 1)``: row ``k`` shifted right by ``k``, BOS before, EOS after."""
    num_codebooks, length = codes.shape
    out = codes.new_empty((num_codebooks, length + num_codebooks - 1))
    for k in range(num_codebooks):
        out[k, :k] = bos
        out[k, k : k + length] = codes[k]
        out[k, k + length :] = eos
    return out


def undo_delay(delayed: torch.Tensor) -> torch.Tensor:
    """Inverse of ``apply_delay``: ``(K, L + K - 1)`` -> ``(K, L)``."""
    num_codebooks, total = delayed.shape
    length = total - (num_codebooks - 1)
    if length < 0:
        return delayed.new_empty((num_codebooks, 0))
    return torch.stack([delayed[k, k : k + length] for k in range(num_codebooks)])


def delayed_clip(codes: torch.Tensor, bos: int, eos: int) -> torch.Tensor:
    """``(K, T)`` plain codes -> ``(T + K + 1, K)`` frames as the model reads and writes them."""
    return apply_delay(add_stream_markers(codes, bos, eos), bos, eos).transpose(0, 1).contiguous()


def codes_from_generated(frames: torch.Tensor, bos: int, eos: int) -> torch.Tensor:
    """Generated ``(N, K)`` delayed frames (starting with the all-BOS frame) -> ``(K, T)`` codes.

    Cuts at the first frame where codebook 0 emits stream EOS (or keeps
    everything when generation hit its length limit) and undoes the delay.
    Any marker left inside the clip is clamped to a valid code.
    """
    delayed = frames.transpose(0, 1)
    num_codebooks = delayed.shape[0]
    start = 1 if delayed.shape[1] and bool((delayed[:, 0] == bos).all()) else 0
    eos_hits = (delayed[0, start:] == eos).nonzero()
    end = start + int(eos_hits[0]) if len(eos_hits) else delayed.shape[1]
    body = delayed[:, start : min(end + num_codebooks - 1, delayed.shape[1])]
    if body.shape[1] < num_codebooks:
        return delayed.new_empty((num_codebooks, 0))
    return undo_delay(body).clamp(0, bos - 1)
