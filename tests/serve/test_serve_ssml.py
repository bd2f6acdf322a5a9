"""SSML, the lexicon and pauses through the server: the OpenAI route, the WebSocket and
batch jobs read input starting with <speak> as SSML; malformed SSML is a 422 naming the
line and column; --lexicon and --pause reach the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from natiq.common.errors import NatiqError
from natiq.serve.app import create_app
from support.serve import BASE_URL, make_settings

SPEECH = "/v1/audio/speech"
WS_URL = "ws://127.0.0.1:8000/v1/stream"
BREAK = '<speak>مَرْحَبًا <break time="700ms"/> بِكُمْ</speak>'


def longest_zero_run(pcm: bytes) -> float:
    quiet = np.concatenate([[0], (np.frombuffer(pcm, dtype="<i2") == 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(quiet))
    return float((edges[1::2] - edges[::2]).max()) / 24000


def test_the_openai_route_speaks_ssml_and_refuses_malformed_ssml(api) -> None:
    body = {"model": "x", "input": BREAK, "voice": api.voice_id, "response_format": "pcm"}
    spoken = api.client.post(SPEECH, json=body)
    assert spoken.status_code == 200, spoken.text
    assert longest_zero_run(spoken.content) == pytest.approx(0.7, abs=0.03)
    bad = api.client.post(SPEECH, json={**body, "input": "<speak>مرحبا <break time='x'/></speak>"})
    assert bad.status_code == 422
    assert bad.json()["detail"] == (
        'SSML line 1, column 14: <break time=\'x\'>: write e.g. "700ms" or "1.5s"'
    )
    # text that merely contains "<" is plain text
    plain = api.client.post(SPEECH, json={**body, "input": "السعر < 5 دولارات"})
    assert plain.status_code == 200


def test_the_websocket_speaks_ssml_and_reports_its_errors(api, api_key) -> None:
    with api.client.websocket_connect(
        WS_URL, subprotocols=["natiq", f"bearer.{api_key}"], headers={"Authorization": ""}
    ) as socket:
        socket.send_text(json.dumps({"text": BREAK, "voice": api.voice_id}))
        assert socket.receive_json()["type"] == "start"
        pcm = b""
        while (message := socket.receive()).get("bytes") is not None:
            pcm += message["bytes"]
        assert json.loads(message["text"])["type"] == "end"
        socket.send_text(json.dumps({"text": "<speak>نعم</s>", "voice": api.voice_id}))
        error = socket.receive_json()
    assert longest_zero_run(pcm) == pytest.approx(0.7, abs=0.03)
    assert error == {
        "type": "error",
        "status": 422,
        "detail": "malformed SSML at line 1, column 13: mismatched tag",
    }


def test_a_batch_job_takes_ssml_items_and_refuses_a_malformed_one_whole(api) -> None:
    good = json.dumps({"input": BREAK, "voice": "espeak", "id": "ssml"}, ensure_ascii=False)
    bad = json.dumps({"input": "<speak><emphasis>x</emphasis></speak>", "voice": "espeak"})
    refused = api.client.post("/v1/batch", content=f"{good}\n{bad}".encode())
    assert refused.status_code == 422
    assert "batch item 1: SSML line 1, column 8: <emphasis> is not in" in refused.json()["detail"]
    submitted = api.client.post("/v1/batch", content=good.encode())
    assert submitted.status_code == 202, submitted.text
    from test_serve_routes import wait_for_job

    status = wait_for_job(api.client, submitted.json()["id"])
    assert status["completed"] == 1
    wav = api.client.get(status["results"][0]["url"]).content
    assert longest_zero_run(wav[44:]) == pytest.approx(0.7, abs=0.03)


def test_serve_settings_give_the_lexicon_and_the_pauses(tmp_path: Path, tiny_yaml: Path) -> None:
    lexicon = tmp_path / "names.tsv"
    lexicon.write_text("محمد\tmaHomuwd\n", encoding="utf-8")
    settings = make_settings(
        tmp_path, model=str(tiny_yaml), device="cpu", lexicon=lexicon, pauses=("comma=0.3",)
    )
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        engine = client.app.state.natiq.engine
        plan = engine.plan("زار محمد، ثم عاد")
    assert [s.model_text for s in plan.sentences] == ["zaar mahmood.", "thm aad."]
    assert plan.silences == [0.0, 0.3, 0.0]
    with pytest.raises(NatiqError, match="unknown pause"):
        make_settings(tmp_path, pauses=("coma=1",))
