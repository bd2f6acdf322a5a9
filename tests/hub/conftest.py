"""Fixtures of the Hub tests: a tiny Buckwalter export, and a local HTTP server standing in for the Hub.

``FakeHub`` is a real HTTP server on 127.0.0.1 that answers the three
endpoints an upload uses (create repo, preupload, commit) the way the Hub
documents them, records every request, and keeps the committed files, so a
test can lay them out as the Hugging Face cache would hold them after a
download. Everything else is answered 404 (and recorded).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = "natiq-tests/arabic-voice"


@dataclass
class Commit:
    oid: str
    message: str
    files: dict[str, bytes]


@dataclass
class FakeHub:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)

    def files_at(self, index: int) -> dict[str, bytes]:
        """The repository's files after commit ``index`` (commits add files, never remove)."""
        files: dict[str, bytes] = {}
        for commit in self.commits[: index + 1]:
            files.update(commit.files)
        return files

    def write_cache(self, cache: Path, repo_id: str) -> None:
        """``models--owner--name/{blobs,snapshots/<commit>,refs/main}`` as huggingface_hub leaves them."""
        root = cache / f"models--{repo_id.replace('/', '--')}"
        for index, commit in enumerate(self.commits):
            for name, data in self.files_at(index).items():
                blob = root / "blobs" / hashlib.sha256(data).hexdigest()
                blob.parent.mkdir(parents=True, exist_ok=True)
                blob.write_bytes(data)
                link = root / "snapshots" / commit.oid / name
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(os.path.relpath(blob, link.parent))
        (root / "refs").mkdir(parents=True, exist_ok=True)
        (root / "refs" / "main").write_text(self.commits[-1].oid, encoding="utf-8")


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            hub.requests.append({"method": "GET", "path": self.path})
            self._reply(404, {"error": "not served by the fake Hub"})

        do_HEAD = do_GET

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            hub.requests.append(
                {"method": "POST", "path": path, "auth": self.headers.get("Authorization")}
            )
            if path == "/api/repos/create":
                request = json.loads(body)
                hub.created.append(request)
                name = f"{request.get('organization')}/{request['name']}"
                self._reply(200, {"url": f"{hub.url}/{name}", "name": name})
                return
            match = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/([^/]+)", path)
            if match is None:
                self._reply(404, {"error": "not served by the fake Hub"})
                return
            repo, action = match.group(1), match.group(2)
            if action == "preupload":
                files = json.loads(body)["files"]
                modes = [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                    for f in files
                ]
                self._reply(200, {"files": modes})
                return
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            header = next(line["value"] for line in lines if line["key"] == "header")
            files = {
                line["value"]["path"]: base64.b64decode(line["value"]["content"])
                for line in lines
                if line["key"] == "file"
            }
            oid = hashlib.sha1(body).hexdigest()
            hub.commits.append(Commit(oid, header["summary"], files))
            self._reply(
                200,
                {
                    "commitUrl": f"{hub.url}/{repo}/commit/{oid}",
                    "commitOid": oid,
                    "pullRequestUrl": None,
                },
            )

    return Handler


@pytest.fixture(scope="module")
def fake_hub():
    hub = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Pocket model exported by natiq with the Buckwalter front-end."""
    from natiq.backends.pocket import model_setup
    from natiq.backends.pocket.base_model import load_base
    from natiq.backends.pocket.export import write_export
    from natiq.backends.pocket.tiny import write_tiny_model
    from natiq.text import FrontendConfig

    root = tmp_path_factory.mktemp("export")
    tts = load_base(str(write_tiny_model(root / "base")), device="cpu")
    model_setup.configure_text_prep(tts)
    write_export(
        tts,
        FrontendConfig(scheme="buckwalter"),
        root / "export",
        name="natiq_arabic",
        origin="step_4",
    )
    return root / "export"


@pytest.fixture(scope="session")
def voice_clip() -> Path:
    from natiq.data.mini_corpus import mini_corpus_manifest

    return mini_corpus_manifest().parent / "audio" / "spk1_000.wav"
