"""LoRA on the FlowLM: the scopes train what they say, merging changes no output, adapters are small."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from natiq.backends.pocket.lora import count_parameters, merge_lora, prepare_trainable


def _batch(n_bins: int):
    from natiq.backends.pocket.batch import PocketBatch

    g = torch.Generator().manual_seed(0)
    tokens = [torch.randint(0, n_bins, (n,), generator=g).tolist() for n in (5, 3)]
    latents = [torch.randn(n, 32, generator=g) for n in (7, 4)]
    prompts = [torch.randn(n, 32, generator=g) for n in (3, 2)]
    return PocketBatch.from_items(tokens, latents, pad_id=n_bins, prompts=prompts)


def _outputs(flow_lm, batch) -> torch.Tensor:
    """Backbone conditions, EOS logits and 1-step head outputs on fixed noise."""
    from natiq.backends.pocket.forward import teacher_forced_backbone

    out = teacher_forced_backbone(flow_lm, batch)
    noise = torch.randn((*out.cond.shape[:-1], 32), generator=torch.Generator().manual_seed(1))
    ones = torch.ones_like(noise[..., :1])
    head = flow_lm.flow_net(out.cond, 0 * ones, ones, noise)
    return torch.cat([out.cond.flatten(), out.eos_logits.flatten(), head.flatten()])


def _randomize_adapters(model: torch.nn.Module) -> None:
    """LoRA B starts at zero (identity); give the adapters real values so merging matters."""
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for _name, param in model.named_parameters():
            if param.requires_grad:
                param.add_(0.05 * torch.randn(param.shape, generator=g))


@pytest.mark.parametrize("scope", ["text+flow", "full"])
def test_merged_lora_gives_the_same_outputs_as_the_adapters(tiny_base: Path, scope: str) -> None:
    from natiq.backends.pocket.tiny import load_tiny_tts

    tts = load_tiny_tts(tiny_base)
    n_bins = tts.config.flow_lm.lookup_table.n_bins
    model = prepare_trainable(tts.flow_lm, scope=scope, use_lora=True, rank=4, alpha=8)
    _randomize_adapters(model)
    model.eval()
    batch = _batch(n_bins)
    with torch.no_grad():
        before = _outputs(model, batch)
        base_out = None
        with model.disable_adapter():
            base_out = _outputs(model, batch)
        merged = merge_lora(model)
        after = _outputs(merged, batch)
    assert not isinstance(merged, type(model))
    assert (before - base_out).abs().max() > 1e-3  # the adapters do change the outputs
    assert (before - after).abs().max() < 1e-5


def test_scopes_select_the_intended_weights(tiny_base: Path) -> None:
    from natiq.backends.pocket.tiny import load_tiny_tts

    tts = load_tiny_tts(tiny_base)
    flow = prepare_trainable(tts.flow_lm, scope="flow", use_lora=False)
    names = {n for n, p in flow.named_parameters() if p.requires_grad}
    assert names and all(n.startswith(("flow_net.", "out_eos.")) for n in names)
    assert "out_eos.weight" in names

    tts = load_tiny_tts(tiny_base)
    text = prepare_trainable(tts.flow_lm, scope="text", use_lora=False)
    assert {n for n, p in text.named_parameters() if p.requires_grad} == {
        "conditioner.embed.weight"
    }

    tts = load_tiny_tts(tiny_base)
    lora = prepare_trainable(tts.flow_lm, scope="text+flow", use_lora=True, rank=2)
    trainable = [n for n, p in lora.named_parameters() if p.requires_grad]
    assert any("flow_net" in n and "lora_A" in n for n in trainable)
    assert any("conditioner.embed.modules_to_save" in n for n in trainable)
    assert not any("transformer" in n for n in trainable)
    n_train, n_total = count_parameters(lora)
    assert 0 < n_train < n_total


def test_text_scope_with_lora_is_refused(tiny_base: Path) -> None:
    from natiq.backends.pocket.tiny import load_tiny_tts
    from natiq.common.errors import DataFormatError

    tts = load_tiny_tts(tiny_base)
    with pytest.raises(DataFormatError, match="without --use-lora"):
        prepare_trainable(tts.flow_lm, scope="text", use_lora=True)


def test_adapter_checkpoint_is_a_small_fraction_of_the_model(
    tiny_base: Path, tmp_path: Path
) -> None:
    from natiq.backends.pocket.checkpointing import save_model_weights
    from natiq.backends.pocket.export import checkpoint_size_bytes, state_dict_size_bytes
    from natiq.backends.pocket.tiny import load_tiny_tts

    tts = load_tiny_tts(tiny_base)
    full = state_dict_size_bytes(tts)
    model = prepare_trainable(tts.flow_lm, scope="flow", use_lora=True, rank=2, alpha=4)
    save_model_weights(model, tmp_path, tts.flow_lm)
    adapter = checkpoint_size_bytes(tmp_path)
    print(f"adapter {adapter / 1e3:.1f} kB vs full model {full / 1e3:.1f} kB")
    assert 0 < adapter < 0.2 * full
