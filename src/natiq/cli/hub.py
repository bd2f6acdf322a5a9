"""``natiq hub``: publish a model folder to the Hugging Face Hub, or fetch one.

Each flag maps to one argument of ``natiq.publish.push`` / ``pull``; the
commands only call the library and print what it did (docs/speaking.md,
"Publishing to and loading from the Hub").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Hugging Face Hub: push a model folder (paths pinned for stock pocket-tts), pull one.",
    no_args_is_help=True,
)


@app.command()
def push(
    folder: Annotated[
        Path, typer.Argument(help="The folder to publish (e.g. a `natiq pocket export`).")
    ],
    repo: Annotated[
        str, typer.Argument(help="The model repository, owner/name (created if missing).")
    ],
    private: Annotated[
        bool, typer.Option("--private", help="Create the repository private.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files and rewritten YAMLs; send nothing.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(help="A Hugging Face token (default: HF_TOKEN or `hf auth login`)."),
    ] = None,
    message: Annotated[str | None, typer.Option(help="Commit message.")] = None,
) -> None:
    """Upload FOLDER to REPO: the files, then each pocket-tts YAML with paths pinned to them."""
    from natiq.publish import plan_push
    from natiq.publish import push as push_plan

    plan = plan_push(folder, repo)
    if dry_run:
        for line in plan.lines(private=private):
            typer.echo(line)
        return
    result = push_plan(plan, private=private, token=token, message=message)
    typer.echo(f"pushed {len(plan.files)} files (commit {result.files_commit})")
    if result.configs_commit:
        typer.echo(
            f"pushed {', '.join(plan.configs)} pinned to it (commit {result.configs_commit})"
        )
        for name in plan.configs:
            typer.echo(
                f"stock: pocket-tts generate --config hf://{plan.repo_id}/{name} --text '...'"
            )
    typer.echo(f"natiq: natiq speak --model hf://{plan.repo_id} --text '...'   ({result.url})")


@app.command()
def pull(
    repo: Annotated[str, typer.Argument(help="owner/name or hf://owner/name[@revision].")],
    revision: Annotated[
        str | None, typer.Option(help="Branch, tag or commit (default: main).")
    ] = None,
) -> None:
    """Fetch REPO into the Hugging Face cache (with the files its YAMLs pin) and print its folder."""
    from natiq.publish import pull as pull_repo

    typer.echo(str(pull_repo(repo, revision)))
