"""Every setting of a Pocket TTS training run, in one typed model.

``PocketTrainConfig`` extends the shared ``natiq.training.config.TrainConfig``
(learning rate, batch, schedule, checkpoints, EMA: the same names as the Higgs
trainer) with what is Pocket's own: data, base, text mode, trained scope,
objective. ``natiq pocket train`` derives one flag per field from this model
(``--config run.yaml`` loads a file, flags override it); nowhere else holds a
default. The effective config is written into every checkpoint
(``training_config.json``) so a run can be resumed, exported or loaded for
inference without the command line that started it. This module only
validates; it imports no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from natiq.backends.pocket.recipe import ExampleSettings, ObjectiveSettings, SpeechTrimSettings
from natiq.training.config import LoraFields, SchedulerName, TrainConfig

TrainScope = Literal["text", "flow", "text+flow", "full"]
TextMode = Literal["romanized", "native"]
NativeTokenizer = Literal["sentencepiece", "char"]
# Longest training text in tokens; longer utterances are skipped and listed, never fatal.
# A character tokenizer reads ~20 tokens per second of diacritized speech.
DEFAULT_MAX_TEXT_TOKENS = 512

# Settings a resumed run must share with its checkpoint (others, e.g. --max-steps, may change).
STRUCTURAL_FIELDS: tuple[str, ...] = (
    "base",
    "text_mode",
    "scheme",
    "native_tokenizer",
    "train_scope",
    "use_lora",
    "lora_r",
    "lora_alpha",
)


class PocketTrainConfig(TrainConfig, LoraFields):
    """The settings of one Pocket run; each field is the flag ``--<name-with-dashes>``."""

    metadata: Path = Field(
        description="metadata.jsonl, or metadata_latents.jsonl with --use-precomputed-latents"
    )
    output_dir: Path = Field(
        Path("checkpoints/pocket"), description="run directory: step_N/ checkpoints, logs, samples"
    )
    base: str = Field(
        "english", description="base model: pocket-tts language, YAML config or hf:// config"
    )
    text_mode: TextMode = Field(
        "native",
        description="native (new tokenizer, new text embedding: the recipe that works) or "
        "romanized (the base tokenizer)",
    )
    scheme: str = Field("buckwalter", description="romanization scheme for --text-mode romanized")
    native_tokenizer: NativeTokenizer = Field(
        "char",
        description="--text-mode native: char (one piece per character, diacritics their own "
        "pieces) or sentencepiece (n_bins BPE pieces)",
    )
    train_scope: TrainScope = Field("full", description="full, text, flow or text+flow")
    use_lora: bool = Field(
        False,
        description="LoRA (PEFT) on the scope's linear layers; --no-lora trains them in full",
        json_schema_extra={"flag": "--use-lora/--no-lora"},
    )
    use_precomputed_latents: bool = Field(
        True,
        description="read Mimi latents from `natiq pocket latents`; --encode-on-the-fly encodes audio each step",
        json_schema_extra={"flag": "--use-precomputed-latents/--encode-on-the-fly"},
    )
    max_text_tokens: int = Field(
        DEFAULT_MAX_TEXT_TOKENS,
        ge=1,
        description="utterances whose text is longer are skipped and listed (never fatal)",
    )
    max_unknown_token_rate: float = Field(
        0.01,
        ge=0,
        le=1,
        description="--text-mode romanized: refuse a scheme whose text the base tokenizer reads "
        "as more than this share of unknown pieces",
    )
    objective: ObjectiveSettings = Field(default_factory=ObjectiveSettings)
    examples: ExampleSettings = Field(default_factory=ExampleSettings)
    speech_trim: SpeechTrimSettings = Field(default_factory=SpeechTrimSettings)

    # Shared settings with Pocket's defaults (the official recipe's optimizer).
    max_steps: int | None = Field(10_000, ge=1, description="optimizer steps to train")
    per_device_train_batch_size: int = Field(
        8, ge=1, description="utterances per process per micro-batch"
    )
    weight_decay: float = Field(0.1, ge=0, description="AdamW weight decay")
    adam_beta2: float = Field(0.95, ge=0, lt=1, description="AdamW beta2")
    lr_scheduler_type: SchedulerName = Field(
        "cosine_with_min_lr",
        description="learning-rate schedule after warmup (transformers' names)",
    )
    warmup_steps: int = Field(100, ge=0, description="optimizer steps of linear warmup")
    save_steps: int = Field(1_000, ge=1, description="optimizer steps between checkpoints")
    eval_steps: int = Field(500, ge=0, description="optimizer steps between evaluations, 0 = never")
    ema_decay: float = Field(
        0.999, ge=0, lt=1, description="EMA decay of the trained weights, 0 = off (recipe: 0.999)"
    )

    @model_validator(mode="after")
    def _check_combinations(self) -> Self:
        if self.use_lora and self.train_scope == "text":
            raise ValueError(
                "--train-scope text trains only the text embedding, in full: pass --no-lora"
            )
        if self.text_mode == "native" and self.train_scope == "flow":
            raise ValueError(
                "--text-mode native re-initializes the text embedding, so --train-scope "
                "must include it (text, text+flow or full), not flow"
            )
        return self
