"""A recipe file as a typed model whose sections are the stage configs themselves.

``prepare`` is ``natiq.data.prepare.PrepareConfig``, ``train`` is
``PocketTrainConfig``, ``evaluate.scoring`` is ``natiq.eval.runner.EvalConfig``:
a recipe never restates their fields, so a setting means the same in a recipe
as in ``natiq data prepare``, ``natiq pocket train`` or ``natiq eval``. The
recipe adds only what has no command of its own (which clips evaluate speaks,
the model card, where to publish) and fills the paths that chain the stages:
a recipe may not set ``prepare.output_dir``, ``train.metadata`` or
``train.output_dir``; the run folder decides them.

Relative paths in a recipe are relative to the recipe file's folder; a path
starting with ``natiq:`` names a file shipped inside the natiq package (the
mini-corpus of the demo). ``tiny`` (or ``natiq recipe run --tiny``) swaps the
base for a tiny random model and shrinks data, steps and evaluation, to check
a recipe end to end on a CPU in a minute before spending GPU hours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from natiq.backends.higgs.train_config import HiggsTrainConfig
from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.common.errors import DataFormatError
from natiq.data.chatml import ChatMLConfig
from natiq.data.prepare import PrepareConfig
from natiq.eval.runner import EvalConfig
from natiq.eval.voice_choice import VoiceChoiceConfig
from natiq.recipe.evaluate import RunawayBounds
from natiq.text import FRONTEND_FILENAME
from natiq.training.config import deep_merge, read_config_file

PACKAGE_PREFIX = "natiq:"
RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
# (section, field, always a path) of the settings resolved against the recipe's folder; the
# others (a dataset or base may be a name: clartts, MBZUAI/ClArTTS, english, hf://...) are
# resolved only when the path exists there or starts with ./ or ../.
PATH_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("prepare", "manifest", True),
    ("prepare", "audio_dir", True),
    ("prepare", "dataset", False),
    ("train", "base", False),
    ("train", "model", False),
    ("train", "lexicon", True),
    ("export", "default_voice", True),
    ("evaluate", "test_sentences", True),
)


class RecipeSection(BaseModel):
    """A recipe-only section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class LatentsSection(RecipeSection):
    """``natiq pocket latents`` settings a recipe may change."""

    device: str = Field("auto", description="device that runs the Mimi encoder")


class CodesSection(RecipeSection):
    """``natiq higgs tokenize`` settings a recipe may change."""

    device: str = Field("auto", description="device that runs the audio tokenizer")
    max_seconds: float | None = Field(None, gt=0, description="reject clips longer than this")


class MergeSection(RecipeSection):
    """``natiq higgs merge`` settings a recipe may change (``MergeConfig``'s ``dtype``; its
    module imports torch, which a run with nothing to do must not pay for)."""

    dtype: Literal["bf16", "fp16", "fp32"] = Field("bf16", description="merged weights dtype")


class ExportSection(RecipeSection):
    """``natiq pocket export`` settings, and the export's default voice."""

    name: str = Field("natiq_arabic", description="file stem of the exported model")
    use_ema: bool = Field(True, description="export EMA weights when the checkpoint has them")
    default_voice: Path | None = Field(
        None, description="a wav or voice state to use as the default voice (else chosen)"
    )
    voice_choice: VoiceChoiceConfig = Field(default_factory=VoiceChoiceConfig)


class EvaluateSection(RecipeSection):
    """What the evaluate stage speaks and how it is scored."""

    scoring: EvalConfig = Field(default_factory=EvalConfig)
    held_out: int | None = Field(
        100, ge=0, description="held-out (val) utterances spoken; null = all"
    )
    test_sentences: Path | None = Field(
        None, description="TSV (id, category, text) of test sentences; default: natiq's list"
    )
    test_limit: int | None = Field(None, ge=0, description="test sentences spoken; null = all")
    device: str = Field("auto", description="device that generates the evaluation speech")
    seed: int = Field(0, description="sampling seed of every evaluation utterance")
    runaway: RunawayBounds = Field(default_factory=RunawayBounds)
    latency_sentences: int = Field(
        5, ge=0, description="test sentences timed for first-chunk latency and RTF"
    )
    latency_threads: int = Field(1, ge=1, description="torch threads of the latency timing")
    latency_device: str = Field(
        "cpu", description="device of the latency timing (cpu: what most listeners' servers have)"
    )
    html_report: bool = Field(True, description="also write natiq eval's report.html")


