"""Transformer steps for a batch of streams that each sit at their own position.

pocket-tts 4.0.1's streaming attention keeps one position for a whole batch:
``complete_kv`` refuses rows whose offsets differ, and RoPE takes a single
offset. Its batch can therefore only hold streams that started together with
prompts of one length (its ``pad`` field right-aligns unequal prompts once, at
the start; it cannot take a stream that arrives later). A server's streams
arrive and finish at any frame, with voice prompts and texts of any length.

This module runs the same layers, with the same weights, on rows that each
keep their own position:

- ``KVRows`` holds the keys and values of every row of one transformer (one
  tensor per layer) and, per row and slot, the absolute position stored there
  (-1: empty). A row writes its new keys at its own slots and attends to the
  slots whose positions its queries may see (causal, and within the layer's
  ``context`` for Mimi's decoder). Empty slots hold zeros, never NaN, so a
  masked slot adds exactly nothing.
- ``rope_rows`` rotates each row by its own positions: the same float32
  operations as pocket-tts's ``apply_rope``, so a row's rotation is bitwise
  the one it would get alone.
- ``transformer_rows`` steps a ``StreamingTransformer``'s layers with that
  attention; layer norms, projections, layer scales and the feed-forward
  block are the pocket-tts modules themselves (composition: nothing in
  site-packages is changed).

A FlowLM row keeps every position it has seen (``ring=False``: slot =
position, capacity grown when a longer row joins); a Mimi decoder row keeps
only its attention context (``ring=True``: slot = position modulo the
capacity, which is the context plus the most steps written at once).
Rows are kept dense at the front: a row that leaves is replaced by the last
one (``remove``), so a step always runs on ``rows[:n]`` without gathering.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn import functional as F

from natiq.common.errors import ModelLoadError


def rope_rows(
    q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor, max_period: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """RoPE for ``q`` ``[B, T, H, D]`` and ``k`` ``[B, T, Hk, D]`` at per-row ``positions`` ``[B, T]``."""
    batch, steps, heads, dim = q.shape
    kv_heads = k.shape[2]
    ds = torch.arange(dim // 2, device=q.device, dtype=torch.float32)
    freqs = torch.exp(ds * (-math.log(max_period) * 2 / dim))
    ts = positions.to(torch.float32).view(batch, steps, 1, 1)
    q = q.view(batch, steps, heads, dim // 2, 2)
    k = k.view(batch, steps, kv_heads, dim // 2, 2)
    qr, qi = q[..., 0].float(), q[..., 1].float()
    kr, ki = k[..., 0].float(), k[..., 1].float()
    rotr = torch.cos(freqs * ts)
    roti = torch.sin(freqs * ts)
    dtype = q.dtype
    qo = torch.stack([(qr * rotr - qi * roti).to(dtype), (qr * roti + qi * rotr).to(dtype)], -1)
    ko = torch.stack([(kr * rotr - ki * roti).to(dtype), (kr * roti + ki * rotr).to(dtype)], -1)
    return qo.view(batch, steps, heads, dim), ko.view(batch, steps, kv_heads, dim)


def attention_layers(transformer: Any) -> list[Any]:
    """The ``StreamingMultiheadAttention`` of each layer, after checking the layout this module relies on."""
    layers = list(getattr(transformer, "layers", []))
    needed = ("norm1", "self_attn", "layer_scale_1", "_ff_block")
    attn_needed = ("in_proj", "out_proj", "num_heads", "num_kv_heads", "dim_per_head", "attn_dim")
    for layer in layers:
        attn = getattr(layer, "self_attn", None)
        if any(not hasattr(layer, name) for name in needed) or any(
            not hasattr(attn, name) for name in attn_needed
        ):
            raise ModelLoadError(
                "batched Pocket generation needs the transformer layout of pocket-tts 4.0 "
                "(StreamingTransformerLayer with self_attn.in_proj/out_proj); this model has "
                "another one: serve it with --max-batch 1"
            )
    if not layers:
        raise ModelLoadError("batched Pocket generation found no transformer layers in the model")
    return [layer.self_attn for layer in layers]


class KVRows:
    """Keys, values and stored positions of up to ``len(rows)`` streams, for every layer of one transformer."""

    def __init__(
        self,
        attentions: list[Any],
        *,
        ring: bool,
        capacity: int,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.attentions = attentions
        self.ring = ring
        self.capacity = capacity
        self.device = device
        self.dtype = dtype
        self.context: int | None = attentions[0].context
        self.caches: list[torch.Tensor] = [self._empty(0, capacity, attn) for attn in attentions]
        self.slot_positions = torch.full((0, capacity), -1, dtype=torch.long, device=device)
        self.lengths = torch.zeros(0, dtype=torch.long, device=device)
        self.count = 0

    def _empty(self, rows: int, capacity: int, attn: Any) -> torch.Tensor:
        shape = (2, rows, capacity, attn.num_kv_heads, attn.dim_per_head)
        return torch.zeros(shape, device=self.device, dtype=self.dtype)

    # ----- rows
    def _reserve(self, rows: int, capacity: int) -> None:
        """Room for ``rows`` rows of ``capacity`` slots (grows both; copies the rows in use)."""
        have_rows = self.slot_positions.shape[0]
        if rows <= have_rows and capacity <= self.capacity:
            return
        if self.ring and capacity > self.capacity:
            raise ValueError("a ring of slots keeps its capacity")
        new_rows = max(rows, 2 * have_rows) if rows > have_rows else have_rows
        new_capacity = max(capacity, self.capacity)
        if capacity > self.capacity:
            new_capacity = -(-max(capacity, self.capacity + self.capacity // 4) // 64) * 64
        n, used = self.count, self.capacity
        caches = []
        for cache, attn in zip(self.caches, self.attentions, strict=True):
            grown = self._empty(new_rows, new_capacity, attn)
            grown[:, :n, :used] = cache[:, :n, :used]
            caches.append(grown)
        positions = torch.full((new_rows, new_capacity), -1, dtype=torch.long, device=self.device)
        positions[:n, :used] = self.slot_positions[:n, :used]
        lengths = torch.zeros(new_rows, dtype=torch.long, device=self.device)
        lengths[:n] = self.lengths[:n]
        self.caches, self.slot_positions, self.lengths = caches, positions, lengths
        self.capacity = new_capacity

    def append_empty(self, need: int = 0) -> int:
        """A new row with nothing stored (a Mimi decoder starting); returns its index."""
        row = self.count
        self._reserve(row + 1, max(need, 0) if not self.ring else self.capacity)
        self.slot_positions[row] = -1
        self.lengths[row] = 0
        for cache in self.caches:
            cache[:, row].zero_()
        self.count += 1
        return row

    def append_prefix(self, layer_caches: list[torch.Tensor], length: int, need: int) -> int:
        """A new row holding positions ``0..length-1`` (``layer_caches[i]``: ``[2, length, H, D]``).

        ``need`` is the most positions the row will ever hold (its prompt plus
        its longest generation); only for a linear (non-ring) bank.
        """
        if self.ring:
            raise ValueError("a ring bank starts its rows empty")
        row = self.count
        self._reserve(row + 1, max(need, length))
        for cache, prefix in zip(self.caches, layer_caches, strict=True):
            cache[:, row, :length] = prefix
            cache[:, row, length:].zero_()
        self.slot_positions[row] = -1
        self.slot_positions[row, :length] = torch.arange(length, device=self.device)
        self.lengths[row] = length
        self.count += 1
        return row

    def take(self, row: int, *, copy: bool = True) -> dict[str, Any]:
        """``row``'s keys, values and positions, to ``restore`` it later exactly (here or in another bank).

        ``copy=False`` returns views, for a bank that is discarded right after.
        """
        used = self.capacity if self.ring else int(self.lengths[row])

        def own(tensor: torch.Tensor) -> torch.Tensor:
            return tensor.clone() if copy else tensor

        return {
            "caches": [own(cache[:, row, :used]) for cache in self.caches],
            "positions": own(self.slot_positions[row, :used]),
            "length": int(self.lengths[row]),
            "need": used,
        }

    def restore(self, saved: dict[str, Any], need: int) -> int:
        """A new row from ``take``'s result; ``need``: the most positions it will hold (linear bank)."""
        row = self.count
        used = saved["positions"].shape[0]
        self._reserve(row + 1, max(need, used) if not self.ring else self.capacity)
        for cache, part in zip(self.caches, saved["caches"], strict=True):
            cache[:, row, :used] = part
            cache[:, row, used:].zero_()
        self.slot_positions[row] = -1
        self.slot_positions[row, :used] = saved["positions"]
        self.lengths[row] = saved["length"]
        self.count += 1
        return row

    def remove(self, row: int) -> None:
        """Drop ``row``; the last row moves into its place (callers mirror that move)."""
        last = self.count - 1
        if row != last:
            used = self.capacity if self.ring else int(self.lengths[last])
            for cache in self.caches:
                cache[:, row, :used] = cache[:, last, :used]
            self.slot_positions[row] = self.slot_positions[last]
            self.lengths[row] = self.lengths[last]
        self.count = last

    # ----- one step
    def begin(self, steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Claim ``steps`` new positions in every row: returns (positions ``[n, steps]``, slots, mask).

        The mask ``[n, 1, steps, width]`` lets each query see the stored
        positions at or before its own (and within ``context``); ``width`` is
        the number of slots read (up to the longest row for a linear bank).
        """
        n = self.count
        offsets = self.lengths[:n]
        positions = offsets[:, None] + torch.arange(steps, device=self.device)[None, :]
        if self.ring:
            if steps > self.capacity - (self.context or 0):
                raise ValueError(f"{steps} steps at once do not fit a ring of {self.capacity}")
            slots = positions % self.capacity
            width = self.capacity
        else:
            need = int(offsets.max()) + steps if n else steps
            self._reserve(n, need)
            slots = positions
            width = need
        rows = torch.arange(n, device=self.device)[:, None]
        self.slot_positions[rows, slots] = positions
        self.lengths[:n] += steps
        stored = self.slot_positions[:n, :width]
        delta = positions[:, :, None] - stored[:, None, :]
        mask = (stored[:, None, :] >= 0) & (delta >= 0)
        if self.context is not None:
            mask = mask & (delta < self.context)
        return positions, slots, mask[:, None]

    def attend(
        self,
        layer: int,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        slots: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """Store ``k``/``v`` ``[n, T, Hk, D]`` at ``slots`` and attend ``q`` ``[n, T, H, D]``: ``[n, T, H, D]``."""
        n = q.shape[0]
        cache = self.caches[layer]
        rows = torch.arange(n, device=self.device)[:, None]
        cache[0, rows, slots] = k.to(cache.dtype)
        cache[1, rows, slots] = v.to(cache.dtype)
        width = mask.shape[-1]
        keys = cache[0, :n, :width].permute(0, 2, 1, 3)
        values = cache[1, :n, :width].permute(0, 2, 1, 3)
        heads, kv_heads = q.shape[2], k.shape[2]
        if kv_heads != heads:
            keys = keys.repeat_interleave(heads // kv_heads, dim=1)
            values = values.repeat_interleave(heads // kv_heads, dim=1)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), keys, values, mask, dropout_p=0.0)
        return out.transpose(1, 2)


def transformer_rows(transformer: Any, x: torch.Tensor, bank: KVRows) -> torch.Tensor:
    """Step a pocket-tts ``StreamingTransformer`` on ``x`` ``[n, T, d]``, one row per stream of ``bank``."""
    steps = x.shape[1]
    positions, slots, mask = bank.begin(steps)
    for index, layer in enumerate(transformer.layers):
        attn = layer.self_attn
        h = layer.norm1(x)
        projected = attn.in_proj(h)
        n, t, _ = projected.shape
        d = attn.dim_per_head
        q = projected[..., : attn.attn_dim].view(n, t, attn.num_heads, d)
        kv = projected[..., attn.attn_dim :].view(n, t, 2, attn.num_kv_heads, d)
        k, v = torch.unbind(kv, dim=2)
        q, k = rope_rows(q, k, positions, attn.rope.max_period)
        out = bank.attend(index, q, k, v, slots, mask)
        update = attn.out_proj(out.reshape(n, t, attn.num_heads * d))
        x = x.to(update) + layer.layer_scale_1(update)
        x = layer._ff_block(x)
    return x
