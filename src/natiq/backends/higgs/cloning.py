"""Zero-shot voice cloning with a (LoRA-adapted) Higgs Audio v2 model.

A reference clip and its transcript set the voice; the target text is spoken
in it. Texts go through the text front-end recorded in the adapter dir. The
prompt is the one training builds (``chatml_inputs``) without the target
clip; ``generate`` (transformers' Higgs sampler, which applies the delay
pattern and stops when every codebook has emitted stream EOS) returns the
reference frames followed by the new ones, which are cut off, un-delayed and
decoded by the audio tokenizer.

The system prompt is the one recorded with the adapter
(``training_config.json``: ``system_prompt``), so inference sees the prompt
training saw; the default instruction + quiet-room scene otherwise, and an
explicit ``system_prompt`` overrides both.

Greedy decoding (``temperature <= 0``) is plain argmax: the checkpoint's
repetition-aware resampling (RAS, which redraws a repeated code at random)
is switched off, so the output is deterministic. A generation that reaches
``max_new_tokens`` before codebook 0 emits the stream EOS is a *runaway*
(the usual symptom of a bad fine-tune, or of a cap too low for the text);
``Generated.stopped`` says which, and batch reports count them.

Batch mode writes ``output_{i}.wav`` per ChatML line; a bad line is reported
in ``failures.jsonl`` and the others still produce audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from natiq.backends.higgs.audio_codes import decode_codes, encode_samples, read_for_tokenizer
from natiq.backends.higgs.chatml_inputs import CloningTexts, EncodedSample, encode_conversation
from natiq.backends.higgs.config import DEFAULT_SYSTEM_PROMPT, AudioIds
from natiq.backends.higgs.delay import codes_from_generated
from natiq.backends.higgs.frontend_io import FRONTEND_FILE, load_frontend
from natiq.backends.higgs.loading import (
    audio_tokenizer_source,
    load_audio_tokenizer,
    load_model,
    load_text_tokenizer,
    model_source,
)
from natiq.common.errors import InputTextError, NatiqError
from natiq.common.files import atomic_write_json, write_jsonl
from natiq.common.rows import BadRow, Rows
from natiq.common.runtime import select_device
from natiq.data.audio import save_wav
from natiq.data.chatml import ChatMLSample


@dataclass
class CloneOptions:
    """Sampling settings; ``temperature <= 0`` means greedy decoding (no RAS).

    ``ras_window`` / ``ras_max_repeats``: a code already seen ``ras_max_repeats``
    times in the last ``ras_window`` frames of its codebook is redrawn from
    the untempered distribution (the released checkpoint uses 7 / 2);
    ``ras_window <= 0`` turns it off.
    """

    temperature: float = 0.3
    top_p: float = 0.95
    top_k: int = 50
    max_new_tokens: int = 1024
    ras_window: int = 7
    ras_max_repeats: int = 2
    seed: int | None = None
    max_ref_seconds: float = 30.0


@dataclass
class Reference:
    """A prepared voice: the reference clip's codes and its front-end-prepared transcript."""

    codes: torch.Tensor
    text: str


@dataclass
class Generated:
    """Plain ``(K, T)`` codes; ``stopped`` is False for a runaway (cap hit before the stream EOS)."""

    codes: torch.Tensor
    stopped: bool


@dataclass
class Speech:
    """Cloned audio (float32 mono at the cloner's rate) and whether the model stopped by itself."""

    audio: np.ndarray
    stopped: bool


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    runaway: list[dict[str, Any]] = field(default_factory=list)


# transformers resamples a code seen ``max_repeats`` times in the last ``window``
# frames; unset values are filled from the checkpoint's generation config (the
# released one sets 7 / 2), so "off" must be spelled out: one frame can never
# hold two repeats.
RAS_OFF = (1, 2)


def ras_settings(options: CloneOptions) -> tuple[int, int]:
    """``(ras_win_len, ras_win_max_num_repeat)`` for ``generate``; RAS off for greedy decoding."""
    if options.temperature <= 0 or options.ras_window <= 0:
        return RAS_OFF
    return options.ras_window, options.ras_max_repeats


def recorded_system_prompt(recorded: dict[str, Any]) -> str:
    """The system prompt an adapter was trained with (``training_config.json``), else the default."""
    prompt = recorded.get("system_prompt")
    return prompt if isinstance(prompt, str) and prompt.strip() else DEFAULT_SYSTEM_PROMPT


