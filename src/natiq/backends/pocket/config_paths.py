"""The file paths inside a pocket-tts YAML config: portable on disk, pinned on the Hub.

A pocket-tts config names up to five files (``weights_path``,
``weights_path_without_voice_cloning``, ``flow_lm.weights_path``,
``mimi.weights_path`` and ``flow_lm.lookup_table.tokenizer_path``). pocket-tts
resolves a relative path from the *working directory* and an
``hf://owner/repo/file@revision`` path through the Hugging Face cache. natiq
writes exports with paths relative to the YAML (so a folder can be moved,
renamed or copied to another machine) and resolves them against the YAML's
own location when it loads one: the folder for a local YAML, the same
repository and revision for an ``hf://`` YAML. Publishing rewrites them to
``hf://REPO/FILE@REVISION`` so the stock CLI loads the model from anywhere.

This module also says how much of natiq's text front-end the stock config
can carry: Buckwalter is a pure character map, so it goes into pocket-tts'
``replace_characters``; the other romanizations cannot be expressed there.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from natiq.common.errors import ModelLoadError
from natiq.common.hub import HfRef, download_file, is_hf_url, parse_hf_url

PATH_FIELDS: tuple[tuple[str, ...], ...] = (
    ("weights_path",),
    ("weights_path_without_voice_cloning",),
    ("flow_lm", "weights_path"),
    ("mimi", "weights_path"),
    ("flow_lm", "lookup_table", "tokenizer_path"),
)
URL_PREFIXES = ("hf://", "http://", "https://")


def is_url(value: str) -> bool:
    return value.startswith(URL_PREFIXES)


def is_relative(value: str) -> bool:
    return not is_url(value) and not Path(value).is_absolute()


def config_paths(config: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], str]]:
    """``(field, path)`` for every file the config names."""
    for field in PATH_FIELDS:
        node: Any = config
        for key in field:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            yield field, node


def map_paths(config: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """A copy of ``config`` with every named file passed through ``change``."""
    result = copy.deepcopy(config)
    for field, value in config_paths(config):
        node = result
        for key in field[:-1]:
            node = node[key]
        node[field[-1]] = change(value)
    return result


def resolve_against(location: str, value: str) -> str:
    """A path of a config at ``location`` (its folder, or its ``hf://`` URL), made absolute or a URL."""
    if not is_relative(value):
        return value
    if is_hf_url(location):
        ref = parse_hf_url(location)
        folder = posixpath.dirname(ref.filename or "")
        return HfRef(
            ref.repo_id, posixpath.normpath(posixpath.join(folder, value)), ref.revision
        ).url()
    return str((Path(location) / value).resolve())


def read_config(source: str | Path) -> tuple[dict[str, Any], str]:
    """``(config dict, location)`` of a local YAML or an ``hf://`` one (downloaded, cache first)."""
    import yaml

    text = str(source)
    if is_hf_url(text):
        local, location = download_file(text), text
    else:
        local = Path(text)
        location = str(local.resolve().parent)
    try:
        config = yaml.safe_load(local.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelLoadError(f"{text}: cannot read the model config ({exc})") from None
    except yaml.YAMLError as exc:
        raise ModelLoadError(f"{text}: not a valid YAML file ({exc})") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{text}: a pocket-tts config must be a YAML mapping")
    return config, location


def canonical_config(source: str | Path, *, fetch: bool = False) -> dict[str, Any]:
    """The config with no path that depends on the working directory.

    Relative paths are resolved against the YAML's location: an absolute local
    path for a local YAML, an ``hf://`` URL in the same repository and revision
    for an ``hf://`` one. ``hf://`` paths stay URLs (pocket-tts fetches them;
    checkpoints record them as they are); with ``fetch`` they are also put in
    the Hugging Face cache now, through ``natiq.common.hub`` (cache-only, and
    a clear error, when the Hub cannot be reached). A local file that does not
    exist is a ``ModelLoadError`` naming the field.
    """
    config, location = read_config(source)
    canonical = map_paths(config, lambda value: resolve_against(location, value))
    for field, value in config_paths(canonical):
        if is_hf_url(value):
            if fetch:
                download_file(value)
        elif not is_url(value) and not Path(value).is_file():
            raise ModelLoadError(
                f"{source}: {'.'.join(field)} names {value}, which does not exist "
                "(relative paths are read from the YAML's folder)"
            )
    return canonical


def relative_to_folder(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Paths of files inside ``folder`` written relative to it (POSIX separators); others unchanged."""
    root = folder.resolve()

    def relative(value: str) -> str:
        if is_url(value):
            return value
        path = Path(value).resolve()
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else value

    return map_paths(config, relative)


def absolute_local_paths(config: dict[str, Any]) -> list[str]:
    """Paths that only work on this machine (absolute local paths)."""
    return [
        value
        for _, value in config_paths(config)
        if not is_url(value) and Path(value).is_absolute()
    ]


def pinned_to_hub(
    config: dict[str, Any], yaml_in_repo: str, repo_id: str, revision: str
) -> dict[str, Any]:
    """Relative paths rewritten to ``hf://repo_id/FILE@revision`` (FILE relative to the YAML's folder)."""
    folder = posixpath.dirname(yaml_in_repo)

    def pin(value: str) -> str:
        if not is_relative(value):
            return value
        return HfRef(repo_id, posixpath.normpath(posixpath.join(folder, value)), revision).url()

    return map_paths(config, pin)


def is_pocket_config(config: object) -> bool:
    return isinstance(config, dict) and isinstance(config.get("flow_lm"), dict) and "mimi" in config


def dump_config(config: dict[str, Any], header: str = "") -> str:
    import yaml

    return header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def stock_text_map(frontend_config: Any) -> tuple[dict[str, str], list[str]]:
    """What the stock config can carry of natiq's front-end: ``(replace_characters, warnings)``.

    - native Arabic script (``scheme`` None): nothing to add, the tokenizer reads Arabic;
    - ``buckwalter``: the Arabic -> Buckwalter character map (tatweel deleted),
      so ``pocket-tts generate --text "السلام"`` reaches the model as ``AlslAm``
      (a warning notes what a character map cannot do: read numbers, put
      shadda before its vowel);
    - any other romanization: nothing; a warning says stock tools need romanized input.

    Stock tools never verbalize numbers, normalize, reorder shadda or diacritize:
    the warnings say so when the recorded front-end does any of it.
    """
    scheme = getattr(frontend_config, "scheme", None)
    warnings: list[str] = []
    mapping: dict[str, str] = {}
    if scheme == "buckwalter":
        from natiq.text.buckwalter import ARABIC_TO_BW

        mapping = {**ARABIC_TO_BW, "\u0640": ""}
        warnings.append(
            "stock pocket-tts tools apply the Buckwalter letter map baked into the config, not the "
            "rest of natiq's front-end: numbers are not read out and a shadda must come before its "
            "vowel (as typed), not after it (Unicode NFC order)"
        )
    elif scheme is not None:
        warnings.append(
            f"this model reads {scheme!r}-romanized text, which pocket-tts' config cannot express: "
            f"the stock pocket-tts tools need romanized input (`natiq text romanize --scheme {scheme}`); "
            "natiq applies it itself"
        )
    if getattr(frontend_config, "diacritize", "off") == "auto":
        warnings.append(
            "the model was trained with automatic diacritization, which stock pocket-tts tools do not "
            "apply: give them fully diacritized text"
        )
    return mapping, warnings
