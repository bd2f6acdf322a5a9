"""``natiq recipe``: run a recipe (``recipes/*.yaml``) end to end, list the shipped ones.

The commands only call ``natiq.recipe``; every stage is the library code of
its own command (see ``natiq.recipe.stages``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Recipes: corpus -> prepare -> latents -> train -> export -> evaluate -> card -> publish.",
    no_args_is_help=True,
)


@app.command("run")
def run(
    recipe: Annotated[
        str, typer.Argument(help="A recipe YAML, or the name of a shipped one (natiq recipe list).")
    ],
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="The run folder (default: runs/<name>, runs/<name>-tiny)."),
    ] = None,
    from_stage: Annotated[
        str | None,
        typer.Option("--from", help="Run this stage and every later one again, whatever changed."),
    ] = None,
    to_stage: Annotated[str | None, typer.Option("--to", help="Stop after this stage.")] = None,
    tiny: Annotated[
        bool,
        typer.Option(
            "--tiny",
            help="A tiny random base, a few utterances and steps, on CPU: check the recipe first.",
        ),
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bars.")
    ] = True,
) -> None:
    """Run RECIPE into one run folder, skipping stages whose inputs and settings are unchanged."""
    from natiq.recipe.config import load_recipe
    from natiq.recipe.runner import run_recipe

    report = run_recipe(
        load_recipe(recipe),
        run_dir=run_dir,
        from_stage=from_stage,
        to_stage=to_stage,
        tiny=tiny,
        progress=progress,
        log=typer.echo,
    )
    summary = ", ".join(f"{s.name} {s.action}" for s in report.stages)
    typer.echo(f"run folder: {report.run_dir}")
    typer.echo(f"stages: {summary}")


@app.command("list")
def list_recipes() -> None:
    """The recipes shipped with natiq (use the name with `natiq recipe run NAME`)."""
    from natiq.recipe.config import load_recipe, shipped_recipes

    for path in shipped_recipes():
        recipe = load_recipe(path)
        typer.echo(f"{path.stem:24} {recipe.description or ''}".rstrip())


def register(app_root: typer.Typer) -> None:
    app_root.add_typer(app, name="recipe")
