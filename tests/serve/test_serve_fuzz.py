"""schemathesis fuzzes every operation of the live server's OpenAPI schema,
with valid and invalid data: the server must never answer 5xx."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_operation_answers_a_server_error(server, auth, voice_id, mode):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    # the batch body is JSON Lines text: send the generated strings as they are
    schemathesis.serializer.alias("application/x-ndjson", "text/plain")
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json", headers=auth, timeout=30)
    strategy = schema.as_strategy(generation_mode=GenerationMode(mode), headers=auth)
    seen: list[tuple[str, int]] = []

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case) -> None:
        response = case.call(base_url=server.url, headers=auth, timeout=60)
        seen.append((case.operation.label, response.status_code))
        assert response.status_code < 500, (
            f"{case.operation.label}: {response.status_code} {response.text[:300]}"
        )

    check()
    operations = {label for label, _ in seen}
    assert len(operations) >= 6, operations
