"""The reference recipe's objective knobs do what pocket-tts' training code does.

Times are logit-normal, the self-distillation term is computed on a share of
steps and scaled up, each frame gets several noise draws, the learned per-(s, t)
weighting starts neutral and trains, and a dropped text or voice leaves exactly
the null-condition sequence.
"""

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


def _batch(model, mini_latents, texts: list[str], prompt_frames: int = 12):
    from natiq.backends.pocket.batch import PocketBatch
    from natiq.backends.pocket.text_tokens import tokenize_model_text

    ids = [tokenize_model_text(model, text) for text in texts]
    prompts = [mini_latents[3][:prompt_frames]] * len(texts)
    return PocketBatch.from_items(ids, mini_latents[: len(texts)], pad_id=256, prompts=prompts)


def test_times_are_logit_normal_with_the_reference_parameters() -> None:
    from natiq.backends.pocket.objectives import sample_pair, sample_times
    from natiq.backends.pocket.recipe import ObjectiveSettings

    settings = ObjectiveSettings()
    gen = torch.Generator().manual_seed(0)
    t = sample_times(20_000, settings, gen, torch.device("cpu"))
    logits = torch.logit(t.double())
    assert abs(float(logits.mean()) - 0.4) < 0.03 and abs(float(logits.std()) - 1.0) < 0.03
    s, end = sample_pair(20_000, settings, gen, torch.device("cpu"))
    assert bool((s <= end).all())
    # the larger of two logit-normal draws: its median is above a single draw's
    assert float(end.median()) > float(t.median()) > float(s.median())
    uniform = sample_times(20_000, ObjectiveSettings(time_sampling="uniform"), gen, t.device)
    assert abs(float(uniform.mean()) - 0.5) < 0.01


def test_distillation_runs_on_its_share_of_steps_and_is_scaled_up(model, mini_latents) -> None:
    from natiq.backends.pocket.objectives import LossModule
    from natiq.backends.pocket.recipe import ObjectiveSettings

    batch = _batch(model, mini_latents, ["بسم الله."])
    settings = ObjectiveSettings(learned_weighting=False)
    loss_module = LossModule(model.flow_lm, settings).train()
    with torch.no_grad():
        outs = [loss_module(batch, generator=torch.Generator().manual_seed(i)) for i in range(80)]
    with_distill = [out for out in outs if float(out.terms["distill"]) > 0]
    assert 10 <= len(with_distill) <= 30  # Binomial(80, 0.25): 20 +- 3.9
    # the total weighs the computed term by (1 - p_equal) / share, as reported
    out = with_distill[0]
    expected = 0.75 * out.terms["diag"] + 0.25 * out.terms["distill"] + 0.1 * out.terms["eos"]
    assert torch.allclose(out.total, expected)
    skipped = next(out for out in outs if float(out.terms["distill"]) == 0.0)
    assert torch.allclose(skipped.total, 0.75 * skipped.terms["diag"] + 0.1 * skipped.terms["eos"])
    # ... and the reported term is unbiased: its mean over steps is evaluation's (unscaled) term
    loss_module.eval()
    with torch.no_grad():
        evaluated = [
            float(loss_module(batch, generator=torch.Generator().manual_seed(i)).terms["distill"])
            for i in range(40)
        ]
    reported = sum(float(out.terms["distill"]) for out in outs) / len(outs)
    assert 0.6 < reported / (sum(evaluated) / len(evaluated)) < 1.6


def test_each_frame_gets_several_noise_draws() -> None:
    from pocket_tts.modules.mlp import SimpleMLPAdaLN

    from natiq.backends.pocket.objectives import head_losses
    from natiq.backends.pocket.recipe import ObjectiveSettings

    head = SimpleMLPAdaLN(8, 16, 8, 4, 1, num_time_conds=2)
    rows: list[int] = []
    head.register_forward_hook(lambda module, args, output: rows.append(output.shape[0]))
    settings = ObjectiveSettings(noise_draws=4, distill_every_prob=1.0)
    head_losses(head, torch.randn(5, 4), torch.randn(5, 8), settings=settings)
    assert rows == [2 * 20, 20]  # diagonal + distillation rows, then the teacher


def test_learned_weighting_starts_neutral_then_trains(model, mini_latents) -> None:
    from natiq.backends.pocket.objectives import LossModule
    from natiq.backends.pocket.recipe import ObjectiveSettings

    batch = _batch(model, mini_latents, ["بسم الله.", "العلم نور."])
    weighted = LossModule(model.flow_lm, ObjectiveSettings()).eval()
    plain = LossModule(model.flow_lm, ObjectiveSettings(learned_weighting=False)).eval()
    first = weighted(batch, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(
        first.total, plain(batch, generator=torch.Generator().manual_seed(4)).total
    )
    first.total.backward()
    assert all(p.grad is not None for p in weighted.objective_parameters())
    last = weighted.weighting.net[-1]
    assert float(last.bias.grad.abs()) > 0

    # a log-weight w turns a term into term * exp(w) - w
    with torch.no_grad():
        last.bias.fill_(0.5)
    out = weighted(batch, generator=torch.Generator().manual_seed(4))
    term = 0.75 * first.terms["diag"] + 0.25 * first.terms["distill"]
    expected = term * torch.exp(torch.tensor(0.5)) - 0.5 + 0.1 * out.terms["eos"]
    assert torch.allclose(out.total, expected, atol=1e-5)


def test_dropped_conditions_leave_exactly_the_null_condition_sequence(model, mini_latents) -> None:
    """Row 0 drops its text, row 1 its voice: each equals pocket-tts' streaming path fed the same."""
    from pocket_tts.modules.stateful_module import init_states

    from natiq.backends.pocket.forward import (
        normalize_latents,
        null_voice_prefix,
        teacher_forced_backbone,
        voice_prefix,
    )
    from natiq.backends.pocket.text_tokens import tokenize_model_text

    text = "العلم نور."
    batch = _batch(model, mini_latents, [text, text])
    flow_lm = model.flow_lm
    with torch.no_grad():
        out = teacher_forced_backbone(
            flow_lm,
            batch,
            keep_text=torch.tensor([False, True]),
            keep_voice=torch.tensor([True, False]),
        )
        ones = torch.ones(*out.cond.shape[:2], 1)
        one_step = flow_lm.flow_net(out.cond, 0 * ones, ones, torch.zeros(*out.cond.shape[:2], 32))

    model.temp, model.sampler_decode_steps = 0.0, 1
    prefixes = [voice_prefix(flow_lm, mini_latents[3][:12]), null_voice_prefix(flow_lm)]
    for row, prefix in enumerate(prefixes):
        state = init_states(flow_lm, batch_size=1, sequence_length=200)
        model._run_flow_lm_and_increment_step(model_state=state, audio_conditioning=prefix[None])
        if row == 1:  # row 0's text was dropped
            tokens = torch.tensor([tokenize_model_text(model, text)])
            model._run_flow_lm_and_increment_step(model_state=state, text_tokens=tokens)
        targets = normalize_latents(flow_lm, mini_latents[row])
        current = torch.full((1, 1, 32), float("nan"))
        for i in range(6):
            latent, _ = model._run_flow_lm_and_increment_step(
                model_state=state, backbone_input_latents=current
            )
            assert torch.allclose(latent[0, 0], one_step[row, i], atol=1e-4), (row, i)
            current = targets[i].reshape(1, 1, 32)
