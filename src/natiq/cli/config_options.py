"""Command-line options derived from a training config model, so defaults and help live once.

``config_command`` turns every field of a ``natiq.training.config`` model into
a typer option (``learning_rate`` -> ``--learning-rate``; a bool ->
``--x/--no-x`` or the flag named in the field's ``json_schema_extra``; a
section ``lora: LoraSection`` -> ``--lora-<field>``; a list -> a comma-separated
value), adds ``--config FILE`` and builds the config as
``Model.load(FILE, overrides=<the options given>)``: a file's values, then the
flags actually typed on top. Every option defaults to "not given", and its help
shows the model's default.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from natiq.training.config import LoraFields, TrainConfig

SEPARATOR = "__"
PANEL_ORDER = {"Model and data": 0, "LoRA": 2, "Training loop": 3}  # sections: 1
CONFIG_HELP = (
    "YAML/JSON file of settings (or a checkpoint's training_config.json); "
    "flags given on the command line override it"
)


EVAL_METRICS_OPTION = inspect.Parameter(
    "eval_metrics",
    inspect.Parameter.KEYWORD_ONLY,
    default=False,
    annotation=Annotated[
        bool,
        typer.Option(
            "--eval-metrics/--no-eval-metrics",
            help="score each eval's samples with natiq eval (CER/WER, speaker similarity, "
            "DNSMOS; logged as eval/<metric>) in a background thread",
            rich_help_panel="Training loop",
        ),
    ],
)


def _panel(model: type[BaseModel], name: str) -> str:
    if name in LoraFields.model_fields and issubclass(model, LoraFields):
        return "LoRA"
    if name in TrainConfig.model_fields:
        return "Training loop"
    return "Model and data"


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_section(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, BaseModel)


def _option_type(annotation: Any) -> Any:
    """The type typer parses: lists become one comma-separated string."""
    base = _strip_optional(annotation)
    if typing.get_origin(base) is Annotated:
        base = typing.get_args(base)[0]
    if typing.get_origin(base) in (tuple, list):
        return str
    if typing.get_origin(base) is Literal or base in (bool, int, float, str, Path):
        return base
    return str


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else str(value)


def iter_options(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], FieldInfo, str]]:
    """``(field path, field, help panel)`` for every leaf setting, sections flattened."""
    for name, field in model.model_fields.items():
        annotation = _strip_optional(field.annotation)
        if _is_section(annotation):
            yield from iter_options(annotation, (*prefix, name))
        else:
            panel = _panel(model, name) if not prefix else prefix[0].replace("_", " ").capitalize()
            yield (*prefix, name), field, panel


def _parameter(path: tuple[str, ...], field: FieldInfo, panel: str) -> inspect.Parameter:
    flag = "--" + "-".join(part.replace("_", "-") for part in path)
    kind = _option_type(field.annotation)
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    declared = extra.get("flag")
    if kind is bool:
        declared = declared or f"{flag}/--no-{flag.removeprefix('--')}"
    help_text = f"{field.description or ''} (default: {_default_text(field)})".strip()
    option = typer.Option(
        *([str(declared)] if declared else [flag]),
        help=help_text,
        show_default=False,
        rich_help_panel=panel,
    )
    return inspect.Parameter(
        SEPARATOR.join(path),
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[kind | None, option],
    )


def overrides_from(values: dict[str, Any]) -> dict[str, Any]:
    """Options actually given (not None), nested by section."""
    nested: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        *sections, leaf = key.split(SEPARATOR)
        target = nested
        for section in sections:
            target = target.setdefault(section, {})
        target[leaf] = value
    return nested


def config_command(
    app: typer.Typer,
    model: type[TrainConfig],
    run: Callable[..., None],
    *,
    name: str,
    help: str,
    extra: list[inspect.Parameter] | None = None,
) -> None:
    """Register ``name`` on ``app``: options from ``model`` (+ ``extra``), then ``run(config, **extra)``.

    ``extra`` parameters (e.g. ``--eval-metrics``) are passed to ``run`` by name
    and are not part of the config.
    """
    config_param = inspect.Parameter(
        "config",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[Path | None, typer.Option("--config", help=CONFIG_HELP)],
    )
    options = sorted(iter_options(model), key=lambda option: PANEL_ORDER.get(option[2], 1))
    fields = [_parameter(path, field, panel) for path, field, panel in options]
    extras = list(extra or [])
    extra_names = {p.name for p in extras}

    def command(**values: Any) -> None:
        chosen = {k: v for k, v in values.items() if k in extra_names}
        settings = {k: v for k, v in values.items() if k not in extra_names and k != "config"}
        config = model.load(values.get("config"), overrides=overrides_from(settings))
        run(config, **chosen)

    parameters = [config_param, *fields, *extras]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = help
    command.__name__ = name
    app.command(name=name, help=help)(command)
