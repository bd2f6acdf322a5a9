"""Entry point of the ``natiq`` console script: assembles the command groups.

Errors a user caused (``NatiqError``) are printed as one clear line and exit
with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import typer

from natiq.common.errors import NatiqError

app = typer.Typer(
    name="natiq",
    help="Arabic text-to-speech: text front-end, data, Pocket TTS and Higgs Audio training, speech, evaluation, serving.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    """Attach the command groups (one module each)."""
    from natiq.cli import text as text_cli

    app.add_typer(text_cli.app, name="text")

    from natiq.cli import data as data_cli

    app.add_typer(data_cli.app, name="data")

    from natiq.cli import serve as serve_cli

    serve_cli.register(app)

    from natiq.cli import speak as speak_cli

    speak_cli.register(app)

    from natiq.cli import demo as demo_cli

    demo_cli.register(app)

    from natiq.cli import recipe as recipe_cli

    recipe_cli.register(app)

    from natiq.cli import higgs as higgs_cli

    app.add_typer(higgs_cli.app, name="higgs")

    from natiq.cli import eval as eval_cli

    app.add_typer(eval_cli.app, name="eval")

    from natiq.cli import pocket as pocket_cli

    app.add_typer(pocket_cli.app, name="pocket")

    from natiq.cli import hub as hub_cli

    app.add_typer(hub_cli.app, name="hub")


_register()


def main() -> None:
    try:
        app()
    except NatiqError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
