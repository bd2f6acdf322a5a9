"""Localhost safety and key handling: Host and Origin checks, a refusal to
listen beyond loopback without a key, key files, wrong-key limits, security
headers and error bodies that hold no internals."""

from __future__ import annotations

import logging
import stat
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from natiq.common.errors import NatiqError
from natiq.serve.app import create_app
from natiq.serve.settings import ServeSettings

WS_URL = "ws://127.0.0.1:8000/v1/stream"
OWN_ORIGIN = "http://127.0.0.1:8000"
BATCH_LINE = '{"input": "مرحبا", "voice": "espeak"}'.encode()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io"])
def test_foreign_host_names_are_refused_so_dns_rebinding_cannot_read_the_server(api, host):
    refused = api.client.get("/v1/voices", headers={"host": host})
    assert refused.status_code == 400
    assert "does not answer to the host name" in refused.json()["detail"]
    assert "--allowed-host" in refused.json()["detail"]
    assert api.client.get("/health", headers={"host": host}).status_code == 400


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]:8000"])
def test_loopback_host_names_are_served(api, host):
    assert api.client.get("/v1/voices", headers={"host": host}).status_code == 200


def test_allowed_host_and_origin_settings_widen_the_checks(make_api):
    api = make_api(allowed_hosts=("tts.example",), allowed_origins=("https://app.example",))
    assert api.client.get("/v1/voices", headers={"host": "tts.example"}).status_code == 200
    accepted = api.client.post(
        "/v1/batch", content=BATCH_LINE, headers={"origin": "https://app.example"}
    )
    assert accepted.status_code == 202


def test_cross_origin_writes_are_refused_but_the_servers_own_page_is_not(api):
    for origin in ("http://evil.example", "null", "http://127.0.0.1:9999"):
        batch = api.client.post("/v1/batch", content=BATCH_LINE, headers={"origin": origin})
        assert batch.status_code == 403, origin
        assert "cross-origin request" in batch.json()["detail"]
    voice = api.client.post(
        "/v1/voices", files={"file": ("a.wav", b"x")}, headers={"origin": "http://evil.example"}
    )
    assert voice.status_code == 403
    # reading is harmless: the browser does not let the other page see the answer
    assert (
        api.client.get("/v1/voices", headers={"origin": "http://evil.example"}).status_code == 200
    )
    own = api.client.post("/v1/batch", content=BATCH_LINE, headers={"origin": OWN_ORIGIN})
    assert own.status_code == 202


def test_cross_origin_websockets_are_closed_before_accept(api, api_key):
    protocols = ["natiq", f"bearer.{api_key}"]
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        api.client.websocket_connect(
            WS_URL, subprotocols=protocols, headers={"origin": "http://evil.example"}
        ),
    ):
        pass
    assert refused.value.code == 1008 and "cross-origin" in refused.value.reason
    with api.client.websocket_connect(
        WS_URL, subprotocols=protocols, headers={"origin": OWN_ORIGIN}
    ) as socket:
        assert socket.accepted_subprotocol == "natiq"


def test_listening_beyond_loopback_without_a_key_is_refused_unless_insecure(tmp_path, caplog):
    with pytest.raises(NatiqError, match=r"refusing to listen on 0\.0\.0\.0 without an API key"):
        create_app(ServeSettings(host="0.0.0.0", data_dir=tmp_path))  # before any model loads
    with caplog.at_level(logging.WARNING, logger="natiq.serve"):
        ServeSettings(host="0.0.0.0", insecure=True).check_exposure(has_key=False)
        ServeSettings(host="127.0.0.1").check_exposure(has_key=False)
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings[0].startswith("NO API KEY: every route is open to any program on the network")
    assert warnings[1].startswith("NO API KEY: every route is open to any program on this machine")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="natiq.serve"):
        ServeSettings(host="0.0.0.0").check_exposure(has_key=True)
    assert caplog.records == []


