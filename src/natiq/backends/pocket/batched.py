"""One generation loop that concurrent Pocket streams join: N streams, one read of the weights per frame.

At batch 1 a CPU spends a FlowLM frame mostly reading ~90M weights; stepping
N streams together reads them once. ``BatchedGeneration`` keeps *rows*, one
per stream, and steps them all per frame. A stream's life, per pocket-tts
text chunk (``plan_segments``: the chunks, stop rule and length cap of
``generate_audio_stream``):

1. **Slot.** It waits for one of ``max_batch`` slots. Interactive streams go
   first; when all slots are taken and one waits, a batch item's row is
   *parked* at the next frame (its FlowLM and Mimi states set aside) and
   resumes later exactly where it stopped.
2. **Warm start, on the caller's thread.** The text prompt runs through
   pocket-tts's own FlowLM modules on a batch-1 copy of the voice state
   (the prefill), then the chunk's first frame is generated and decoded,
   and its audio is yielded at once. Meanwhile, for an interactive stream,
   the loop stays between frames and the decoders between calls (its first
   chunk gets the CPU; the rows' frames wait, then decode together); for a
   batch item they go on.
3. **Rows.** The stream's states join the rows at the next frame. The flow
   thread steps every row per frame: one FlowLM pass over ``[n, 1, d]`` with
   per-row positions (``row_attention``), per-row EOS, noise drawn from each
   stream's own generator (seeded as ``torch.manual_seed(seed)`` seeds the
   stock path), one flow-head decode; each row stops on its own rule (EOS +
   frames after EOS, its length cap, its stop event); the FlowLM's products
   take MKL-packed weights (``packed_linear``). One decoder thread per core
   left (at most two, ``default_decoder_threads``) each owns its share of the
   rows' Mimi states and decodes their latents of a frame (frames queued
   meanwhile in one call); audio goes to the stream's queue.

Each stream's audio equals pocket-tts's ``generate_audio_stream`` for the same
voice, text and seed, up to float rounding of batched matrix products (the
unit tests pin it). What it cannot do: a frame of one stream waits for the
step of all rows, so time per frame grows with the batch; Mimi decoding is
compute-bound, its cost grows nearly linearly with the rows; and even with
packed weights the FlowLM step at 8 rows costs about 1.7x one row, not 1x
(docs/serving.md has the figures).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import torch

from natiq.backends.pocket.packed_linear import PackedLinears
from natiq.backends.pocket.row_attention import KVRows, attention_layers, transformer_rows
from natiq.common.errors import ModelLoadError, OptionError

# Mimi decodes at most this many queued frames per call (sets its ring of attention slots).
DECODE_FRAMES_PER_CALL = 4
# Decoder threads at most; by default one core is left to the flow thread (see default_decoder_threads).
DECODER_THREADS = 2
# The FlowLM's weights are packed for products of this many rows at most (larger batches go in chunks).
PACKED_ROWS = 8
_CLOSED = object()  # ends a decoder thread


@dataclass(frozen=True)
class Segment:
    """One pocket-tts text chunk, ready to generate."""

    tokens: torch.Tensor  # [1, T]
    max_frames: int
    frames_after_eos: int


def plan_segments(model: Any, model_text: str) -> list[Segment]:
    """The chunks, stop rule and length cap that ``generate_audio_stream`` would use for ``model_text``."""
    from pocket_tts.default_parameters import MAX_TOKEN_PER_CHUNK
    from pocket_tts.models.text_chunking import prepare_text_prompt, split_into_best_sentences

    settings = dict(
        remove_semicolons=model.remove_semicolons,
        append_terminal_punctuation=model.append_terminal_punctuation,
        capitalize_first_letter=model.capitalize_first_letter,
        replace_characters=model.replace_characters,
    )
    chunks = split_into_best_sentences(
        model.flow_lm.conditioner.tokenizer,
        model_text,
        MAX_TOKEN_PER_CHUNK,
        model.pad_with_spaces_for_short_inputs,
        **settings,
    )
    segments = []
    for chunk in chunks:
        text, guess = prepare_text_prompt(chunk, model.pad_with_spaces_for_short_inputs, **settings)
        recommended = model.model_recommended_frames_after_eos
        tokens = model.flow_lm.conditioner.prepare(text)
        segments.append(
            Segment(
                tokens=tokens,
                max_frames=model._estimate_max_gen_len(tokens.shape[1]),
                frames_after_eos=recommended if recommended is not None else guess + 2,
            )
        )
    return segments


def prompt_state(model: Any, voice: dict, tokens: torch.Tensor) -> dict:
    """A batch-1 copy of ``voice`` with ``tokens`` run through the FlowLM (pocket-tts's own modules)."""
    from pocket_tts.modules.stateful_module import increment_steps

    flow_lm = model.flow_lm
    extra = tokens.shape[1]
    state: dict = {}
    for name, module_state in voice.items():
        if "cache" in module_state:
            cache = module_state["cache"]
            used = int(module_state["offset"].view(-1)[0])
            grown = torch.zeros(
                (cache.shape[0], cache.shape[1], used + extra, *cache.shape[3:]),
                dtype=cache.dtype,
                device=cache.device,
            )
            grown[:, :, :used] = cache[:, :, :used]
            state[name] = {k: v.clone() for k, v in module_state.items() if k != "cache"}
            state[name]["cache"] = grown
        else:
            state[name] = copy.deepcopy(module_state)
    device = flow_lm.bos_emb.device
    empty_latents = torch.empty((1, 0, flow_lm.ldim), dtype=flow_lm.bos_emb.dtype, device=device)
    empty_input = flow_lm.input_linear(empty_latents)
    flow_lm.backbone(empty_input, flow_lm.conditioner(tokens), empty_latents, model_state=state)
    increment_steps(flow_lm, state, increment=extra)
    return state


def relayout_linear_weights(module: torch.nn.Module) -> int:
    """Store each ``nn.Linear`` weight of ``module`` transposed in memory (same values and shape).

    With ``[in, out]`` storage, MKL multiplies a few rows by the weight
    through a kernel that reads it about 1.2-1.4x faster at 4-8 rows than
    the default ``[out, in]`` storage (measured here, 1 thread), and as fast
    at 1 row. Returns the number of weights changed. A model relaid this way
    must be made contiguous again before ``safetensors`` can save it.
    """
    changed = 0
    for child in module.modules():
        if type(child) is torch.nn.Linear and child.weight.is_contiguous():
            child.weight.data = child.weight.data.t().contiguous().t()
            changed += 1
    return changed


@dataclass(eq=False)
class _Stream:
    """One caller's synthesis: its voice, sampling, priority and where its current chunk stands."""

    voice: dict
    generator: torch.Generator
    temperature: float
    interactive: bool
    stop: threading.Event  # the caller's: read, never set here
    order: int
    cancel: threading.Event = field(default_factory=threading.Event)  # ours: the stream left
    out: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    segment: Segment | None = None
    granted: bool = False  # holds one of the loop's slots
    joined: bool = False  # its row is in the loop (which gives the slot back when it leaves)
    saved: dict | None = None  # flow (and, on a warm start, Mimi) state waiting to join the rows
    decoder: int = 0
    asked: int = 0  # the loop's step count when it last asked for a slot
    frame: int = 0
    eos_frame: int | None = None
    latent: torch.Tensor | None = None  # the last emitted latent [ldim]; None: BOS

    def stopped(self) -> bool:
        return self.stop.is_set() or self.cancel.is_set()

    def start(self, segment: Segment) -> None:
        self.segment, self.saved = segment, None
        self.frame, self.eos_frame, self.latent = 0, None, None


@dataclass
class LoopStats:
    """What the loop did (for tests, the benchmark and metrics)."""

    steps: int = 0
    row_frames: int = 0
    max_rows: int = 0
    joins: int = 0
    parks: int = 0
    # the most steps an interactive stream waited for a slot (asked, then granted): 0 or 1
    # (the step in progress when it asked) unless every row is interactive
    max_interactive_wait: int = 0

    @property
    def mean_rows(self) -> float:
        return self.row_frames / self.steps if self.steps else 0.0


class _Op(NamedTuple):
    """A row change for the decoders: ``kind`` (fresh, join, resume, park, end, drop) of ``stream``.

    ``decoder`` is the decoder that owns the stream's Mimi state *for this
    change*, fixed when the change is made: a decoder may read it frames
    later, when the stream's next chunk may already belong to another one.
    """

    kind: str
    stream: Any
    payload: Any
    decoder: int


@dataclass
class _Frame:
    """One flow step for the decoders: row changes before it, one latent per row, row changes after.

    ``emitted[i]`` is False for a row whose latent the stop rule dropped (its
    chunk ended at this step; the decoder skips that audio).
    """

    before: list[_Op]
    rows: list[_Stream]
    latents: torch.Tensor | None  # [n, ldim]
    emitted: list[bool]
    after: list[_Op]


def _noise(
    shape: tuple[int, ...], std: float, clamp: float | None, generator: torch.Generator
) -> torch.Tensor:
    """The flow head's starting noise, drawn as pocket-tts draws it (``normal_`` / ``trunc_normal_``)."""
    noise = torch.empty(shape, dtype=torch.float32)
    if clamp is None:
        return noise.normal_(0.0, std, generator=generator)
    return torch.nn.init.trunc_normal_(noise, 0.0, std, -clamp, clamp, generator=generator)


class FlowRows:
    """The FlowLM side: rows and their KV caches, and one step for all rows.

    The loop has one; a warm start makes a private one for a single row.
    Every row change is recorded in ``ops`` for the decoders.
    """

    def __init__(self, model: Any) -> None:
        from pocket_tts.models import flow_lm as flow_module

        self.model = model
        self.flow_lm = model.flow_lm
        attentions = attention_layers(self.flow_lm.transformer)
        self.names = [attn._module_absolute_name for attn in attentions]
        if any(name is None for name in self.names):
            raise ModelLoadError(
                "the Pocket model's streaming modules have no state names; load it with "
                "TTSModel.load_model or natiq's loaders (they stamp them)"
            )
        self.bank = KVRows(attentions, ring=False, capacity=64, device=self.flow_lm.bos_emb.device)
        decoders = {
            "lsd": flow_module.lsd_decode,
            "flow_matching": flow_module.ot_decode,
            "drifting": flow_module.drifting_decode,
            "pointwise": flow_module.pointwise_decode,
        }
        if self.flow_lm.flow_type not in decoders:
            raise ModelLoadError(f"unknown flow head type {self.flow_lm.flow_type!r}")
        self.decode = decoders[self.flow_lm.flow_type]
        self.min_frames_before_eos = int(type(model)._MIN_FRAMES_BEFORE_EOS)
        self.rows: list[_Stream] = []
        self.ops: list[_Op] = []
        self.stats = LoopStats()

    # ----- row changes
    def add_prompt(self, stream: _Stream, prompt: dict) -> None:
        """A new row from ``prompt_state``'s result (a warm start's private bank)."""
        segment = stream.segment
        assert segment is not None
        length = int(prompt[self.names[0]]["offset"].view(-1)[0])
        caches = [prompt[name]["cache"][:, 0, :length] for name in self.names]
        self.bank.append_prefix(caches, length, need=length + segment.max_frames + 1)
        self.rows.append(stream)
        self.ops.append(_Op("fresh", stream, None, stream.decoder))

    def add_saved(self, stream: _Stream) -> None:
        """A row from a warm start (flow and Mimi states) or a park (flow state; Mimi's stayed parked)."""
        segment, saved = stream.segment, stream.saved
        assert segment is not None and saved is not None
        stream.saved = None
        need = saved["flow"]["length"] + segment.max_frames - stream.frame + 1
        self.bank.restore(saved["flow"], need)
        self.rows.append(stream)
        if "mimi" in saved:
            self.ops.append(_Op("join", stream, saved["mimi"], stream.decoder))
        else:
            self.ops.append(_Op("resume", stream, None, stream.decoder))
        self.stats.joins += 1

    def leave(self, stream: _Stream, *, park: bool = False) -> None:
        row = self.rows.index(stream)
        if park:
            stream.saved = {"flow": self.bank.take(row)}
            self.stats.parks += 1
        self.bank.remove(row)
        last = self.rows.pop()
        if last is not stream:
            self.rows[row] = last
        self.ops.append(_Op("park" if park else "end", stream, None, stream.decoder))

    # ----- one frame for every row
    @torch.no_grad()
    def step(self) -> _Frame:
        for stream in [s for s in self.rows if s.stopped()]:
            self.leave(stream)
        before, self.ops = self.ops, []
        rows = list(self.rows)
        latents, emitted = None, []
        if rows:
            latents, eos = self._forward(rows)
            self.stats.steps += 1
            self.stats.row_frames += len(rows)
            self.stats.max_rows = max(self.stats.max_rows, len(rows))
            emitted = self._advance(rows, latents, eos)
        after, self.ops = self.ops, []
        return _Frame(before=before, rows=rows, latents=latents, emitted=emitted, after=after)

    def _forward(self, rows: list[_Stream]) -> tuple[torch.Tensor, torch.Tensor]:
        flow_lm = self.flow_lm
        ldim = flow_lm.ldim
        nan = torch.full((ldim,), float("nan"))
        sequence = torch.stack([s.latent if s.latent is not None else nan for s in rows])
        sequence = sequence.to(flow_lm.bos_emb)[:, None, :]
        sequence = torch.where(torch.isnan(sequence), flow_lm.bos_emb, sequence)
        hidden = transformer_rows(flow_lm.transformer, flow_lm.input_linear(sequence), self.bank)
        if flow_lm.out_norm:
            hidden = flow_lm.out_norm(hidden)
        if flow_lm.z_proj is not None:
            hidden = flow_lm.z_proj(hidden)
        hidden = hidden.to(torch.float32)[:, -1]
        eos = (flow_lm.out_eos(hidden) > self.model.eos_threshold).view(-1)
        clamp = self.model.noise_clamp
        noise = torch.stack(
            [_noise((ldim,), s.temperature**0.5, clamp, s.generator) for s in rows]
        ).to(hidden.device)
        latents = self.decode(
            partial(flow_lm.flow_net, hidden), noise, self.model.sampler_decode_steps
        )
        return latents, eos

    def _advance(self, rows: list[_Stream], latents: torch.Tensor, eos: torch.Tensor) -> list[bool]:
        """Apply pocket-tts's stop rule to each row; returns which rows emit their latent."""
        emitted = []
        flags = eos.tolist()
        for index, stream in enumerate(rows):
            segment = stream.segment
            assert segment is not None
            step = stream.frame
            if flags[index] and stream.eos_frame is None and step >= self.min_frames_before_eos:
                stream.eos_frame = step
            if stream.eos_frame is not None and step >= stream.eos_frame + segment.frames_after_eos:
                emitted.append(False)
                continue
            emitted.append(True)
            stream.latent = latents[index].detach().to("cpu")
            stream.frame += 1
        for stream, emit in zip(rows, emitted, strict=True):
            if not emit or stream.frame >= stream.segment.max_frames:
                self.leave(stream)
        return emitted


class MimiRows:
    """One decoder's side: the Mimi streaming state of each row it owns.

    It keeps its own row order and picks its rows' latents out of each frame
    by stream; ``apply`` takes the flow side's row changes that concern it.
    """

    def __init__(self, model: Any) -> None:
        from pocket_tts.modules.attention import StreamingMultiheadAttention
        from pocket_tts.modules.stateful_module import StatefulModule

        self.mimi = model.mimi
        self.flow_lm = model.flow_lm
        projected = self.mimi.decoder_transformer
        attentions = attention_layers(projected.transformer)
        steps_per_latent = int(self.mimi.encoder_frame_rate / self.mimi.frame_rate)
        context = attentions[0].context
        if context is None:
            raise ModelLoadError(
                "batched decoding needs Mimi's decoder transformer to have a context"
            )
        self.bank = KVRows(
            attentions,
            ring=True,
            capacity=context + steps_per_latent * DECODE_FRAMES_PER_CALL,
            device=self.flow_lm.bos_emb.device,
        )
        self.convs: dict[str, Any] = {}
        parts = [self.mimi.decoder]
        if getattr(self.mimi, "upsample", None) is not None:
            parts.append(self.mimi.upsample)
        for part in parts:
            for module in part.modules():
                if isinstance(module, StatefulModule) and not isinstance(
                    module, StreamingMultiheadAttention
                ):
                    if module._module_absolute_name is None:
                        raise ModelLoadError("Mimi's streaming modules have no state names")
                    self.convs[module._module_absolute_name] = module
        self.state: dict[str, dict[str, torch.Tensor]] = {
            name: {k: v[:0] for k, v in module.init_state(1, 0).items()}
            for name, module in self.convs.items()
        }
        self.rows: list[_Stream] = []
        self.fade: set[int] = set()
        self.parked: dict[int, dict[str, Any]] = {}
        fade_samples = int(model.config.mimi.sample_rate) // 200
        self.fade_in = torch.linspace(0, 1, fade_samples)

    # ----- rows
    def _add(self, stream: _Stream, saved: dict[str, Any] | None) -> None:
        if saved is None:  # a chunk's first frame: a fresh decoder, faded in
            self.bank.append_empty()
            convs = {name: module.init_state(1, 0) for name, module in self.convs.items()}
            self.fade.add(id(stream))
        else:
            self.bank.restore(saved["kv"], need=0)
            convs = saved["convs"]
        for name, parts in convs.items():
            for key, value in parts.items():
                self.state[name][key] = torch.cat([self.state[name][key], value])
        self.rows.append(stream)

    def take(self, stream: _Stream, *, copy: bool = True) -> dict[str, Any]:
        row = self.rows.index(stream)

        def own(tensor: torch.Tensor) -> torch.Tensor:
            return tensor.clone() if copy else tensor

        return {
            "kv": self.bank.take(row, copy=copy),
            "convs": {
                name: {k: own(v[row : row + 1]) for k, v in parts.items()}
                for name, parts in self.state.items()
            },
        }

    def _remove(self, stream: _Stream) -> None:
        row = self.rows.index(stream)
        self.bank.remove(row)
        last = len(self.rows) - 1
        order = list(range(last))
        if row != last:
            order[row] = last
        index = torch.tensor(order, dtype=torch.long)
        for parts in self.state.values():
            for key in parts:
                parts[key] = parts[key].index_select(0, index)
        moved = self.rows.pop()
        if moved is not stream:
            self.rows[row] = moved
        self.fade.discard(id(stream))

    def apply(self, ops: list[_Op], decoder: int | None = None) -> list[_Stream]:
        """Apply the row changes meant for ``decoder`` (all if None); returns the streams whose chunk ended."""
        ended = []
        for kind, stream, payload, owner in ops:
            if decoder is not None and owner != decoder:
                continue
            if kind == "fresh":
                self._add(stream, None)
            elif kind == "join":
                self._add(stream, payload)
            elif kind == "resume":
                self._add(stream, self.parked.pop(id(stream)))
            elif kind == "park":
                self.parked[id(stream)] = self.take(stream)
                self._remove(stream)
            elif kind == "drop":  # a parked stream stopped while it waited
                self.parked.pop(id(stream), None)
                ended.append(stream)
            else:  # "end"
                self._remove(stream)
                ended.append(stream)
        return ended

    # ----- decode
    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """``latents`` ``[n, k, ldim]``, one row per stream of ``rows`` -> audio ``[n, samples]``."""
        mimi = self.mimi
        x = latents.to(self.flow_lm.emb_std) * self.flow_lm.emb_std + self.flow_lm.emb_mean
        x = mimi.quantizer(x.transpose(-1, -2))
        if mimi.encoder_frame_rate != mimi.frame_rate:
            x = mimi.upsample(x, self.state)
        projected = mimi.decoder_transformer
        x = x.transpose(1, 2)
        if projected.input_proj is not None:
            x = projected.input_proj(x)
        x = transformer_rows(projected.transformer, x, self.bank)
        x = projected.output_projs[0](x).transpose(1, 2)
        audio = mimi.decoder(x, self.state)[:, 0]
        if self.fade:
            n = min(self.fade_in.numel(), audio.shape[-1])
            for index, stream in enumerate(self.rows):
                if id(stream) in self.fade:
                    audio[index, :n] *= self.fade_in[:n].to(audio)
            self.fade.clear()
        return audio


def default_decoder_threads() -> int:
    """One decoder thread per CPU core left after the flow thread's, from 1 to ``DECODER_THREADS``.

    Each thread runs its products at one torch thread. On 2 cores, two
    decoder threads beside the flow thread oversubscribe them: measured here
    (8 streams, 16 requests of 8.4 s), 16.2 s wall and 29.5 s CPU with two,
    13.3 s and 25.5 s with one (the FlowLM step, the critical path, took 71
    ms instead of 57 when it shared its core).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(DECODER_THREADS, cpus - 1))


class BatchedGeneration:
    """The shared loop: ``stream()`` from any number of threads; at most ``max_batch`` rows step together.

    Slot bookkeeping (``_taken``, ``_Stream.granted``/``joined``, the
    waiting and ready lists) changes only under ``_cond``; the rows
    themselves only on the flow thread.
    """

    def __init__(self, model: Any, *, max_batch: int, decoder_threads: int | None = None) -> None:
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise OptionError(f"max_batch must be a whole number >= 1, got {max_batch!r}")
        if decoder_threads is None:
            decoder_threads = default_decoder_threads()
        if decoder_threads < 1:
            raise OptionError(f"decoder_threads must be >= 1, got {decoder_threads!r}")
        self.model = model
        self.max_batch = max_batch
        relayout_linear_weights(model.flow_lm)
        self.packed = PackedLinears(model.flow_lm, min(max_batch, PACKED_ROWS))
        self.flow = FlowRows(model)
        self.decoders = [MimiRows(model) for _ in range(min(decoder_threads, max_batch))]
        self._cond = threading.Condition()
        self._waiting: list[_Stream] = []  # for a slot, or (parked) to resume
        self._ready: list[_Stream] = []  # warm-started, to join at the next frame
        self._taken = 0  # slots held: rows, warm starts, joins pending
        self._warming = 0  # interactive warm starts in progress: no step meanwhile
        self._held = 0
        self._owned = [0] * len(self.decoders)
        self._queues: list[queue.SimpleQueue[Any]] = [queue.SimpleQueue() for _ in self.decoders]
        self._order = itertools.count()
        self._closed = False
        self._threads: list[threading.Thread] = []

    @property
    def stats(self) -> LoopStats:
        return self.flow.stats

    # ----- the caller's side
    def stream(
        self,
        model_text: str,
        voice: dict,
        *,
        temperature: float | None = None,
        seed: int | None = None,
        interactive: bool = True,
        stop: threading.Event | None = None,
    ) -> Iterator[np.ndarray]:
        """Float32 chunks of ``model_text`` in ``voice``; set ``stop`` (or close the iterator) to leave."""
        self._start_threads()
        handle = self._open(voice, temperature, seed, interactive, stop)
        try:
            with torch.no_grad():
                segments = plan_segments(self.model, model_text)
            for segment in segments:
                if not self._reserve(handle):
                    return
                first, running = self._warm_start(handle, segment)
                if first is not None:
                    yield first
                if not running:
                    self._release(handle)
                    if handle.stopped():
                        return
                    continue
                while True:
                    kind, item = handle.out.get()
                    if kind == "audio":
                        yield item
                    elif kind == "end":
                        break
                    else:
                        raise item
                if handle.stopped():
                    return
        finally:
            handle.cancel.set()
            self._release(handle)

    def _open(
        self,
        voice: dict,
        temperature: float | None,
        seed: int | None,
        interactive: bool,
        stop: threading.Event | None,
    ) -> _Stream:
        generator = torch.Generator()
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        generator.manual_seed(int(seed))
        return _Stream(
            voice=voice,
            generator=generator,
            temperature=float(self.model.temp if temperature is None else temperature),
            interactive=interactive,
            stop=stop if stop is not None else threading.Event(),
            order=next(self._order),
        )

    def _reserve(self, handle: _Stream) -> bool:
        """Wait for a slot (the flow thread grants them); False if the stream was stopped meanwhile."""
        with self._cond:
            handle.asked = self.flow.stats.steps
            ahead = [s for s in self._waiting if s.interactive or not handle.interactive]
            if self._taken < self.max_batch and not ahead and not handle.stopped():
                self._taken += 1  # a free slot and nobody before us: no need to wait for a frame
                handle.granted = True
                if handle.interactive:
                    self._warming += 1
            else:
                self._waiting.append(handle)
                self._cond.notify_all()
            while not handle.granted and not handle.stopped() and not self._closed:
                self._cond.wait(timeout=0.1)  # a stop set by someone else is seen too
            if not handle.granted:
                if handle in self._waiting:  # (the flow thread drops stopped ones too)
                    self._waiting.remove(handle)
                if self._closed:
                    raise RuntimeError("the Pocket generation loop was closed")
                return False
            return True  # (an interactive grant counted its warm start in ``_warming``)

    def _release(self, handle: _Stream) -> None:
        """Give the slot back unless the rows hold it (they give it back when the row leaves)."""
        with self._cond:
            if handle.granted and not handle.joined and handle not in self._ready:
                handle.granted = False
                self._taken -= 1
            self._cond.notify_all()

    @torch.no_grad()
    def _warm_start(self, handle: _Stream, segment: Segment) -> tuple[np.ndarray | None, bool]:
        """Prefill and the first frame, decoded, on this thread; queue the states to join the rows.

        Returns the first audio (None if there is none) and whether the chunk
        goes on in the rows.
        """
        try:
            prompt = prompt_state(self.model, handle.voice, segment.tokens)
            # pocket-tts samples (and discards) a latent after the text prompt: keep the sequence in step.
            clamp = self.model.noise_clamp
            _noise((self.model.flow_lm.ldim,), handle.temperature**0.5, clamp, handle.generator)
            handle.start(segment)
            flow = FlowRows(self.model)
            flow.add_prompt(handle, prompt)
            del prompt
            frame = flow.step()
            audio = None
            if frame.rows and frame.emitted[0]:
                mimi = MimiRows(self.model)
                mimi.apply(frame.before)
                audio = mimi.decode(frame.latents[:, None]).to("cpu", torch.float32).numpy()[0]
            running = bool(frame.rows) and not frame.after and not handle.stopped()
            if running:
                handle.saved = {
                    "flow": flow.bank.take(0, copy=False),
                    "mimi": mimi.take(handle, copy=False),
                }
                with self._cond:
                    self._ready.append(handle)
        finally:
            with self._cond:
                if handle.interactive:
                    self._warming -= 1
                self._cond.notify_all()
        return audio, running

    # ----- the flow thread: admission between frames, then one step
    def _grantable(self) -> bool:
        """Whether ``admit`` has something to do (so the flow thread does not spin)."""
        if self._ready or any(s.stopped() for s in self._waiting):
            return True
        if not self._waiting:
            return False
        if self._taken < self.max_batch:
            return True
        waiting_interactive = any(s.interactive for s in self._waiting)
        return waiting_interactive and any(not s.interactive for s in self.flow.rows)

    def _can_step(self) -> bool:
        return bool(self.flow.rows) and self._warming == 0 and self._held == 0

    def admit(self) -> None:
        """Grant free slots (interactive first, parking a batch row for one if needed); join ready rows."""
        with self._cond:
            for handle in [s for s in self._waiting if s.stopped()]:
                self._waiting.remove(handle)
                if handle.saved is not None:  # parked: its decoder holds its Mimi state
                    handle.saved = None
                    self.flow.ops.append(_Op("drop", handle, None, handle.decoder))
            while self._waiting:
                nxt = min(self._waiting, key=lambda s: (not s.interactive, s.order))
                if self._taken >= self.max_batch:
                    batch_rows = [s for s in self.flow.rows if not s.interactive]
                    if not (nxt.interactive and batch_rows):
                        break
                    victim = max(batch_rows, key=lambda s: s.order)
                    self.flow.leave(victim, park=True)
                    self._gone(victim)
                    self._waiting.append(victim)
                self._waiting.remove(nxt)
                self._taken += 1
                nxt.granted = True
                if nxt.saved is not None:  # parked: resume where it stopped
                    self._join(nxt)
                elif nxt.interactive:  # no step until its warm start is done (set here, not
                    self._warming += 1  # when its thread wakes: no frame slips in meanwhile)
                    stats = self.flow.stats
                    waited = stats.steps - nxt.asked
                    stats.max_interactive_wait = max(stats.max_interactive_wait, waited)
            for handle in self._ready:
                handle.decoder = min(range(len(self.decoders)), key=lambda d: self._owned[d])
                self._join(handle)
            self._ready = []
            self._cond.notify_all()

    def _join(self, handle: _Stream) -> None:
        self.flow.add_saved(handle)
        handle.joined = True
        self._owned[handle.decoder] += 1

    def _gone(self, handle: _Stream) -> None:
        """A row left (ended, stopped or parked): its slot is free again."""
        handle.joined = handle.granted = False
        self._owned[handle.decoder] -= 1
        self._taken -= 1

    def _step(self) -> _Frame:
        rows = list(self.flow.rows)
        frame = self.flow.step()
        gone = [s for s in rows if s not in self.flow.rows]
        if gone:
            with self._cond:
                for handle in gone:
                    self._gone(handle)
                self._cond.notify_all()
        return frame

    def _flow_loop(self) -> None:
        with self.packed.active():  # the rows' products; warm starts on other threads stay stock
            self._flow_frames()

    def _flow_frames(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._can_step() and not self._grantable():
                    self._cond.wait(timeout=0.1)  # stop events set by others are seen too
                if self._closed:
                    break
            try:
                self.admit()
                with self._cond:
                    can_step = self._can_step()
                frame = self._step() if can_step else None
            except Exception as exc:  # every stream in the batch gets the error; the loop goes on
                frame = self._fail_all(exc)
            if frame is None and self.flow.ops:
                frame = _Frame(before=self.flow.ops, rows=[], latents=None, emitted=[], after=[])
                self.flow.ops = []
            if frame is not None:
                self._dispatch(frame)
        self._dispatch(self._fail_all(RuntimeError("the Pocket generation loop was closed")))
        for frames in self._queues:
            frames.put(_CLOSED)

    def _fail_all(self, exc: BaseException) -> _Frame:
        with self._cond:
            for stream in self.flow.rows + self._ready:
                stream.out.put(("error", exc))
                stream.cancel.set()
            for stream in self._ready:
                stream.granted = False
                self._taken -= 1
            self._ready = []
            for stream in list(self.flow.rows):
                self.flow.leave(stream)
                self._gone(stream)
            self._cond.notify_all()
        frame = _Frame(before=self.flow.ops, rows=[], latents=None, emitted=[], after=[])
        self.flow.ops = []
        return frame

    # ----- threads
    def _start_threads(self) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the Pocket generation loop was closed")
            if self._threads:
                return
            self._threads = [
                threading.Thread(target=self._flow_loop, name="natiq-pocket-flow", daemon=True)
            ] + [
                threading.Thread(
                    target=self._decode_loop, args=(d,), name=f"natiq-pocket-mimi{d}", daemon=True
                )
                for d in range(len(self.decoders))
            ]
            for thread in self._threads:
                thread.start()

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the threads (waiting up to ``timeout`` for each); streams still running get an error."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No step while inside (slots are still granted and ready rows still join): for tests."""
        with self._cond:
            self._held += 1
        try:
            yield
        finally:
            with self._cond:
                self._held -= 1
                self._cond.notify_all()

    def _dispatch(self, frame: _Frame) -> None:
        for frames in self._queues:
            frames.put(frame)

    def _decode_loop(self, d: int) -> None:
        frames_queue = self._queues[d]
        carry: Any = None
        while True:
            frame = carry if carry is not None else frames_queue.get()
            carry = None
            if frame is _CLOSED:
                return
            self._yield_to_warm_starts()
            frames = [frame]
            # Frames queued while Mimi worked go in one call, as long as no row changes between them.
            while len(frames) < DECODE_FRAMES_PER_CALL and not frames[-1].after:
                try:
                    nxt = frames_queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _CLOSED or nxt.before or nxt.rows != frames[-1].rows:
                    carry = nxt
                    break
                frames.append(nxt)
            try:
                self._decode(d, frames)
            except Exception as exc:  # a bug: fail this decoder's streams rather than hang them
                self._fail_decoder(d, frames, exc)

    def _yield_to_warm_starts(self) -> None:
        """Wait while an interactive stream warms up: its first chunk gets the CPU before our rows.

        The rows' frames wait in the queue meanwhile and are decoded together
        afterwards (up to ``DECODE_FRAMES_PER_CALL`` per call).
        """
        with self._cond:
            while self._warming and not self._closed:
                self._cond.wait(timeout=0.1)

    def _fail_decoder(self, d: int, frames: list[_Frame], exc: Exception) -> None:
        """Give ``exc`` to every stream decoder ``d`` serves and start it afresh."""
        mimi = self.decoders[d]
        streams = {id(s): s for s in mimi.rows}
        for frame in frames:
            for op in frame.before + frame.after:
                if op.decoder == d:
                    streams[id(op.stream)] = op.stream
        for stream in streams.values():
            stream.cancel.set()
            stream.out.put(("error", exc))
        self.decoders[d] = MimiRows(self.model)

    def _decode(self, d: int, frames: list[_Frame]) -> None:
        """Decoder ``d``'s rows of consecutive frames (row changes only before the first, after the last)."""
        mimi = self.decoders[d]

        ended = mimi.apply(frames[0].before, d)
        if mimi.rows and frames[0].rows:
            where = {id(s): i for i, s in enumerate(frames[0].rows)}
            index = torch.tensor([where[id(s)] for s in mimi.rows], dtype=torch.long)
            latents = torch.stack([f.latents.index_select(0, index) for f in frames], dim=1)
            rows = list(mimi.rows)
            try:
                audio = mimi.decode(latents).to("cpu", torch.float32).numpy()
            except Exception as exc:
                for stream in rows:
                    stream.out.put(("error", exc))
                    stream.cancel.set()
            else:
                per_frame = audio.shape[-1] // len(frames)
                for row, stream in enumerate(rows):
                    kept = sum(1 for f in frames if f.emitted[where[id(stream)]]) * per_frame
                    if kept:
                        stream.out.put(("audio", audio[row, :kept].copy()))
        ended += mimi.apply(frames[-1].after, d)
        for stream in ended:
            stream.out.put(("end", None))
