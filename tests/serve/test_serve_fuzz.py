"""schemathesis fuzzes every operation of the live server's OpenAPI schema,
with valid and invalid data: the server must never answer 5xx."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 10


def can_be_invalid(operation) -> bool:
    """A body, a query or a non-string path parameter (any string is a valid string id)."""
    path_types = [p.definition.get("schema", {}).get("type") for p in operation.path_parameters]
    return bool(
        len(operation.body) or len(operation.query) or any(t != "string" for t in path_types)
    )


def test_no_operation_answers_a_server_error(server, auth, voice_id):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    # the batch body is JSON Lines text: send the generated strings as they are
    schemathesis.serializer.alias("application/x-ndjson", "text/plain")
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json", headers=auth, timeout=30)
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
            response = case.call(base_url=server.url, headers=auth, timeout=60)
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
    assert set(statuses) == {operation.label for operation in operations}
    assert len(statuses) >= 10
    assert len(no_negative) <= 2, no_negative
    assert any(code in statuses["POST /v1/audio/speech"] for code in (200, 422))