def test_a_key_file_with_a_bom_and_a_non_ascii_key_authenticates(synthesizer, tmp_path):
    key_file = tmp_path / "arabic-key"
    key_file.write_bytes("\ufeffمفتاح-سري-٢٠٢٦\r\n".encode())
    key_file.chmod(0o600)
    assert ServeSettings(api_key_file=key_file).read_api_key() == "مفتاح-سري-٢٠٢٦"
    settings = ServeSettings(api_key_file=key_file, data_dir=tmp_path / "data")
    client = TestClient(create_app(settings, synthesizer), base_url=OWN_ORIGIN)
    header = b"Bearer " + "مفتاح-سري-٢٠٢٦".encode()
    assert client.get("/v1/voices", headers={"Authorization": header}).status_code == 200
    assert client.get("/v1/voices").status_code == 401


def test_a_key_file_others_can_read_is_warned_about(tmp_path, caplog):
    key_file = tmp_path / "key"
    key_file.write_text("abcdefgh12345")
    key_file.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="natiq.serve"):
        assert ServeSettings(api_key_file=key_file).read_api_key() == "abcdefgh12345"
    assert f"chmod 600 {key_file}" in caplog.text
    caplog.clear()
    key_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with caplog.at_level(logging.WARNING, logger="natiq.serve"):
        ServeSettings(api_key_file=key_file).read_api_key()
    assert caplog.text == ""


def test_wrong_keys_are_limited_per_client_even_through_websocket_subprotocols(make_api, api_key):
    api = make_api(max_auth_failures=3)
    wrong = {"Authorization": "Bearer wrong-key-1"}
    assert [api.client.get("/v1/voices", headers=wrong).status_code for _ in range(2)] == [401, 401]
    # one handshake offering many keys is refused and spends the rest of the allowance
    guesses = ["natiq", *(f"bearer.guess-{i:04d}" for i in range(300))]
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        api.client.websocket_connect(WS_URL, subprotocols=guesses, headers={"Authorization": ""}),
    ):
        pass
    assert refused.value.code == 1008 and refused.value.reason == "offer one API key, not several"
    blocked = api.client.get("/v1/voices")  # now even the right key waits
    assert blocked.status_code == 429 and blocked.headers["retry-after"] == "60"
    assert "too many wrong API keys" in blocked.json()["detail"]
    assert api.client.get("/health").status_code == 200  # public routes stay open


def test_the_page_carries_security_headers(api):
    page = api.client.get("/", headers={"Authorization": ""})
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    script = api.client.get("/static/app.js", headers={"Authorization": ""})
    assert script.headers["x-content-type-options"] == "nosniff"
    refused = api.client.get("/v1/voices", headers={"Authorization": ""})
    assert refused.headers["x-content-type-options"] == "nosniff"  # on refusals too


def test_error_bodies_hold_no_paths_reprs_or_echoed_input(api):
    submitted = api.client.post("/v1/batch", content=BATCH_LINE)
    job_id = submitted.json()["id"]
    jobs = api.state.jobs
    results = jobs.root / job_id / "results.jsonl"
    deadline = time.monotonic() + 30
    while jobs.status(job_id)["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.02)
    results.unlink()
    results.mkdir()  # unreadable: a server-side fault
    raw = TestClient(
        api.client.app,
        base_url=str(api.client.base_url),
        headers=dict(api.client.headers),
        raise_server_exceptions=False,
    )
    try:
        broken = raw.get(f"/v1/batch/{job_id}")
    finally:
        results.rmdir()
    assert broken.status_code == 500
    assert broken.json() == {"detail": "internal server error; see the server log"}
    secret = "do-not-echo-this-secret"
    invalid = api.client.post("/v1/audio/speech", json={"input": {"x": secret}})
    assert invalid.status_code == 422 and secret not in invalid.text
    assert str(jobs.root) not in invalid.text
