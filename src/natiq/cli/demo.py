"""``natiq demo``: the demo recipe (``recipes/demo.yaml``) offline, in about a minute.

It is ``natiq recipe run demo --run-dir natiq-demo``: the bundled mini-corpus,
a tiny random Pocket model, every recipe stage (prepare, latents, a few LoRA
steps, export with a default voice, evaluation, model card). There is no
pipeline code here; running it again does only what changed.

The model is tiny and starts from random weights, so its speech is not
intelligible: the demo shows the stages work end to end, not quality.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEMO_RECIPE = "demo"


def demo(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="The run folder of the demo recipe.")
    ] = Path("natiq-demo"),
    steps: Annotated[
        int | None, typer.Option("--steps", help="LoRA training steps (default: the recipe's).")
    ] = None,
) -> None:
    """The demo recipe offline: mini-corpus -> prepare -> latents -> LoRA -> export -> evaluate -> card."""
    from natiq.recipe.config import load_recipe
    from natiq.recipe.runner import run_recipe

    overrides = {"tiny": {"max_steps": steps}} if steps is not None else None
    report = run_recipe(
        load_recipe(DEMO_RECIPE, overrides), run_dir=output_dir, progress=False, log=typer.echo
    )
    model = report.run_dir / "model"
    typer.echo(
        f"model and card: {model} (README.md); speech: {report.run_dir / 'evaluate' / 'audio'}"
    )
    typer.echo(f'try: natiq speak --checkpoint {model} --text "مرحبا بكم" --output hello.wav')


def register(app: typer.Typer) -> None:
    """Attach ``demo`` to the root app."""
    app.command("demo")(demo)
