"""schemathesis fuzzes every operation of the application's OpenAPI schema,
in process, with valid and invalid data, and the hand-made hostile bodies
hypothesis would rarely find (NaN, Infinity, deep nesting, lone surrogates):
the server must never answer 5xx."""

from __future__ import annotations

import pytest

from natiq.serve.app import create_app
from support.serve import API_KEY, make_settings

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 10
HOSTILE_JSON = [
    b'{"input": "x", "speed": NaN}',
    b'{"input": "x", "speed": Infinity}',
    b'{"input": -Infinity}',
    b"[" * 100_000,
    b"{" * 50_000,
    b'{"input": ' * 3000,
    b'{"input": "\\ud800\\udc00\\ud800"}',
    b'{"input": "x", "voice": {"id": ' + b"[" * 1000 + b"]" * 1000 + b"}}",
]


def can_be_invalid(operation) -> bool:
    """A body, a query or a non-string path parameter (any string is a valid string id)."""
    path_types = [p.definition.get("schema", {}).get("type") for p in operation.path_parameters]
    return bool(
        len(operation.body) or len(operation.query) or any(t != "string" for t in path_types)
    )


def test_no_operation_answers_a_server_error(tmp_path, synthesizer, clip_bytes):
    import schemathesis
    from fastapi.testclient import TestClient
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    # schemathesis' own ASGI client names the host "testserver"; one frame of audio is
    # enough to show a request succeeded
    config = make_settings(tmp_path, allowed_hosts=("testserver",), max_seconds=0.08)
    app = create_app(config, synthesizer)
    auth = {"Authorization": f"Bearer {API_KEY}"}
    client = TestClient(app, base_url="http://127.0.0.1:8000", headers=auth)
    client.__enter__()  # the batch worker runs, as in a real server
    try:
        voice = client.post("/v1/voices", files={"file": ("a.wav", clip_bytes)})
        assert voice.status_code == 201
        for path in ("/v1/audio/speech", "/v1/batch"):
            for body in HOSTILE_JSON:
                response = client.post(
                    path, content=body, headers={"content-type": "application/json"}
                )
                assert response.status_code == 422, (path, body[:40], response.text[:200])

        # the batch body is JSON Lines text: send the generated strings as they are
        schemathesis.serializer.alias("application/x-ndjson", "text/plain")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=auth)
        statuses: dict[str, set[int]] = {}
        no_negative: list[str] = []

        def fuzz(operation, mode: GenerationMode) -> None:
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode, headers=auth))
            def check(case) -> None:
                response = case.call(headers=auth)
                statuses.setdefault(operation.label, set()).add(response.status_code)
                assert response.status_code < 500, (
                    f"{operation.label}: {response.status_code} {response.text[:300]}"
                )

            check()

        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            fuzz(operation, GenerationMode.POSITIVE)
            if can_be_invalid(operation):
                try:
                    fuzz(operation, GenerationMode.NEGATIVE)
                except Unsatisfiable:  # e.g. a free-text body: no input is invalid by the schema
                    no_negative.append(operation.label)
    finally:
        client.__exit__(None, None, None)
    assert set(statuses) == {operation.label for operation in operations}
    assert len(statuses) >= 11
    assert len(no_negative) <= 2, no_negative
    assert any(code in statuses["POST /v1/audio/speech"] for code in (200, 422))