class CardSection(RecipeSection):
    """The Hugging Face model card's facts that the run cannot know."""

    title: str | None = Field(None, description="card title (default: the recipe's name)")
    license: str = Field("cc-by-4.0", description="license id of the model (or 'other')")
    license_name: str | None = Field(None, description="with license 'other': its name")
    base_model: str | None = Field(
        None, description="Hugging Face id of the base model (e.g. kyutai/pocket-tts)"
    )
    datasets: list[str] = Field(
        default_factory=list, description="Hugging Face ids of the training datasets"
    )
    tags: list[str] = Field(default_factory=list)
    intended_use: str | None = Field(None, description="extra text for 'Intended use'")
    limitations: str | None = Field(None, description="extra text for 'Limitations'")


class PublishSection(RecipeSection):
    """Where ``publish`` uploads the model folder (nothing without ``repo``)."""

    repo: str | None = Field(None, description="Hugging Face repo id, e.g. user/natiq-clartts")
    private: bool = Field(False, description="create the repository private")
    dry_run: bool = Field(False, description="write the upload plan, upload nothing")


class TinySection(RecipeSection):
    """What ``--tiny`` changes: a random tiny base, a few utterances and steps, CPU."""

    enabled: bool = False
    limit: int = Field(24, ge=2, description="utterances prepared")
    max_steps: int = Field(12, ge=1)
    save_steps: int = Field(4, ge=1)
    batch_size: int = Field(4, ge=1)
    held_out: int = Field(2, ge=0)
    test_limit: int = Field(3, ge=0)
    latency_sentences: int = Field(1, ge=0)
    seed: int = 0


