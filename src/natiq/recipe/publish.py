"""The publish stage: upload the run's model folder (export + card) with ``natiq hub push``'s code.

``natiq.publish.plan_push`` decides what goes up (every file, and each
pocket-tts YAML with its paths pinned to ``hf://REPO/FILE@COMMIT``) and
``natiq.publish.push`` uploads it; this stage only records what it did in
``publish/published.json``. With ``publish.dry_run`` it writes the plan to
``publish/plan.txt`` (exactly what ``natiq hub push --dry-run`` prints) and
uploads nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from natiq.common.files import atomic_write_json, atomic_write_text

PLAN_FILE = "plan.txt"
RECEIPT_FILE = "published.json"


def publish_model_folder(
    model_dir: Path, settings: Any, out_dir: Path, *, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Push ``model_dir`` to ``settings.repo`` (or only plan it); return the stage's outputs."""
    from natiq.publish import plan_push, push

    plan = plan_push(model_dir, settings.repo)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [f.path_in_repo for f in plan.files] + list(plan.configs)
    if settings.dry_run:
        lines = plan.lines(private=settings.private)
        atomic_write_text(out_dir / PLAN_FILE, "\n".join(lines) + "\n")
        log(f"dry run: {len(files)} files planned for {plan.repo_id}, nothing uploaded")
        return {"repo": plan.repo_id, "dry_run": True, "files": files}
    result = push(plan, private=settings.private, message=f"natiq recipe: {model_dir.parent.name}")
    receipt = {
        "repo": plan.repo_id,
        "url": result.url,
        "files_commit": result.files_commit,
        "configs_commit": result.configs_commit,
        "files": files,
    }
    atomic_write_json(out_dir / RECEIPT_FILE, receipt)
    log(f"published {len(files)} files to {result.url} (commit {result.files_commit})")
    return receipt
