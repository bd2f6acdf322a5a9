"""Rows at their own positions give each stream what pocket-tts's streaming transformer gives it alone.

A small ``StreamingTransformer`` (pocket-tts's module, random weights, an
attention context of 6 steps) runs three streams that join and leave at
different steps, several steps per call. Each stream is compared with the
same transformer stepping that stream alone through its own streaming state.
"""

from __future__ import annotations

import pytest
import torch
from pocket_tts.modules.rope import apply_rope
from pocket_tts.modules.stateful_module import StatefulModule, increment_steps, init_states
from pocket_tts.modules.transformer import StreamingTransformer

from natiq.backends.pocket.row_attention import (
    KVRows,
    attention_layers,
    rope_rows,
    transformer_rows,
)

CONTEXT = 6
STEPS = 2  # positions per call


@pytest.fixture(scope="module")
def transformer() -> StreamingTransformer:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = StreamingTransformer(
            d_model=32, num_heads=4, num_layers=2, dim_feedforward=64, context=CONTEXT
        )
    for name, module in model.named_modules():
        if isinstance(module, StatefulModule):
            module._module_absolute_name = name
    return model.eval()


def alone(transformer: StreamingTransformer, inputs: torch.Tensor) -> torch.Tensor:
    """One stream ``[1, T, d]`` stepped ``STEPS`` positions at a time through pocket-tts's own state."""
    state = init_states(transformer, batch_size=1, sequence_length=inputs.shape[1])
    outputs = []
    for start in range(0, inputs.shape[1], STEPS):
        outputs.append(transformer(inputs[:, start : start + STEPS], state))
        increment_steps(transformer, state, increment=STEPS)
    return torch.cat(outputs, dim=1)


@torch.no_grad()
def test_streams_joining_and_leaving_a_ring_match_each_stream_alone(transformer):
    generator = torch.Generator().manual_seed(1)
    calls = {"a": 12, "b": 9, "c": 5}  # calls of STEPS positions: all beyond the context
    inputs = {k: torch.randn(1, n * STEPS, 32, generator=generator) for k, n in calls.items()}
    joins = {"a": 0, "b": 2, "c": 3}  # the call at which each stream joins
    bank = KVRows(
        attention_layers(transformer),
        ring=True,
        capacity=CONTEXT + STEPS,
        device=torch.device("cpu"),
    )
    rows: list[str] = []
    done = {k: 0 for k in calls}
    outputs: dict[str, list[torch.Tensor]] = {k: [] for k in calls}
    for call in range(20):
        for name, at in joins.items():
            if at == call:
                bank.append_empty()
                rows.append(name)
        if not rows:
            break
        x = torch.cat([inputs[k][:, done[k] * STEPS : (done[k] + 1) * STEPS] for k in rows])
        y = transformer_rows(transformer, x, bank)
        for index, name in enumerate(rows):
            outputs[name].append(y[index : index + 1])
            done[name] += 1
        for name in [k for k in rows if done[k] == calls[k]]:  # c leaves while a and b go on
            row = rows.index(name)
            bank.remove(row)
            last = rows.pop()
            if last != name:
                rows[row] = last
    for name in calls:
        reference = alone(transformer, inputs[name])
        gap = (torch.cat(outputs[name], dim=1) - reference).abs().max().item()
        assert gap < 1e-5, f"stream {name}: {gap:.2e} from the stream alone"


@torch.no_grad()
def test_a_row_parked_in_a_linear_bank_resumes_where_it_was(transformer):
    generator = torch.Generator().manual_seed(2)
    inputs = torch.randn(2, 8 * STEPS, 32, generator=generator)
    bank = KVRows(attention_layers(transformer), ring=False, capacity=4, device=torch.device("cpu"))
    bank.append_empty()
    bank.append_empty()
    rows = [0, 1]
    done = [0, 0]
    outputs: list[list[torch.Tensor]] = [[], []]
    saved = None
    for call in range(11):
        if call == 2:  # stream 0 is set aside; stream 1 goes on alone (and moves to row 0)
            saved = bank.take(0)
            bank.remove(0)
            rows = [1]
        if call == 5:
            bank.restore(saved, need=0)
            rows = [1, 0]
        rows = [r for r in rows if done[r] < 8]
        x = torch.cat([inputs[r : r + 1, done[r] * STEPS : (done[r] + 1) * STEPS] for r in rows])
        y = transformer_rows(transformer, x, bank)
        for index, stream in enumerate(rows):
            outputs[stream].append(y[index : index + 1])
            done[stream] += 1
        if done[1] == 8 and 1 in rows:  # stream 1 ends: the bank keeps stream 0 only
            bank.remove(rows.index(1))
            rows.remove(1)
    assert done == [8, 8]
    assert bank.capacity >= 8 * STEPS  # grown from 4 as the rows lengthened
    for stream in (0, 1):
        reference = alone(transformer, inputs[stream : stream + 1])
        gap = (torch.cat(outputs[stream], dim=1) - reference).abs().max().item()
        assert gap < 1e-5, f"stream {stream}: {gap:.2e}"


def test_rope_per_row_is_bitwise_pocket_tts_rope_at_each_offset():
    generator = torch.Generator().manual_seed(3)
    q = torch.randn(3, 4, 2, 8, generator=generator)
    k = torch.randn(3, 4, 2, 8, generator=generator)
    offsets = [0, 17, 250]
    positions = torch.tensor(offsets)[:, None] + torch.arange(4)[None, :]
    qr, kr = rope_rows(q, k, positions, 10_000.0)
    for row, offset in enumerate(offsets):
        q1, k1 = apply_rope(q[row : row + 1], k[row : row + 1], offset=torch.tensor(offset))
        assert torch.equal(qr[row : row + 1], q1) and torch.equal(kr[row : row + 1], k1)
