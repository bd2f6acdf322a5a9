"""Reaching the Hugging Face Hub: ``hf://`` references, the cache, and failing fast offline.

natiq takes ``hf://owner/repo[@revision]`` (a whole model repository) and
``hf://owner/repo/path/file[@revision]`` (one file, pocket-tts' own notation)
wherever it takes a model. Files go to the ordinary Hugging Face cache
(``HF_HUB_CACHE``), so a second run, ``HF_HUB_OFFLINE=1`` and a cache copied
from another machine all work.

Without a network, huggingface_hub retries each request five times with
back-off (about 25 s per file) before falling back to the cache. natiq probes
the endpoint once (a TCP connection, ``PROBE_TIMEOUT_S``) and, when it cannot
be reached, runs the download in huggingface_hub's offline mode: the cached
copy is used at once, and a missing one is a ``ModelLoadError`` that says what
to do. ``fail_fast_when_offline`` applies the same rule around third-party
loaders (pocket-tts, transformers, datasets) that download by themselves; it
switches ``huggingface_hub.constants.HF_HUB_OFFLINE`` (the flag those
libraries read on every request) for the duration of the block only.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from natiq.common.errors import ModelLoadError

HF_SCHEME = "hf://"
PROBE_TIMEOUT_S = 3.0
PROBE_TTL_S = 60.0

_probes: dict[tuple[str, int], tuple[float, bool]] = {}
_probe_lock = threading.Lock()


@dataclass(frozen=True)
class HfRef:
    """A parsed ``hf://`` reference: a repository, optionally one file in it, at a revision."""

    repo_id: str
    filename: str | None = None
    revision: str | None = None

    def url(self) -> str:
        path = self.repo_id + (f"/{self.filename}" if self.filename else "")
        return HF_SCHEME + path + (f"@{self.revision}" if self.revision else "")


def is_hf_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(HF_SCHEME)


def parse_hf_url(value: str) -> HfRef:
    """``hf://owner/repo[/path/to/file][@revision]`` -> ``HfRef`` (``ValueError`` if malformed)."""
    if not is_hf_url(value):
        raise ValueError(f"{value!r} is not an hf:// reference")
    body = value[len(HF_SCHEME) :]
    revision = None
    if "@" in body:
        body, revision = body.rsplit("@", 1)
        if not revision:
            raise ValueError(f"{value!r}: empty revision after '@'")
    parts = [p for p in body.split("/") if p]
    if len(parts) < 2:
        raise ValueError(f"{value!r}: expected hf://owner/repo[/file][@revision]")
    filename = "/".join(parts[2:]) or None
    return HfRef("/".join(parts[:2]), filename, revision)


def offline_requested() -> bool:
    """``HF_HUB_OFFLINE`` (as huggingface_hub read it, or set since) is on."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return constants.is_offline_mode() or value in {"1", "ON", "YES", "TRUE"}


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT


def _probe_address(endpoint: str) -> tuple[str, int]:
    """Where a TCP connection must succeed for the endpoint to be usable (the proxy, if any)."""
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parsed.scheme) or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(host):
        proxied = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        if proxied.hostname:
            return proxied.hostname, proxied.port or 8080
    return host, port


def _connects(address: tuple[str, int], timeout: float) -> bool:
    """A TCP connection within ``timeout`` (name resolution included, run in a thread)."""
    outcome: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    worker = threading.Thread(target=attempt, daemon=True, name="natiq-hub-probe")
    worker.start()
    worker.join(timeout)
    return bool(outcome and outcome[0])


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the Hub endpoint accepts a TCP connection (cached for ``PROBE_TTL_S``)."""
    address = _probe_address(hub_endpoint())
    with _probe_lock:
        checked = _probes.get(address)
        if checked is not None and time.monotonic() - checked[0] < PROBE_TTL_S:
            return checked[1]
    reachable = _connects(address, timeout)
    with _probe_lock:
        _probes[address] = (time.monotonic(), reachable)
    return reachable


def forget_probes() -> None:
    """Drop cached reachability results (after the network or ``HF_ENDPOINT`` changed)."""
    with _probe_lock:
        _probes.clear()


def use_cache_only() -> bool:
    """True when downloads must come from the cache: offline requested, or the Hub unreachable."""
    return offline_requested() or not hub_reachable()


