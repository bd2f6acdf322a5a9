"""Publishing a model folder to the Hugging Face Hub and fetching it back (``natiq hub``).

``plan_push`` decides what a push uploads: every file of the folder (hidden
files and temporaries left out) and, for each pocket-tts YAML in it, the
config with its relative paths pinned to the Hub. A push makes two commits:
the files, then the YAMLs with every path rewritten to
``hf://REPO/FILE@COMMIT`` where ``COMMIT`` is the first commit — an
immutable revision, as pocket-tts' own configs use, so the stock
``pocket-tts generate --config hf://REPO/NAME.yaml`` loads exactly the
weights it was published with, from anywhere, and an old config keeps
loading its own weights after later pushes. ``--dry-run`` prints the plan
(the file list and each rewritten YAML) and sends nothing.

``pull`` fetches a repository snapshot into the Hugging Face cache together
with the files its YAMLs pin, so that it later loads with ``HF_HUB_OFFLINE=1``.
Uploads and downloads go through ``huggingface_hub`` (``HF_ENDPOINT``,
``HF_TOKEN`` and the cache settings apply).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natiq.backends.pocket import config_paths
from natiq.common.errors import DataFormatError, NatiqError
from natiq.common.hub import download_repo, hub_endpoint, parse_hf_url

FIRST_COMMIT = "<commit 1>"
PUBLISHED_HEADER = (
    "# Published by natiq: every path is pinned to the commit that holds its file, so\n"
    "# `pocket-tts generate --config hf://{repo}/{name}` loads it from anywhere.\n"
)


@dataclass(frozen=True)
class UploadFile:
    path_in_repo: str
    source: Path
    size: int


@dataclass
class PushPlan:
    """What ``push`` would upload: plain files first, then the pinned pocket-tts configs."""

    repo_id: str
    folder: Path
    files: list[UploadFile] = field(default_factory=list)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def config_text(self, path_in_repo: str, revision: str) -> str:
        """The YAML as uploaded: relative paths pinned to ``hf://repo/FILE@revision``."""
        pinned = config_paths.pinned_to_hub(
            self.configs[path_in_repo], path_in_repo, self.repo_id, revision
        )
        header = PUBLISHED_HEADER.format(repo=self.repo_id, name=path_in_repo)
        return config_paths.dump_config(pinned, header)

    def lines(self, *, private: bool) -> list[str]:
        """The dry-run listing: every file with its size, then every rewritten YAML in full."""
        total = sum(f.size for f in self.files)
        out = [
            f"would push {self.folder} to {hub_endpoint()}/{self.repo_id} "
            f"({'private' if private else 'public'}; created if missing)",
            f"commit 1: {len(self.files)} files, {total / 1e6:.1f} MB",
        ]
        out += [f"  {f.path_in_repo}  ({f.size} bytes)" for f in self.files]
        if self.configs:
            out.append(
                f"commit 2: {len(self.configs)} pocket-tts config(s), paths pinned to commit 1 "
                f"(shown as @{FIRST_COMMIT})"
            )
            for name in self.configs:
                out += [f"--- {name} ---", self.config_text(name, FIRST_COMMIT).rstrip("\n")]
        return out


@dataclass(frozen=True)
class PushResult:
    url: str
    files_commit: str
    configs_commit: str | None


