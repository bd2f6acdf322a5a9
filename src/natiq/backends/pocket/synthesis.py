"""Pocket TTS behind the ``SpeechBackend`` interface: load once, speak many times.

``PocketBackend.load`` accepts what a user has: a stock pocket-tts model (a
language name, a YAML config or an ``hf://`` config, through pocket-core's
``load_base``) or a natiq checkpoint (a training checkpoint or an export dir,
through pocket-trainer's ``load_checkpoint_model``). The text front-end comes
with the model (``natiq_frontend.json`` in the checkpoint or beside the YAML);
only a model that records none may be given a romanization scheme by hand.

Generation goes through pocket-tts's own ``generate_audio_stream`` (generation
and Mimi decoding in two threads), so speed equals the stock package, one
stream at a time (a lock). With ``max_batch`` above 1, concurrent calls
instead join one shared loop that steps up to ``max_batch`` streams together
(``natiq.backends.pocket.batched``): same audio per stream, several streams
for little more than the cost of one. Pocket
runs in fp32 on every device: its generation thread would not inherit an
autocast context. This module does not split or prepare text; the
``natiq.Synthesizer`` does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from natiq.backends.base import SpeechBackend, SynthesisOptions, VoicePrompt, max_samples
from natiq.backends.pocket import voices
from natiq.backends.pocket.base_model import resolve_base
from natiq.backends.pocket.default_voice import default_voice_file
from natiq.common.errors import CheckpointMismatchError, ModelLoadError, OptionError
from natiq.common.runtime import select_device
from natiq.text import FRONTEND_FILENAME

DEFAULT_BASE = "english"
# A stock pocket-tts model was trained on English text: its tokenizer knows the
# Latin alphabet only, so Arabic input is spelled in the digit-free ``latin``
# romanization unless the model records another front-end.
STOCK_SCHEME = "latin"


def default_frontend_config(scheme: str | None = STOCK_SCHEME) -> Any:
    """The front-end for a model that records none (a stock pocket-tts model)."""
    from natiq.text import FrontendConfig

    return FrontendConfig(scheme=scheme)


def read_frontend_config(path: Path) -> Any:
    """Read a ``natiq_frontend.json`` (errors name the file)."""
    from natiq.text import FrontendConfig

    return FrontendConfig.load(path)


def recorded_frontend_beside(model: str | None) -> Path | None:
    """``natiq_frontend.json`` next to a local YAML model config (an export dir), if any."""
    if model is None or model.startswith(("hf://", "http://", "https://")):
        return None
    path = Path(model)
    if path.is_dir():
        candidate = path / FRONTEND_FILENAME
    elif path.suffix in (".yaml", ".yml"):
        candidate = path.parent / FRONTEND_FILENAME
    else:
        return None
    return candidate if candidate.is_file() else None


class PocketBackend(SpeechBackend):
    """A loaded Pocket TTS model with its text front-end."""

    name: ClassVar[str] = "pocket"
    load_options: ClassVar[tuple[str, ...]] = (
        "scheme",
        "diacritize",
        "temperature",
        "eos_threshold",
        "max_batch",
    )
    # no top-p/top-k: pocket-tts samples its flow with a temperature only
    sampling_options: ClassVar[tuple[str, ...]] = ("temperature", "max_seconds", "seed")

    def __init__(
        self,
        tts_model: Any,
        frontend_config: Any,
        *,
        custom_weights: bool,
        frontend_recorded: bool,
        source: str,
        default_voice: Path | None = None,
        max_batch: int = 1,
    ) -> None:
        from natiq.text import TextFrontend

        self.model = tts_model
        self.default_voice = default_voice
        self.frontend_config = frontend_config
        self.frontend_recorded = frontend_recorded
        self.custom_weights = custom_weights
        self.source = source
        self._frontend = TextFrontend(frontend_config)
        self._lock = threading.Lock()
        self._loop = None
        if max_batch != 1:
            from natiq.backends.pocket.batched import BatchedGeneration

            self._loop = BatchedGeneration(tts_model, max_batch=max_batch)

    @classmethod
    def load(
        cls,
        *,
        model: str | None = None,
        checkpoint: str | Path | None = None,
        device: str = "auto",
        quantize: bool = False,
        scheme: str | None = None,
        diacritize: str | None = None,
        temperature: float | None = None,
        eos_threshold: float | None = None,
        max_batch: int | None = None,
    ) -> PocketBackend:
        """Load a stock model (``model``) or a natiq checkpoint / export dir (``checkpoint``).

        ``scheme`` is accepted only for a model that records no front-end (or
        when it equals the recorded one). ``diacritize`` ("auto"/"off") may
        always be chosen: it only fills diacritics missing from the input.
        ``temperature`` and ``eos_threshold`` override the config's defaults.
        ``quantize`` is pocket-tts's dynamic int8 path, on CPU only.
        ``max_batch`` above 1 makes concurrent calls share one batched loop.
        """
        if max_batch is not None and (
            isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1
        ):
            raise OptionError(f"max_batch is a whole number of streams >= 1, not {max_batch!r}")
        if not isinstance(quantize, bool):
            raise OptionError(
                f"the pocket backend's quantize is on or off (its CPU int8 path), not {quantize!r}"
            )
        torch_device = select_device(device)
        if quantize and torch_device.type != "cpu":
            raise OptionError("--quantize is the CPU int8 path of pocket-tts; drop it on a GPU")

        if checkpoint is not None:
            tts_model, frontend_config, source = cls._load_checkpoint(Path(checkpoint), model)
            recorded, custom = True, True
        else:
            base = model or DEFAULT_BASE
            tts_model = cls._load_stock(base)
            source = base
            recorded_file = recorded_frontend_beside(base)
            recorded = recorded_file is not None
            frontend_config = (
                read_frontend_config(recorded_file) if recorded_file else default_frontend_config()
            )
            custom = recorded or "language" not in resolve_base(base)

        frontend_config = cls._apply_frontend_choices(
            frontend_config, recorded, scheme=scheme, diacritize=diacritize, source=source
        )
        if temperature is not None:
            tts_model.temp = float(temperature)
        if eos_threshold is not None:
            tts_model.eos_threshold = float(eos_threshold)
        tts_model = tts_model.to(torch_device).eval()
        if quantize:
            from pocket_tts.quantization import RECOMMENDED_CONFIG, apply_dynamic_int8

            apply_dynamic_int8(tts_model.flow_lm, RECOMMENDED_CONFIG)
        return cls(
            tts_model,
            frontend_config,
            custom_weights=custom,
            frontend_recorded=recorded,
            source=source,
            default_voice=default_voice_file(source),
            max_batch=1 if max_batch is None else max_batch,
        )

    @staticmethod
    def _load_stock(base: str) -> Any:
        """A pocket-tts language, YAML, directory or hf:// config through pocket-core's loader."""
        from natiq.backends.pocket.base_model import load_base

        return load_base(base, device="cpu")

    @staticmethod
    def _load_checkpoint(checkpoint: Path, model: str | None) -> tuple[Any, Any, str]:
        from natiq.backends.pocket.export import load_checkpoint_model

        if not checkpoint.exists():
            raise ModelLoadError(
                f"{checkpoint}: no such checkpoint; give a training checkpoint dir (step_N/) or an export dir"
            )
        tts_model, frontend_config = load_checkpoint_model(checkpoint, base=model)
        return tts_model, frontend_config, str(checkpoint)

    @staticmethod
    def _apply_frontend_choices(
        config: Any, recorded: bool, *, scheme: str | None, diacritize: str | None, source: str
    ) -> Any:
        import dataclasses

        changes: dict[str, Any] = {}
        if scheme is not None:
            wanted = None if scheme in ("none", "arabic") else scheme
            if recorded and wanted != config.scheme:
                raise CheckpointMismatchError(
                    f"{source} records the text front-end it was trained with (scheme "
                    f"{config.scheme!r}); inference must use it, so drop --scheme/--latinize"
                )
            changes["scheme"] = wanted
        if diacritize is not None:
            changes["diacritize"] = diacritize
        return dataclasses.replace(config, **changes) if changes else config

    @property
    def sample_rate(self) -> int:
        return int(self.model.sample_rate)

    @property
    def frontend(self) -> Any:
        return self._frontend

    @property
    def device(self) -> torch.device:
        return self.model.device

    def prepare_voice(self, prompt: VoicePrompt | None) -> Any:
        if prompt is None:
            # the export's own voice (natiq.backends.pocket.default_voice), else pocket-tts' default
            if self.default_voice is not None:
                return voices.load_voice_state(self.model, self.default_voice)
            return voices.load_default_voice(self.model, self.custom_weights)
        path = Path(prompt.audio)
        if voices.is_voice_state_file(path):
            return voices.load_voice_state(self.model, path)
        samples = voices.load_reference_audio(path, self.sample_rate)
        return voices.state_from_audio(self.model, samples)

    def export_voice(self, prompt: VoicePrompt, output: str | Path) -> Path:
        """Encode a reference clip once and save the state for fast reuse."""
        return voices.export_voice_state(self.prepare_voice(prompt), output)

    @property
    def max_batch(self) -> int:
        return 1 if self._loop is None else self._loop.max_batch

    def generate(
        self, model_text: str, voice: Any, options: SynthesisOptions
    ) -> Iterator[np.ndarray]:
        return self.generate_scheduled(
            model_text, voice, options, interactive=True, stop=threading.Event()
        )

    def generate_scheduled(
        self,
        model_text: str,
        voice: Any,
        options: SynthesisOptions,
        *,
        interactive: bool,
        stop: threading.Event,
    ) -> Iterator[np.ndarray]:
        if voice is None:
            voice = self.prepare_voice(None)
        limit = max_samples(options, self.sample_rate)
        if self._loop is not None:
            chunks = self._loop.stream(
                model_text,
                voice,
                temperature=options.temperature,
                seed=options.seed,
                interactive=interactive,
                stop=stop,
            )
            return _capped(chunks, limit)
        return self._generate_locked(model_text, voice, limit, options, stop)

    def _generate_locked(
        self,
        model_text: str,
        voice: Any,
        limit: int | None,
        options: SynthesisOptions,
        stop: threading.Event,
    ) -> Iterator[np.ndarray]:
        """pocket-tts's own two-thread stream, one caller at a time; ``stop`` is checked per chunk.

        A stream that ends early (stopped, capped, or closed by its reader)
        keeps the lock until pocket-tts's threads have ended: its generation
        thread sees the stop only at its next frame and draws noise from
        torch's global generator, which the next caller has just seeded.
        """
        with self._lock, self._sampling(options):
            if stop.is_set():
                return
            ended = threading.Event()  # stops pocket-tts's generation thread at its next frame
            stream = self.model.generate_audio_stream(
                voice, model_text, copy_state=True, stop=ended
            )
            chunks = (chunk.detach().to("cpu", torch.float32).numpy() for chunk in stream)
            try:
                for audio in _capped(chunks, limit):
                    yield audio
                    if stop.is_set():
                        break
            finally:
                ended.set()
                _run_out(stream)

    @contextlib.contextmanager
    def _sampling(self, options: SynthesisOptions) -> Iterator[None]:
        """Apply per-call temperature and seed; restore the model's default afterwards."""
        previous = self.model.temp
        if options.temperature is not None:
            self.model.temp = float(options.temperature)
        if options.seed is not None:
            torch.manual_seed(options.seed)
        try:
            yield
        finally:
            self.model.temp = previous


def _run_out(stream: Iterator[Any]) -> None:
    """Read a stopped pocket-tts stream to its end, dropping its audio.

    Its generation thread ends at its next frame and then signals the
    decoder thread, which the stream joins before it ends: once this
    returns, neither thread draws noise or touches the model any more
    (frames already queued for decoding are decoded; a frame or two).
    """
    try:
        for _ in stream:
            pass
    except Exception:  # the stream's own error was already raised to the reader, or is moot
        pass
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _capped(chunks: Iterator[np.ndarray], limit: int | None) -> Iterator[np.ndarray]:
    """``chunks`` up to ``limit`` samples in all; the source is closed when this ends."""
    produced = 0
    try:
        for audio in chunks:
            if limit is not None and produced + audio.size >= limit:
                if limit > produced:
                    yield audio[: limit - produced]
                return
            produced += audio.size
            if audio.size:
                yield audio
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
