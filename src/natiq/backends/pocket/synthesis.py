"""Pocket TTS behind the ``SpeechBackend`` interface: load once, speak many times.

``PocketBackend.load`` accepts what a user has: a stock pocket-tts model (a
language name, a YAML config or an ``hf://`` config, through pocket-core's
``load_base``) or a natiq checkpoint (a training checkpoint or an export dir,
through pocket-trainer's ``load_checkpoint_model``). The text front-end comes
with the model (``natiq_frontend.json`` in the checkpoint or beside the YAML);
only a model that records none may be given a romanization scheme by hand.

Generation goes through pocket-tts's own ``generate_audio_stream`` (generation
and Mimi decoding in two threads), so speed equals the stock package. Pocket
runs in fp32 on every device: its generation thread would not inherit an
autocast context. This module does not split or prepare text; the
``natiq.Synthesizer`` does.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from natiq.backends.base import SpeechBackend, SynthesisOptions, VoicePrompt
from natiq.backends.pocket import voices
from natiq.backends.pocket.base_model import resolve_base
from natiq.common.errors import CheckpointMismatchError, ModelLoadError, NatiqError
from natiq.common.runtime import select_device

FRONTEND_FILE = "natiq_frontend.json"
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
        candidate = path / FRONTEND_FILE
    elif path.suffix in (".yaml", ".yml"):
        candidate = path.parent / FRONTEND_FILE
    else:
        return None
    return candidate if candidate.is_file() else None


def architecture_of(config: Any) -> dict[str, Any]:
    """The parts of a pocket-tts config that must agree for weights to fit.

    The text vocabulary is left out on purpose: adapting to Arabic may train a
    new tokenizer and re-initialize the text embedding.
    """
    flow_lm = config.flow_lm
    mimi = config.mimi.model_dump(exclude={"weights_path"})
    return {
        "flow_lm.transformer": flow_lm.transformer.model_dump(),
        "flow_lm.flow": flow_lm.flow.model_dump(),
        "flow_lm.z_dim": flow_lm.z_dim,
        "flow_lm.lookup_table.dim": flow_lm.lookup_table.dim,
        "mimi": mimi,
    }


def check_same_base(
    base_config: Any, checkpoint_config: Any, *, base: str, checkpoint: Path
) -> None:
    """Raise ``CheckpointMismatchError`` when a checkpoint was trained from another architecture."""
    expected, found = architecture_of(base_config), architecture_of(checkpoint_config)
    differing = [key for key in expected if expected[key] != found[key]]
    if differing:
        details = "; ".join(
            f"{key}: base {expected[key]} vs checkpoint {found[key]}" for key in differing[:3]
        )
        raise CheckpointMismatchError(
            f"{checkpoint} was not trained from base model {base!r} ({details}); "
            "drop --model to use the base the checkpoint records, or pick the matching base"
        )


def load_base_config(model: str) -> Any:
    """Parse a base model's config without loading weights (an ``hf://`` YAML is downloaded unless offline)."""
    from pocket_tts.utils.config import CONFIGS_DIR, load_config

    target = resolve_base(model)
    source = (
        str(CONFIGS_DIR / f"{target['language']}.yaml")
        if "language" in target
        else target["config"]
    )
    from natiq.common.hub import fail_fast_when_offline

    remote = source.startswith(("hf://", "http://", "https://"))
    try:
        with fail_fast_when_offline() if remote else contextlib.nullcontext():
            return load_config(source)
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{model}: {exc}") from None
    except Exception as exc:
        raise ModelLoadError(
            f"cannot read the config of base model {model!r} ({type(exc).__name__}: {exc}); "
            "pass a local YAML, or allow Hugging Face downloads (unset HF_HUB_OFFLINE)"
        ) from None