def _uploadable(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or ".tmp" in path.name:
            continue
        if path.is_file():
            found.append(path)
    return found


def _read_pocket_config(path: Path) -> dict[str, Any] | None:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if config_paths.is_pocket_config(data) else None


def plan_push(folder: str | Path, repo_id: str) -> PushPlan:
    """The upload plan of ``folder`` for ``repo_id`` (``owner/name``); nothing is sent.

    Raises ``DataFormatError`` when a pocket-tts YAML names a file by an
    absolute path or a file that is not in the folder: published, it could
    not load anywhere else.
    """
    root = Path(folder).resolve()
    if not root.is_dir():
        raise DataFormatError(f"{folder}: not a folder")
    repo = _repo_id(repo_id)
    plan = PushPlan(repo_id=repo, folder=root)
    present = set()
    for path in _uploadable(root):
        name = path.relative_to(root).as_posix()
        present.add(name)
        config = _read_pocket_config(path) if path.suffix in (".yaml", ".yml") else None
        if config is None:
            plan.files.append(UploadFile(name, path, path.stat().st_size))
        else:
            plan.configs[name] = config
    for name, config in plan.configs.items():
        absolute = config_paths.absolute_local_paths(config)
        if absolute:
            raise DataFormatError(
                f"{root / name} names files by absolute path ({', '.join(absolute)}); published, it "
                "would not load elsewhere. Export again with `natiq pocket export` (relative paths)"
            )
        for field_name, value in config_paths.config_paths(config):
            if config_paths.is_relative(value):
                in_repo = posixpath.normpath(posixpath.join(posixpath.dirname(name), value))
                if in_repo not in present:
                    raise DataFormatError(
                        f"{root / name}: {'.'.join(field_name)} names {value}, which is not in {root}"
                    )
    if not plan.files and not plan.configs:
        raise DataFormatError(f"{root}: nothing to upload")
    return plan


def _repo_id(value: str) -> str:
    text = value if value.startswith("hf://") else f"hf://{value}"
    try:
        ref = parse_hf_url(text)
    except ValueError:
        raise DataFormatError(f"{value!r}: give the repository as owner/name") from None
    if ref.filename or ref.revision:
        raise DataFormatError(
            f"{value!r}: give the repository as owner/name (no path, no @revision)"
        )
    return ref.repo_id


def push(
    plan: PushPlan, *, private: bool = False, token: str | None = None, message: str | None = None
) -> PushResult:
    """Create the repository if needed and upload ``plan`` in (at most) two commits."""
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=hub_endpoint(), token=token)
    summary = message or f"natiq hub push {plan.folder.name}"
    try:
        api.create_repo(plan.repo_id, private=private, exist_ok=True)
        files = [CommitOperationAdd(f.path_in_repo, str(f.source)) for f in plan.files]
        first = api.create_commit(plan.repo_id, files, commit_message=f"{summary}: files")
        second = None
        if plan.configs:
            configs = [
                CommitOperationAdd(name, plan.config_text(name, first.oid).encode("utf-8"))
                for name in plan.configs
            ]
            second = api.create_commit(
                plan.repo_id,
                configs,
                commit_message=f"{summary}: configs pinned to {first.oid}",
            )
    except HfHubHTTPError as exc:
        raise NatiqError(
            f"pushing to {plan.repo_id} failed: {exc}. Log in with `hf auth login` (or set "
            "HF_TOKEN) with write access to that namespace"
        ) from None
    return PushResult(
        url=f"{hub_endpoint()}/{plan.repo_id}",
        files_commit=first.oid,
        configs_commit=second.oid if second is not None else None,
    )


def pull(repo: str, revision: str | None = None) -> Path:
    """A repository snapshot in the local cache, with every file its pocket-tts YAMLs pin.

    ``repo`` is ``owner/name`` or ``hf://owner/name[@revision]``. Returns the
    snapshot folder; offline, what the cache holds (or a clear error).
    """
    text = repo if repo.startswith("hf://") else f"hf://{repo}"
    try:
        ref = parse_hf_url(text)
    except ValueError:
        raise DataFormatError(f"{repo!r}: give the repository as owner/name[@revision]") from None
    if ref.filename:
        raise DataFormatError(f"{repo!r}: give a repository, not a file in it")
    if revision is not None:
        ref = type(ref)(ref.repo_id, None, revision)
    snapshot = download_repo(ref)
    for path in sorted(snapshot.glob("**/*.y*ml")):
        if _read_pocket_config(path) is not None:
            relative = path.relative_to(snapshot).as_posix()
            url = type(ref)(ref.repo_id, relative, ref.revision).url()
            config_paths.canonical_config(url, fetch=True)
    return snapshot