class HiggsCloner:
    """A loaded model + tokenizers + front-end, ready to clone many times."""

    def __init__(
        self,
        model,
        tokenizer,
        audio_tokenizer,
        frontend,
        *,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.audio_tokenizer = audio_tokenizer.eval()
        self.frontend = frontend
        self.system_prompt = system_prompt
        self.ids = AudioIds.from_config(model.config)

    @property
    def sample_rate(self) -> int:
        return int(self.audio_tokenizer.config.sample_rate)

    @classmethod
    def load(
        cls,
        *,
        model: str | None = None,
        adapter: str | Path | None = None,
        audio_tokenizer: str | None = None,
        device: str = "auto",
        quantize: str = "none",
        system_prompt: str | None = None,
    ) -> HiggsCloner:
        """Base model (default: the one recorded with the adapter, else the released one) + adapter.

        ``system_prompt`` overrides the one recorded with the adapter.
        """
        adapter_dir = Path(adapter) if adapter is not None else None
        recorded: dict[str, Any] = {}
        if adapter_dir is not None:
            from natiq.backends.higgs.train_config import recorded_training

            recorded = recorded_training(adapter_dir)
        source = model_source(model or recorded.get("model"))
        torch_device = select_device(device)
        dtype = torch.bfloat16 if torch_device.type == "cuda" else torch.float32
        base = load_model(source, device=torch_device, dtype=dtype, quantize=quantize)  # type: ignore[arg-type]
        if adapter_dir is not None:
            from natiq.backends.higgs.lora import load_adapter

            base = load_adapter(base, adapter_dir)
            if quantize == "none":
                base = base.merge_and_unload()
        merged_frontend = Path(source) / FRONTEND_FILE
        frontend = load_frontend(
            adapter_dir or (Path(source) if merged_frontend.is_file() else None)
        )
        tokenizer = load_text_tokenizer(source)
        codec = load_audio_tokenizer(
            audio_tokenizer_source(audio_tokenizer or recorded.get("audio_tokenizer"), source),
            torch_device,
        )
        prompt = system_prompt if system_prompt is not None else recorded_system_prompt(recorded)
        return cls(base, tokenizer, codec, frontend, system_prompt=prompt)

    def prepare_reference(
        self, audio: str | Path, text: str | None, *, max_seconds: float = 30.0
    ) -> Reference:
        if text is None or not text.strip():
            raise InputTextError(
                f"{audio}: the reference transcript is empty; Higgs cloning needs the words spoken in the reference clip (--ref-text)"
            )
        samples = read_for_tokenizer(audio, self.sample_rate, max_seconds=max_seconds)
        return Reference(
            codes=encode_samples(self.audio_tokenizer, samples),
            text=self.frontend.prepare(text).model_text,
        )

    def prompt(self, reference: Reference, model_text: str) -> EncodedSample:
        """The generation prompt: this cloner's system prompt, the reference turns, ``model_text``."""
        texts = CloningTexts(
            system=self.system_prompt, ref_text=reference.text, target_text=model_text
        )
        return encode_conversation(self.tokenizer, self.ids, texts, reference.codes, None)

    @torch.no_grad()
    def generate_codes(
        self, reference: Reference, model_text: str, options: CloneOptions | None = None
    ) -> Generated:
        """Plain ``(K, T)`` codes for ``model_text`` (already prepared) in the reference voice."""
        from transformers import GenerationConfig

        options = options or CloneOptions()
        prompt = self.prompt(reference, model_text)
        device = next(self.model.parameters()).device
        input_ids = prompt.input_ids[None].to(device)
        frames = prompt.audio_frames[None].to(device)
        greedy = options.temperature <= 0
        generation = GenerationConfig(
            do_sample=not greedy,
            max_new_tokens=options.max_new_tokens,
            eos_token_id=self.ids.eot_token,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        generation.ras_win_len, generation.ras_win_max_num_repeat = ras_settings(options)
        if not greedy:
            generation.temperature = options.temperature
            generation.top_p = options.top_p
            generation.top_k = options.top_k
        if options.seed is not None:
            torch.manual_seed(options.seed)
        out = self.model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            audio_input_ids=frames,
            audio_input_ids_mask=torch.ones(frames.shape[:2], dtype=torch.bool, device=device),
            generation_config=generation,
        )
        new_frames = out[0, prompt.num_prompt_frames :].cpu()
        stopped = bool((new_frames[:, 0] == self.ids.stream_eos).any())
        return Generated(
            codes=codes_from_generated(new_frames, self.ids.stream_bos, self.ids.stream_eos),
            stopped=stopped,
        )

    def clone(
        self, ref_audio: str | Path, ref_text: str, text: str, options: CloneOptions | None = None
    ) -> Speech:
        """Speak raw ``text`` in the voice of ``ref_audio``."""
        options = options or CloneOptions()
        if not text or not text.strip():
            raise InputTextError("the text to speak is empty")
        reference = self.prepare_reference(ref_audio, ref_text, max_seconds=options.max_ref_seconds)
        generated = self.generate_codes(reference, self.frontend.prepare(text).model_text, options)
        return Speech(decode_codes(self.audio_tokenizer, generated.codes), generated.stopped)

    def clone_batch(
        self, samples: Rows[ChatMLSample], output_dir: Path, options: CloneOptions | None = None
    ) -> BatchReport:
        """``output_{i}.wav`` for the i-th line of a ChatML file read leniently.

        The lines the reader refused (``samples.bad``) and the samples that fail
        to speak are reported in ``failures.jsonl``, never fatal.
        """
        report = BatchReport()
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        in_file_order = sorted([*samples, *samples.bad], key=lambda entry: entry.line)
        for index, sample in enumerate(in_file_order):
            if isinstance(sample, BadRow):
                report.failures.append({"index": index, "id": sample.id, "reason": sample.message})
                continue
            try:
                speech = self.clone(sample.ref_audio, sample.ref_text, sample.target_text, options)
                report.written.append(
                    save_wav(output_dir / f"output_{index}.wav", speech.audio, self.sample_rate)
                )
                if not speech.stopped:
                    report.runaway.append({"index": index, "id": str(sample.id)})
            except NatiqError as exc:
                report.failures.append({"index": index, "id": sample.id, "reason": str(exc)})
        write_jsonl(output_dir / "failures.jsonl", report.failures)
        atomic_write_json(
            output_dir / "clone_report.json",
            {
                "written": len(report.written),
                "failed": len(report.failures),
                "runaway": len(report.runaway),
                "runaway_samples": report.runaway,
            },
        )
        return report
