"""The teacher-forced forward sees exactly what pocket-tts' streaming inference sees."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture()
def model(tiny_yaml: Path, mini_latents: list):
    from natiq.backends.pocket.forward import compute_latent_stats, set_latent_stats
    from natiq.backends.pocket.tiny import load_tiny_tts

    tts = load_tiny_tts(tiny_yaml)
    set_latent_stats(tts.flow_lm, *compute_latent_stats(mini_latents))
    return tts


def _tokens(model, text: str) -> list[int]:
    from natiq.backends.pocket.text_tokens import tokenize_model_text

    return tokenize_model_text(model, text)


def _batch(model, mini_latents, texts, with_prompts=True):
    from natiq.backends.pocket.batch import PocketBatch

    prompts = [mini_latents[3][:12], None][: len(texts)] if with_prompts else None
    ids = [_tokens(model, text) for text in texts]
    return PocketBatch.from_items(ids, mini_latents[: len(texts)], pad_id=256, prompts=prompts)


def test_teacher_forced_outputs_equal_the_streaming_kv_cache_path(model, mini_latents) -> None:
    from pocket_tts.modules.stateful_module import init_states

    from natiq.backends.pocket.forward import (
        normalize_latents,
        null_voice_prefix,
        teacher_forced_backbone,
        voice_prefix,
    )

    texts = ["بسم الله.", "العلم نور والجهل ظلام."]
    batch = _batch(model, mini_latents, texts)
    flow_lm = model.flow_lm
    with torch.no_grad():
        out = teacher_forced_backbone(flow_lm, batch)
        zeros = torch.zeros(out.cond.shape[0], out.cond.shape[1], 32)
        ones = torch.ones(*out.cond.shape[:2], 1)
        one_step = flow_lm.flow_net(out.cond, 0 * ones, ones, zeros)  # lsd_decode from x0 = 0

    model.temp, model.sampler_decode_steps = 0.0, 1
    for row, text in enumerate(texts):
        state = init_states(flow_lm, batch_size=1, sequence_length=200)
        if row == 0:
            prefix = voice_prefix(flow_lm, mini_latents[3][:12])[None]
        else:  # a row without a prompt starts with the null voice (bos_before_voice)
            prefix = null_voice_prefix(flow_lm)[None]
        model._run_flow_lm_and_increment_step(model_state=state, audio_conditioning=prefix)
        model._run_flow_lm_and_increment_step(
            model_state=state, text_tokens=torch.tensor([_tokens(model, text)])
        )
        targets = normalize_latents(flow_lm, mini_latents[row])
        current = torch.full((1, 1, 32), float("nan"))
        for i in range(8):
            latent, _ = model._run_flow_lm_and_increment_step(
                model_state=state, backbone_input_latents=current
            )
            assert torch.allclose(latent[0, 0], one_step[row, i], atol=1e-4), (row, i)
            current = targets[i].reshape(1, 1, 32)


def test_padding_and_batch_neighbours_do_not_change_a_row(model, mini_latents) -> None:
    from natiq.backends.pocket.batch import PocketBatch
    from natiq.backends.pocket.forward import teacher_forced_backbone

    texts = ["بسم الله.", "العلم نور والجهل ظلام.", "قصير."]
    batch = _batch(model, mini_latents, texts, with_prompts=False)
    alone = PocketBatch.from_items([_tokens(model, texts[0])], [mini_latents[0]], pad_id=256)
    with torch.no_grad():
        together = teacher_forced_backbone(model.flow_lm, batch)
        single = teacher_forced_backbone(model.flow_lm, alone)
    frames = mini_latents[0].shape[0]
    assert torch.allclose(together.cond[0, : frames + 1], single.cond[0, : frames + 1], atol=1e-5)
    assert together.frame_mask.sum() == sum(int(x.shape[0]) for x in mini_latents[:3])
    assert together.eos_mask.sum() == together.frame_mask.sum() + 3


def test_losses_have_every_term_and_flow_matching_has_no_distillation(model, mini_latents) -> None:
    from natiq.backends.pocket.objectives import ObjectiveSettings, compute_losses

    batch = _batch(model, mini_latents, ["بسم الله.", "العلم نور."])
    plain = ObjectiveSettings(learned_weighting=False)
    lsd = compute_losses(
        model.flow_lm, batch, settings=plain, generator=torch.Generator().manual_seed(0),
        training=False,
    )  # fmt: skip
    assert set(lsd.terms) >= {"diag", "distill", "eos", "total"}
    assert all(torch.isfinite(value) for value in lsd.terms.values())
    assert lsd.terms["distill"] > 0
    expected = 0.75 * lsd.terms["diag"] + 0.25 * lsd.terms["distill"] + 0.1 * lsd.terms["eos"]
    assert torch.allclose(lsd.total, expected)
    lsd.total.backward()
    assert model.flow_lm.flow_net.input_proj.weight.grad.abs().sum() > 0
    assert model.flow_lm.conditioner.embed.weight.grad.abs().sum() > 0
    assert model.flow_lm.speaker_proj_weight.grad.abs().sum() > 0

    fm = compute_losses(
        model.flow_lm,
        batch,
        settings=ObjectiveSettings(loss="flow-matching"),
        generator=torch.Generator().manual_seed(0),
    )
    assert float(fm.terms["distill"]) == 0.0
    assert torch.allclose(fm.total, fm.terms["diag"] + 0.1 * fm.terms["eos"])


def test_same_generator_seed_gives_the_same_loss(model, mini_latents) -> None:
    from natiq.backends.pocket.objectives import LossModule

    batch = _batch(model, mini_latents, ["بسم الله.", "العلم نور."])
    loss_module = LossModule(model.flow_lm).train()
    first = loss_module(batch, generator=torch.Generator().manual_seed(7)).total
    second = loss_module(batch, generator=torch.Generator().manual_seed(7)).total
    third = loss_module(batch, generator=torch.Generator().manual_seed(8)).total
    assert torch.equal(first, second) and not torch.equal(first, third)


def test_lsd_needs_a_two_time_head_and_rejects_unknown_objectives() -> None:
    from pocket_tts.modules.mlp import SimpleMLPAdaLN

    from natiq.backends.pocket.objectives import ObjectiveSettings, head_losses

    head = SimpleMLPAdaLN(32, 16, 32, 8, 1, num_time_conds=1)
    cond, target = torch.randn(4, 8), torch.randn(4, 32)
    with pytest.raises(ValueError, match="two time conditions"):
        head_losses(head, cond, target, settings=ObjectiveSettings())
    with pytest.raises(ValueError, match="loss"):
        ObjectiveSettings(loss="cfm")  # type: ignore[arg-type]
    flow = ObjectiveSettings(loss="flow-matching")
    assert head_losses(head, cond, target, settings=flow).total > 0


def test_latent_stats_are_per_dimension_and_written_into_the_model(model, mini_latents) -> None:
    from natiq.backends.pocket.forward import (
        compute_latent_stats,
        normalize_latents,
        set_latent_stats,
    )
    from natiq.common.errors import DataFormatError

    mean, std = compute_latent_stats(mini_latents)
    frames = torch.cat(mini_latents)
    assert torch.allclose(mean, frames.mean(0), atol=1e-5)
    assert torch.allclose(std, frames.std(0, unbiased=False), atol=1e-5)
    assert torch.equal(model.flow_lm.emb_mean, mean)
    normalized = normalize_latents(model.flow_lm, frames)
    assert torch.allclose(normalized.mean(0), torch.zeros(32), atol=1e-4)
    assert torch.allclose(normalized.std(0, unbiased=False), torch.ones(32), atol=1e-3)
    with pytest.raises(ValueError, match="shape"):
        set_latent_stats(model.flow_lm, mean[:4], std[:4])
    with pytest.raises(DataFormatError, match="no latent frames"):
        compute_latent_stats([])


def test_token_ids_beyond_the_embedding_are_refused(model, mini_latents) -> None:
    from natiq.backends.pocket.batch import PocketBatch
    from natiq.backends.pocket.forward import teacher_forced_backbone
    from natiq.common.errors import DataFormatError

    batch = PocketBatch.from_items([[3, 4, 999]], [mini_latents[0]], pad_id=256)
    with pytest.raises(DataFormatError, match="another tokenizer"):
        teacher_forced_backbone(model.flow_lm, batch)
