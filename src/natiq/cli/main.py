"""Entry point of the ``natiq`` console script: assembles the command groups.

Errors a user caused (``NatiqError``) are printed as one clear line and exit
with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
import threading
import time

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


#: Libraries whose worker threads the CLI waits for before the interpreter exits.
JOINED_THREAD_MODULES = ("pocket_tts.",)
EXIT_JOIN_SECONDS = 10.0


def wait_for_library_threads(timeout: float = EXIT_JOIN_SECONDS) -> None:
    """Let generation threads that a library never joins finish before exit.

    pocket-tts generates latents in a daemon thread it does not join; when the
    process exits while that thread is still inside torch (a stream stopped at
    ``--max-seconds``, or the decoder finishing first), the C++ runtime aborts
    with "terminate called without an active exception" (exit status 134)
    although every output was written. The thread stops by itself within a
    frame once its stream is closed, so waiting (bounded) gives a clean exit.
    """
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None)
        module = getattr(target, "__module__", "") or ""
        if thread is threading.current_thread() or not module.startswith(JOINED_THREAD_MODULES):
            continue
        thread.join(max(0.0, deadline - time.monotonic()))


def main() -> None:
    try:
        app()
    except NatiqError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    finally:
        wait_for_library_threads()


if __name__ == "__main__":
    main()