class RecipeBase(RecipeSection):
    """What every recipe has: a name, the corpus, evaluation, the card, publishing, ``--tiny``.

    A backend's recipe adds its own stage sections; ``RUN_OWNED`` names the
    paths of those sections the run folder decides (a recipe setting one is an
    error) and ``RUN_PLACEHOLDERS`` fills them until ``in_run_dir``.
    """

    RUN_OWNED: ClassVar[dict[str, tuple[str, ...]]] = {"prepare": ("output_dir",)}
    RUN_PLACEHOLDERS: ClassVar[dict[str, dict[str, str]]] = {"prepare": {"output_dir": "data"}}
    MODEL_STAGE: ClassVar[str] = ""

    name: str = Field(pattern=r"^[\w.\-]+$", description="names the default run folder")
    description: str = ""
    prepare: PrepareConfig
    evaluate: EvaluateSection = Field(default_factory=EvaluateSection)
    card: CardSection = Field(default_factory=CardSection)
    publish: PublishSection = Field(default_factory=PublishSection)
    tiny: TinySection = Field(default_factory=TinySection)

    @model_validator(mode="before")
    @classmethod
    def _fill_run_paths(cls, data: Any) -> Any:
        """Stage paths are the run folder's: a recipe setting one is an error."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section, names in cls.RUN_OWNED.items():
            given = data.get(section)
            if not isinstance(given, dict):
                continue
            clash = [name for name in names if name in given]
            if clash:
                raise ValueError(
                    f"{section}.{clash[0]} is set by the recipe's run folder; remove it "
                    "(use --run-dir to choose the folder)"
                )
        # placeholders, relative to the run folder until ``in_run_dir`` makes them absolute
        for section, placeholders in cls.RUN_PLACEHOLDERS.items():
            if isinstance(data.get(section), dict):
                data[section] = {**data[section], **placeholders}
        return data

    def _shrunk_common(self) -> dict[str, Any]:
        """The ``--tiny`` changes every backend shares (data, evaluation, publish)."""
        tiny = self.tiny
        return {
            "prepare": _replace_dataclass(self.prepare, limit=tiny.limit),
            "evaluate": self.evaluate.model_copy(
                update={
                    "held_out": tiny.held_out,
                    "test_limit": tiny.test_limit,
                    "latency_sentences": tiny.latency_sentences,
                    "device": "cpu",
                    "latency_device": "cpu",
                }
            ),
            # a tiny model is never uploaded: publish only writes its plan
            "publish": self.publish.model_copy(update={"dry_run": True}),
        }

    def _tiny_training(self) -> dict[str, Any]:
        """The ``--tiny`` training settings both trainers share (``natiq.training`` names)."""
        tiny = self.tiny
        return {
            "max_steps": tiny.max_steps,
            "save_steps": tiny.save_steps,
            "per_device_train_batch_size": tiny.batch_size,
            "gradient_accumulation_steps": 1,
            "warmup_steps": max(1, tiny.max_steps // 10),
            "logging_steps": max(1, tiny.max_steps // 4),
            "eval_steps": 0,
            "seed": tiny.seed,
            "device": "cpu",
        }


class PocketRecipe(RecipeBase):
    """A Pocket TTS recipe: prepare -> latents -> train -> export -> evaluate -> card -> publish."""

    RUN_OWNED: ClassVar[dict[str, tuple[str, ...]]] = {
        "prepare": ("output_dir",),
        "train": ("metadata", "output_dir", "resume"),
    }
    RUN_PLACEHOLDERS: ClassVar[dict[str, dict[str, str]]] = {
        "prepare": {"output_dir": "data"},
        "train": {"metadata": "latents/metadata_latents.jsonl", "output_dir": "train"},
    }
    MODEL_STAGE: ClassVar[str] = "export"

    backend: Literal["pocket"] = "pocket"
    latents: LatentsSection = Field(default_factory=LatentsSection)
    train: PocketTrainConfig
    export: ExportSection = Field(default_factory=ExportSection)

    def in_run_dir(self, run_dir: Path) -> PocketRecipe:
        """This recipe with every stage path inside ``run_dir``."""
        prepare = _replace_dataclass(self.prepare, output_dir=run_dir / "data")
        train = self.train.model_copy(
            update={
                "metadata": run_dir / "latents" / "metadata_latents.jsonl",
                "output_dir": run_dir / "train",
                "use_precomputed_latents": True,
            }
        )
        return self.model_copy(update={"prepare": prepare, "train": train})

    def shrunk(self, base: str) -> PocketRecipe:
        """The ``--tiny`` variant: ``base`` (a tiny random model), few utterances and steps, CPU;
        ``publish`` becomes a dry run."""
        native = self.train.text_mode == "native"
        train = PocketTrainConfig.from_dict(
            {
                **self.train.to_dict(),
                **self._tiny_training(),
                "base": base,
                # a few utterances cannot fill a BPE vocabulary
                "native_tokenizer": "char" if native else self.train.native_tokenizer,
            },
            source="tiny",
        )
        latents = self.latents.model_copy(update={"device": "cpu"})
        return self.model_copy(update={**self._shrunk_common(), "train": train, "latents": latents})


class HiggsRecipe(RecipeBase):
    """A Higgs Audio v2 recipe: prepare -> codes -> train -> merge -> evaluate -> card -> publish."""

    RUN_OWNED: ClassVar[dict[str, tuple[str, ...]]] = {
        "prepare": ("output_dir",),
        "chatml": ("metadata", "output"),
        "train": ("chatml", "output_dir", "codes_dir", "frontend_config", "resume"),
    }
    RUN_PLACEHOLDERS: ClassVar[dict[str, dict[str, str]]] = {
        "prepare": {"output_dir": "data"},
        "chatml": {"metadata": "data/metadata.jsonl", "output": "codes/train.jsonl"},
        "train": {"chatml": "codes/train.jsonl", "output_dir": "train"},
    }
    MODEL_STAGE: ClassVar[str] = "merge"

    backend: Literal["higgs"] = "higgs"
    chatml: ChatMLConfig = Field(
        default_factory=lambda: ChatMLConfig(metadata=Path("data"), output=Path("codes"))
    )
    codes: CodesSection = Field(default_factory=CodesSection)
    train: HiggsTrainConfig
    merge: MergeSection = Field(default_factory=MergeSection)
    voice_choice: VoiceChoiceConfig = Field(default_factory=VoiceChoiceConfig)

    def in_run_dir(self, run_dir: Path) -> HiggsRecipe:
        """This recipe with every stage path inside ``run_dir``."""
        codes = run_dir / "codes"
        return self.model_copy(
            update={
                "prepare": _replace_dataclass(self.prepare, output_dir=run_dir / "data"),
                "chatml": _replace_dataclass(
                    self.chatml,
                    metadata=run_dir / "data" / "metadata.jsonl",
                    output=codes / "train.jsonl",
                    split="train",
                ),
                "train": self.train.model_copy(
                    update={
                        "chatml": codes / "train.jsonl",
                        "output_dir": run_dir / "train",
                        "codes_dir": codes / "codes",
                        "frontend_config": codes / FRONTEND_FILENAME,
                    }
                ),
            }
        )

    def shrunk(self, base: str) -> HiggsRecipe:
        """The ``--tiny`` variant: a tiny random Higgs model, few utterances and steps, CPU."""
        train = HiggsTrainConfig.from_dict(
            {**self.train.to_dict(), **self._tiny_training(), "model": base, "quantize": "none"},
            source="tiny",
        )
        codes = self.codes.model_copy(update={"device": "cpu"})
        merge = self.merge.model_copy(update={"dtype": "fp32"})
        return self.model_copy(
            update={**self._shrunk_common(), "train": train, "codes": codes, "merge": merge}
        )


Recipe = PocketRecipe | HiggsRecipe
RECIPE_CLASSES: dict[str, type[RecipeBase]] = {"pocket": PocketRecipe, "higgs": HiggsRecipe}


def _replace_dataclass(value: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(value, **changes)


def resolve_recipe_path(value: str, folder: Path, *, always: bool = True) -> str:
    """``natiq:<path>`` -> inside the package; a relative path -> against the recipe's folder.

    With ``always=False`` the value may be a name rather than a path (``english``,
    ``clartts``, ``MBZUAI/ClArTTS``): it is resolved only when ``folder/value``
    exists or it starts with ``./`` or ``../``.
    """
    if value.startswith(PACKAGE_PREFIX):
        return str(Path(__file__).resolve().parents[1] / value.removeprefix(PACKAGE_PREFIX))
    if "://" in value or Path(value).is_absolute():
        return value
    candidate = folder / value
    if always or candidate.exists() or value.startswith(("./", "../")):
        return str(candidate.resolve())
    return value


def _resolve_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    resolved = dict(data)
    for section, name, always in PATH_FIELDS:
        values = resolved.get(section)
        if isinstance(values, dict) and isinstance(values.get(name), str):
            path = resolve_recipe_path(values[name], folder, always=always)
            resolved[section] = {**values, name: path}
    return resolved


TRAINING_CONFIG_ERROR = "invalid training config: "
FLAG = re.compile(r"--([a-z0-9][a-z0-9-]*)")


def _training_problems(section: str, message: str) -> list[str]:
    """A train config's own message (it names command-line flags) in recipe terms."""
    problems = []
    for part in message.removeprefix(TRAINING_CONFIG_ERROR).split("; "):
        unknown = re.match(r"unknown setting '(.+)'$", part)
        if unknown:
            problems.append(f"{section}.{unknown.group(1)}: unknown setting")
            continue
        problems.append(
            FLAG.sub(lambda m: f"{section}.{m.group(1).replace('-', '_')}", part, count=1)
            if part.startswith("--")
            else f"{section}: {part}"
        )
    return problems


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if message.startswith(TRAINING_CONFIG_ERROR):
            lines += _training_problems(where, message)
        elif item["type"] == "missing":
            lines.append(f"{where}: required")
        elif item["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            lines.append(f"{where}: unknown setting")
        else:
            lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


def find_recipe(spec: str | Path) -> Path:
    """A recipe file, or the name of one shipped with natiq (``demo``, ``clartts-pocket``...)."""
    path = Path(spec)
    if path.is_file():
        return path
    shipped = RECIPES_DIR / f"{spec}.yaml"
    if shipped.is_file():
        return shipped
    names = ", ".join(p.stem for p in shipped_recipes())
    raise DataFormatError(f"{spec}: no such recipe file, nor a recipe shipped with natiq ({names})")


def recipe_from_dict(
    data: Mapping[str, Any], *, folder: Path, source: str | Path = "recipe"
) -> Recipe:
    """Validate a recipe mapping (paths resolved against ``folder``)."""
    if not isinstance(data, Mapping):
        raise DataFormatError(f"{source}: a recipe must be a mapping of sections")
    backend = data.get("backend", "pocket")
    if backend not in RECIPE_CLASSES:
        raise DataFormatError(
            f"{source}: backend {backend!r} has no recipe; use {' or '.join(RECIPE_CLASSES)}"
        )
    try:
        return RECIPE_CLASSES[backend].model_validate(_resolve_paths(dict(data), folder))
    except ValidationError as exc:
        raise DataFormatError(f"{source}: {_describe(exc)}") from None
    except DataFormatError as exc:
        raise DataFormatError(f"{source}: {exc}") from None


def load_recipe(spec: str | Path, overrides: Mapping[str, Any] | None = None) -> Recipe:
    """A recipe file (or shipped name), with ``overrides`` (nested sections) on top."""
    path = find_recipe(spec)
    data = deep_merge(read_config_file(path), dict(overrides or {}))
    return recipe_from_dict(data, folder=path.resolve().parent, source=path)


def shipped_recipes() -> list[Path]:
    return sorted(RECIPES_DIR.glob("*.yaml"), key=lambda path: path.stem)
