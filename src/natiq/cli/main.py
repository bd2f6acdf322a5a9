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


_register()


def main() -> None:
    try:
        app()
    except NatiqError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
