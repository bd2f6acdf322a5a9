"""The teacher-forced training forward of Pocket TTS's FlowLM, and free-running generation.

Training must show the transformer exactly the sequence inference builds, or a
fine-tuned model stops cloning voices or stops at the wrong place. For each
utterance the sequence is

    [bos_before_voice] speaker_proj(prompt latents)   (voice prefix; bos_before_voice alone
                                                       when the row has no voice)
    text embeddings                                   (conditioner lookup; absent when dropped)
    input_linear(bos_emb), input_linear(x_0 .. x_{F-1})   (normalized target latents)

run through the transformer without a KV cache (one causal pass). The output
at the audio position ``i`` conditions the sampler head for frame ``x_i``
(``i < F``); the output after the last frame (``i = F``) must raise EOS.
Voice prompts enter raw (as ``TTSModel._encode_audio`` does), targets and
autoregressive inputs normalized by ``emb_mean``/``emb_std``.

Rows are packed from position 0 and right-padded: with a causal mask padding
only follows real positions, and RoPE positions within a row are exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from natiq.backends.pocket.batch import PocketBatch
from natiq.common.errors import DataFormatError


@dataclass
class BackboneOutput:
    """Per-audio-position outputs of the teacher-forced pass.

    ``cond``: [B, F+1, D] sampler-head conditions (position ``i`` predicts frame ``i``,
    position ``F_b`` of row ``b`` is its EOS position). ``eos_logits``: [B, F+1].
    ``frame_mask``: [B, F] True on real frames. ``eos_mask``: [B, F+1] True on
    positions ``0..F_b``. ``targets``: [B, F, 32] normalized target latents.
    """

    cond: torch.Tensor
    eos_logits: torch.Tensor
    frame_mask: torch.Tensor
    eos_mask: torch.Tensor
    targets: torch.Tensor


def normalize_latents(flow_lm: torch.nn.Module, latents: torch.Tensor) -> torch.Tensor:
    """Raw Mimi latents -> the space the FlowLM models (``(x - emb_mean) / emb_std``)."""
    return (latents - flow_lm.emb_mean) / flow_lm.emb_std


def denormalize_latents(flow_lm: torch.nn.Module, latents: torch.Tensor) -> torch.Tensor:
    """Inverse of ``normalize_latents``: what the Mimi decoder takes."""
    return latents * flow_lm.emb_std + flow_lm.emb_mean


def compute_latent_stats(
    latent_iter: Iterable[torch.Tensor], *, min_std: float = 1e-8
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std over every frame of ``latent_iter`` ([frames, D] or [B, frames, D]).

    Computed in float64 in one pass. Raises ``DataFormatError`` when there are no
    frames. A dimension whose std is below ``min_std`` gets ``min_std``.
    """
    total = None
    total_sq = None
    count = 0
    for item in latent_iter:
        flat = item.detach().reshape(-1, item.shape[-1]).to(torch.float64)
        if flat.shape[0] == 0:
            continue
        if total is None:
            total = torch.zeros(flat.shape[1], dtype=torch.float64)
            total_sq = torch.zeros_like(total)
        total += flat.sum(0).cpu()
        total_sq += (flat * flat).sum(0).cpu()
        count += flat.shape[0]
    if total is None or count == 0:
        raise DataFormatError("cannot compute latent statistics: no latent frames were given")
    mean = total / count
    var = (total_sq / count - mean * mean).clamp_min(0.0)
    std = var.sqrt().clamp_min(min_std)
    return mean.to(torch.float32), std.to(torch.float32)