class PocketBackend(SpeechBackend):
    """A loaded Pocket TTS model with its text front-end."""

    name: ClassVar[str] = "pocket"

    def __init__(
        self,
        tts_model: Any,
        frontend_config: Any,
        *,
        custom_weights: bool,
        frontend_recorded: bool,
        source: str,
    ) -> None:
        from natiq.text import TextFrontend

        self.model = tts_model
        self.frontend_config = frontend_config
        self.frontend_recorded = frontend_recorded
        self.custom_weights = custom_weights
        self.source = source
        self._frontend = TextFrontend(frontend_config)
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: str | None = None,
        checkpoint: str | Path | None = None,
        *,
        device: str = "auto",
        quantize: bool = False,
        scheme: str | None = None,
        diacritize: str | None = None,
        temperature: float | None = None,
        eos_threshold: float | None = None,
    ) -> PocketBackend:
        """Load a stock model (``model``) or a natiq checkpoint / export dir (``checkpoint``).

        ``scheme`` is accepted only for a model that records no front-end (or
        when it equals the recorded one). ``diacritize`` ("auto"/"off") may
        always be chosen: it only fills diacritics missing from the input.
        ``temperature`` and ``eos_threshold`` override the config's defaults.
        """
        torch_device = select_device(device)
        if quantize and torch_device.type != "cpu":
            raise NatiqError("--quantize is the CPU int8 path of pocket-tts; drop it on a GPU")

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
        if model is not None:
            check_same_base(
                load_base_config(model), tts_model.config, base=model, checkpoint=checkpoint
            )
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

    @property
    def frame_samples(self) -> int:
        """Audio samples per generated latent frame (1920 at 24 kHz, 12.5 frames/s)."""
        return round(self.sample_rate / self.model.config.mimi.frame_rate)

    def prepare_voice(self, prompt: VoicePrompt | None) -> Any:
        if prompt is None:
            return voices.load_default_voice(self.model, self.custom_weights)
        path = Path(prompt.audio)
        if voices.is_voice_state_file(path):
            return voices.load_voice_state(self.model, path)
        samples = voices.load_reference_audio(path, self.sample_rate)
        return voices.state_from_audio(self.model, samples)

    def export_voice(self, prompt: VoicePrompt, output: str | Path) -> Path:
        """Encode a reference clip once and save the state for fast reuse."""
        return voices.export_voice_state(self.prepare_voice(prompt), output)

    def stream(
        self, model_text: str, voice: Any, options: SynthesisOptions | None = None
    ) -> Iterator[np.ndarray]:
        options = options or SynthesisOptions()
        self._check_options(options)
        if voice is None:
            voice = self.prepare_voice(None)
        limit = (
            None if options.max_new_frames is None else options.max_new_frames * self.frame_samples
        )
        with self._lock, self._sampling(options):
            stop = threading.Event()
            produced = 0
            stream = self.model.generate_audio_stream(voice, model_text, copy_state=True, stop=stop)
            try:
                for chunk in stream:
                    audio = chunk.detach().to("cpu", torch.float32).numpy()
                    if limit is not None and produced + audio.size >= limit:
                        audio = audio[: limit - produced]
                        stop.set()
                    produced += audio.size
                    if audio.size:
                        yield audio
                    if stop.is_set():
                        break
            finally:
                stop.set()
                stream.close()

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

    @staticmethod
    def _check_options(options: SynthesisOptions) -> None:
        unsupported = [name for name in ("top_p", "top_k") if getattr(options, name) is not None]
        if unsupported or options.extra:
            names = unsupported + sorted(options.extra)
            raise NatiqError(
                f"the pocket backend has no sampling option(s) {', '.join(names)}; it takes temperature, max_new_frames and seed"
            )
        if options.temperature is not None and (
            options.temperature < 0 or not math.isfinite(options.temperature)
        ):
            raise NatiqError(f"temperature must be a finite number >= 0, got {options.temperature}")
        if options.max_new_frames is not None and options.max_new_frames <= 0:
            raise NatiqError(f"max_new_frames must be positive, got {options.max_new_frames}")
