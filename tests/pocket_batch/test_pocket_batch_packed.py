"""MKL-packed FlowLM products (``packed_linear``): same values as the stock product, on the loop's thread only."""

from __future__ import annotations

import threading

import pytest
import torch
from torch.nn import functional as F

from natiq.backends.pocket.packed_linear import MIN_ROWS, PackedLinears, packing_available

pytestmark = pytest.mark.skipif(
    not packing_available("cpu"), reason="this torch build has no MKL packed GEMM"
)


def _layers(seed: int = 0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(48, 96), torch.nn.Linear(96, 40, bias=False))


@pytest.mark.parametrize("rows", [1, 2, 3, 5, 8, 11, 16, 19])
def test_packed_products_equal_the_stock_ones_for_any_row_count(rows: int) -> None:
    layers = _layers()
    x = torch.randn(rows, 48, generator=torch.Generator().manual_seed(rows))
    with torch.no_grad():
        stock = [F.linear(x, layers[0].weight, layers[0].bias)]
        stock.append(F.linear(stock[0], layers[1].weight))
        packed = PackedLinears(layers, 8)
        with packed.active():
            first = layers[0](x)
            second = layers[1](first)
    assert packed.count == 2
    torch.testing.assert_close(first, stock[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(second, stock[1], rtol=1e-5, atol=1e-5)
    # chunks of 8 rows; a chunk of fewer than MIN_ROWS rows takes the stock product
    chunks = [min(8, rows - start) for start in range(0, rows, 8)]
    assert packed.products == 2 * sum(1 for n in chunks if n >= MIN_ROWS)


def test_rows_in_more_dimensions_keep_their_shape() -> None:
    layers = _layers()
    x = torch.randn(6, 1, 48)
    with torch.no_grad():
        packed = PackedLinears(layers, 8)
        with packed.active():
            out = layers[0](x)
    assert out.shape == (6, 1, 96)
    torch.testing.assert_close(out, F.linear(x, layers[0].weight, layers[0].bias))
    assert packed.products == 1


def test_only_the_thread_inside_active_takes_packed_products() -> None:
    """Warm starts run the same modules on other threads meanwhile: theirs stay the stock product, bitwise."""
    layers = _layers()
    x = torch.randn(8, 48)
    packed = PackedLinears(layers, 8)
    inside, other = threading.Event(), threading.Event()
    seen: dict[str, torch.Tensor] = {}

    def elsewhere() -> None:
        inside.wait(10)
        with torch.no_grad():
            seen["other"] = layers[0](x)
        other.set()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with torch.no_grad(), packed.active():
        inside.set()
        assert other.wait(10)
        layers[0](x)
    thread.join()
    assert packed.products == 1  # the active thread's call only
    assert torch.equal(seen["other"], F.linear(x, layers[0].weight, layers[0].bias))
    with torch.no_grad():  # after the block, this thread is stock again
        assert torch.equal(layers[0](x), F.linear(x, layers[0].weight, layers[0].bias))
    assert packed.products == 1


def test_training_and_small_batches_keep_the_stock_product() -> None:
    layers = _layers()
    x = torch.randn(8, 48, requires_grad=True)
    packed = PackedLinears(layers, 8)
    with packed.active():
        out = layers[0](x)  # gradient enabled: MKL's packed op has no backward
    out.sum().backward()
    assert packed.products == 0 and x.grad is not None
    small = _layers()
    assert PackedLinears(small, MIN_ROWS - 1).count == 0  # nothing packed below MIN_ROWS
    assert small[0].forward.__func__ is torch.nn.Linear.forward