def set_latent_stats(flow_lm: torch.nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
    """Write ``emb_mean``/``emb_std`` into the FlowLM (saved with its state_dict and export).

    Do this once, before training, for a randomly initialised base. A pretrained
    base keeps its own statistics: its transformer and head were trained in that
    normalized space, and the Mimi decoder denormalizes with them.
    """
    if mean.shape != flow_lm.emb_mean.shape or std.shape != flow_lm.emb_std.shape:
        raise ValueError(
            f"latent stats must have shape {tuple(flow_lm.emb_mean.shape)}, got "
            f"{tuple(mean.shape)} and {tuple(std.shape)}"
        )
    if not bool((std > 0).all()):
        raise ValueError("latent std must be positive in every dimension")
    with torch.no_grad():
        flow_lm.emb_mean.copy_(mean.to(flow_lm.emb_mean))
        flow_lm.emb_std.copy_(std.to(flow_lm.emb_std))


def voice_prefix(flow_lm: torch.nn.Module, prompt_latents: torch.Tensor) -> torch.Tensor:
    """[P, 32] raw prompt latents -> [P(+1), D] transformer inputs, as inference builds them."""
    prefix = F.linear(prompt_latents.to(torch.float32), flow_lm.speaker_proj_weight)
    if flow_lm.insert_bos_before_voice:
        prefix = torch.cat([flow_lm.bos_before_voice[0].to(prefix), prefix], dim=0)
    return prefix


def null_voice_prefix(flow_lm: torch.nn.Module) -> torch.Tensor:
    """[0 or 1, D]: what stands for "no voice": ``bos_before_voice`` alone (the null condition)."""
    if flow_lm.insert_bos_before_voice:
        return flow_lm.bos_before_voice[0]
    return flow_lm.bos_before_voice.new_zeros(0, flow_lm.bos_before_voice.shape[-1])


def teacher_forced_backbone(
    flow_lm: torch.nn.Module,
    batch: PocketBatch,
    *,
    keep_text: torch.Tensor | None = None,
    keep_voice: torch.Tensor | None = None,
) -> BackboneOutput:
    """One causal transformer pass over the whole batch (see the module docstring).

    ``keep_text`` / ``keep_voice`` ([B] bool, default all True) drop a row's text
    or voice prompt entirely (condition dropout). A row without a voice (none
    given, or dropped) starts with the null voice prefix, as the unconditioned
    branch of guided sampling builds it.
    """
    n_rows = flow_lm.conditioner.embed.num_embeddings
    if int(batch.text_tokens.max()) >= n_rows or int(batch.text_tokens.min()) < 0:
        raise DataFormatError(
            f"text token ids must be in [0, {n_rows - 1}] for this model's text embedding "
            f"(found {int(batch.text_tokens.min())}..{int(batch.text_tokens.max())}); was the text "
            "tokenized with another tokenizer?"
        )
    targets = normalize_latents(flow_lm, batch.latents.to(torch.float32))
    text_emb = flow_lm.conditioner(batch.text_tokens)
    bos = flow_lm.bos_emb.to(targets).expand(targets.shape[0], 1, -1)
    audio_in = flow_lm.input_linear(torch.cat([bos, targets], dim=1))

    rows: list[torch.Tensor] = []
    audio_starts: list[int] = []
    keep_text_rows = _row_flags(keep_text, batch.batch_size)
    keep_voice_rows = _row_flags(keep_voice, batch.batch_size)
    for b in range(batch.batch_size):
        pieces = []
        prompt_length = 0 if batch.prompt_lengths is None else int(batch.prompt_lengths[b])
        if prompt_length > 0 and keep_voice_rows[b]:
            pieces.append(voice_prefix(flow_lm, batch.prompt_latents[b, :prompt_length]))
        else:
            pieces.append(null_voice_prefix(flow_lm).to(text_emb))
        if keep_text_rows[b]:
            pieces.append(text_emb[b, : int(batch.text_lengths[b])])
        else:  # keeps the embedding in the graph (DDP needs every parameter used)
            pieces.append(text_emb[b, :0] + 0.0 * text_emb[b].sum())
        audio_starts.append(sum(piece.shape[0] for piece in pieces))
        pieces.append(audio_in[b, : int(batch.latent_lengths[b]) + 1])
        rows.append(torch.cat(pieces, dim=0))

    longest = max(row.shape[0] for row in rows)
    sequence = audio_in.new_zeros(len(rows), longest, audio_in.shape[-1])
    for b, row in enumerate(rows):
        sequence[b, : row.shape[0]] = row

    hidden = flow_lm.transformer(sequence, None)
    hidden = flow_lm.out_norm(hidden)
    n_pos = targets.shape[1] + 1
    index = torch.tensor(audio_starts, device=hidden.device)[:, None] + torch.arange(
        n_pos, device=hidden.device
    )
    index = index.clamp_max(longest - 1)
    cond = torch.gather(hidden, 1, index[..., None].expand(-1, -1, hidden.shape[-1]))
    if flow_lm.z_proj is not None:
        cond = flow_lm.z_proj(cond)
    cond = cond.to(torch.float32)
    eos_logits = flow_lm.out_eos(cond)[..., 0]

    positions = torch.arange(n_pos, device=hidden.device)[None, :]
    lengths = batch.latent_lengths.to(hidden.device)[:, None]
    return BackboneOutput(
        cond=cond,
        eos_logits=eos_logits,
        frame_mask=positions[:, :-1] < lengths,
        eos_mask=positions <= lengths,
        targets=targets,
    )


def _row_flags(flags: torch.Tensor | None, batch_size: int) -> list[bool]:
    if flags is None:
        return [True] * batch_size
    if flags.shape != (batch_size,):
        raise ValueError(f"condition flags must be [{batch_size}], got {tuple(flags.shape)}")
    return [bool(flag) for flag in flags.tolist()]


@torch.no_grad()
def free_run_latents(
    tts_model: torch.nn.Module,
    text_tokens: torch.Tensor,
    num_frames: int,
    *,
    prompt_latents: torch.Tensor | None = None,
    temp: float = 0.0,
    decode_steps: int = 1,
) -> torch.Tensor:
    """Generate ``num_frames`` normalized latents with pocket-tts's own streaming path.

    Uses the model's KV-cached ``_run_flow_lm_and_increment_step`` and its
    sampler decoder (LSD / flow matching per the head's type), feeding each
    generated frame back, exactly as ``TTSModel.generate_audio`` does, but for a
    fixed number of frames and ignoring EOS. ``text_tokens``: [T] ids;
    ``prompt_latents``: [P, 32] raw latents, or None for the null voice prefix
    (what training shows rows without a voice). Returns [num_frames, 32].
    """
    from pocket_tts.modules.stateful_module import init_states

    flow_lm = tts_model.flow_lm
    device = flow_lm.bos_emb.device
    if prompt_latents is not None and prompt_latents.shape[0] > 0:
        prefix = voice_prefix(flow_lm, prompt_latents.to(device))[None]
    else:
        prefix = null_voice_prefix(flow_lm)[None]
        prefix = None if prefix.shape[1] == 0 else prefix
    capacity = (0 if prefix is None else prefix.shape[1]) + text_tokens.numel() + num_frames + 1
    state = init_states(flow_lm, batch_size=1, sequence_length=capacity)
    saved = (tts_model.temp, tts_model.sampler_decode_steps, tts_model.eos_threshold)
    tts_model.temp, tts_model.sampler_decode_steps = temp, decode_steps
    tts_model.eos_threshold = float("inf")
    try:
        if prefix is not None:
            tts_model._run_flow_lm_and_increment_step(model_state=state, audio_conditioning=prefix)
        tts_model._run_flow_lm_and_increment_step(
            model_state=state, text_tokens=text_tokens.reshape(1, -1).to(device)
        )
        current = torch.full((1, 1, flow_lm.ldim), float("nan"), device=device)
        frames = []
        for _ in range(num_frames):
            current, _ = tts_model._run_flow_lm_and_increment_step(
                model_state=state, backbone_input_latents=current
            )
            frames.append(current[0, 0])
    finally:
        tts_model.temp, tts_model.sampler_decode_steps, tts_model.eos_threshold = saved
    return torch.stack(frames)