@contextlib.contextmanager
def fail_fast_when_offline() -> Iterator[bool]:
    """Run a block that may download from the Hub; yields whether it runs cache-only.

    When the Hub is unreachable, huggingface_hub (and ``datasets``, which keeps
    its own copy of the flag) are put in offline mode inside the block, so a
    missing file fails at once instead of after minutes of retries.
    """
    if offline_requested() or hub_reachable():
        yield offline_requested()
        return
    from huggingface_hub import constants

    flags: list[tuple[object, str, object]] = [(constants, "HF_HUB_OFFLINE", True)]
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        flags.append((datasets_config, "HF_HUB_OFFLINE", True))
    previous = [(module, name, getattr(module, name)) for module, name, _ in flags]
    for module, name, value in flags:
        setattr(module, name, value)
    try:
        yield True
    finally:
        for module, name, value in previous:
            setattr(module, name, value)


def _why_cache_only() -> str:
    if offline_requested():
        return "HF_HUB_OFFLINE is set"
    return f"the Hub ({hub_endpoint()}) cannot be reached"


def _not_cached(what: str, repo_id: str, reason: str) -> ModelLoadError:
    return ModelLoadError(
        f"{what} is not in the Hugging Face cache and {reason}. Run "
        f"`natiq hub pull {repo_id}` once with network access (or copy a Hugging Face cache "
        "that holds it and point HF_HUB_CACHE at it), or give a local folder instead"
    )


def _hub_error(what: str, exc: Exception) -> ModelLoadError:
    from huggingface_hub.errors import (
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, GatedRepoError):
        advice = "accept its licence on the Hub and log in (`hf auth login` or HF_TOKEN)"
    elif isinstance(exc, RepositoryNotFoundError):
        advice = "check the name (owner/repo), or log in if it is private"
    elif isinstance(exc, RevisionNotFoundError):
        advice = "check the revision after '@' (a branch, tag or commit id)"
    else:
        advice = "check the name and your network"
    return ModelLoadError(f"cannot download {what}: {type(exc).__name__}: {exc}; {advice}")


@contextlib.contextmanager
def _download(target: HfRef) -> Iterator[bool]:
    """Around one download: cache-only when offline (yields that), clear errors either way."""
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    reason = _why_cache_only()  # before the block below may switch offline mode on
    with fail_fast_when_offline() as cache_only:
        try:
            yield cache_only
        except (LocalEntryNotFoundError, OfflineModeIsEnabled):
            raise _not_cached(target.url(), target.repo_id, reason) from None
        except (HfHubHTTPError, OSError, ValueError) as exc:
            raise _hub_error(target.url(), exc) from None


def download_file(ref: HfRef | str) -> Path:
    """One file of a Hub repository, from the cache when offline; returns its local path."""
    from huggingface_hub import hf_hub_download

    target = parse_hf_url(ref) if isinstance(ref, str) else ref
    if not target.filename:
        raise ValueError(f"{target.url()} names a repository, not a file")
    with _download(target) as cache_only:
        return Path(
            hf_hub_download(
                target.repo_id,
                target.filename,
                revision=target.revision,
                local_files_only=cache_only,
            )
        )


def download_repo(ref: HfRef | str, *, allow_patterns: list[str] | None = None) -> Path:
    """A whole repository snapshot (``snapshot_download``), from the cache when offline."""
    from huggingface_hub import snapshot_download

    target = parse_hf_url(ref) if isinstance(ref, str) else ref
    with _download(target) as cache_only:
        return Path(
            snapshot_download(
                target.repo_id,
                revision=target.revision,
                local_files_only=cache_only,
                allow_patterns=allow_patterns,
            )
        )


def as_hf_url(value: object) -> str | None:
    """``value`` as an ``hf://`` string, if it is one (a ``Path`` collapses ``hf://`` to ``hf:/``)."""
    if isinstance(value, os.PathLike):
        text = os.fspath(value)
        if text.startswith("hf:/") and not text.startswith(HF_SCHEME):
            return HF_SCHEME + text[len("hf:/") :]
        return text if text.startswith(HF_SCHEME) else None
    return value if is_hf_url(value) else None


def resolve_model_reference(value: str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    """``hf://owner/repo[@revision]`` -> the local snapshot folder (cached; see module docstring).

    A reference to one file (``hf://owner/repo/config.yaml``) and anything that
    is not an ``hf://`` reference are returned unchanged: the loaders read
    those themselves.
    """
    url = as_hf_url(value)
    if url is None:
        return value
    try:
        ref = parse_hf_url(url)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None
    if ref.filename:
        return url
    return str(download_repo(ref))
