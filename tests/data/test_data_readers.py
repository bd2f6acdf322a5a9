"""One reader per line format: strict reads stop at the first bad row naming ``file:line``,
lenient reads return the good rows and every bad one with the same reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from natiq.common.errors import AudioInputError, DataFormatError
from natiq.common.files import write_jsonl
from natiq.common.rows import parse_rows, read_rows
from natiq.data.batch_lines import parse_batch_lines, read_batch_file
from natiq.data.chatml import read_chatml
from natiq.data.manifest import UtteranceRecord, read_manifest


def _row(record: dict, line: int) -> tuple[int, str]:
    if record.get("audio") == "gone":
        raise AudioInputError("audio file gone not found")
    if "id" not in record:
        raise DataFormatError("missing 'id'")
    return line, record["id"]


LINES = [
    '{"id": "a"}\n',
    "\n",
    "{not json\n",
    "[1, 2]\n",
    '{"id": "b", "audio": "gone"}\n',
    '{"id": "a"}\n',
    '{"id": "c"}\n',
]


def test_lenient_read_keeps_good_rows_and_names_each_bad_one():
    rows = parse_rows(LINES, _row, source="f.jsonl", lenient=True, key=lambda row: row[1])
    assert list(rows) == [(1, "a"), (7, "c")]
    assert [(b.line, b.id, b.error, b.message) for b in rows.bad] == [
        (3, None, "DataFormatError", "f.jsonl:3: invalid JSON (Expecting property name enclosed in double quotes)"),
        (4, None, "DataFormatError", "f.jsonl:4: expected a JSON object, got list"),
        (5, "b", "AudioInputError", "f.jsonl:5: audio file gone not found"),
        (6, "a", "DataFormatError", "f.jsonl:6: duplicate id 'a' (first on line 1)"),
    ]  # fmt: skip


def test_strict_read_raises_the_first_problem_with_its_class_and_place():
    with pytest.raises(DataFormatError, match=r"^f\.jsonl:3: invalid JSON"):
        parse_rows(LINES, _row, source="f.jsonl")
    with pytest.raises(AudioInputError, match=r"^f\.jsonl:2: audio file gone not found$"):
        parse_rows([LINES[0], LINES[4]], _row, source="f.jsonl")
    assert parse_rows([LINES[0], LINES[0]], _row, source="f.jsonl") == [(1, "a"), (2, "a")]


def test_a_partial_last_line_is_skipped_only_when_asked(tmp_path: Path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b', encoding="utf-8")
    assert read_rows(path, _row, skip_partial_last_line=True) == [(1, "a")]
    with pytest.raises(DataFormatError, match=r"log\.jsonl:2: invalid JSON"):
        read_rows(path, _row)
    path.write_bytes(b'{"id": "\xff"}\n')
    with pytest.raises(DataFormatError, match="not UTF-8"):
        read_rows(path, _row)
    with pytest.raises(DataFormatError, match="no such file"):
        read_rows(tmp_path / "absent.jsonl", _row)


def test_utterance_rows_round_trip_with_paths_relative_to_the_manifest(tmp_path: Path):
    record = UtteranceRecord(
        id="utt_1",
        audio=tmp_path / "audio" / "utt_1.wav",
        duration=1.5,
        sample_rate=24000,
        speaker="spk",
        split="val",
        text_raw="نص",
        text="نص",
        text_romanized="nS",
        romanization="buckwalter",
    )
    written = record.to_dict(relative_to=tmp_path)
    assert list(written) == [
        "id", "audio", "duration", "sample_rate", "speaker", "split", "text_raw", "text",
        "text_romanized", "romanization",
    ]  # fmt: skip
    assert written["audio"] == "audio/utt_1.wav"
    write_jsonl(tmp_path / "metadata.jsonl", [written])
    (back,) = read_manifest(tmp_path / "metadata.jsonl")
    assert back == record.model_copy(update={"line": 1, "where": f"{tmp_path}/metadata.jsonl:1"})
    assert back.to_dict(relative_to=tmp_path) == written


def test_manifest_rows_need_the_core_fields_and_what_the_reader_requires(tmp_path: Path):
    core = {"id": "a", "audio": "a.wav", "text": "نص", "speaker": "s"}
    rows = [
        core,
        {**core, "id": "b", "split": "test"},
        {**core, "id": "c d"},
        {"id": "e", "audio": "e.wav"},
        {**core, "id": "f", "text_romanized": "nS"},
        {**core, "id": "g", "duration": -1},
        {**core, "id": "h", "split": "val", "duration": 2.0, "latents": "l/h.st", "num_frames": 25},
    ]
    write_jsonl(tmp_path / "m.jsonl", rows)
    read = read_manifest(tmp_path / "m.jsonl", lenient=True)
    assert [r.id for r in read] == ["a", "h"]
    assert read[0].split == "train" and read[0].audio == tmp_path / "a.wav"
    assert (read[0].latents, read[1].latents) == (None, tmp_path / "l" / "h.st")
    assert [b.reason for b in read.bad] == [
        "'split': must be one of ('train', 'val'), got 'test'",
        "'id': 'c d' is not a safe file name (letters, digits, '_', '.', '-'; not starting with '.' or '-')",
        "missing field(s) speaker, text",
        "'text_romanized' and 'romanization' go together",
        "'duration': Input should be greater than 0",
    ]  # fmt: skip
    val = read_manifest(tmp_path / "m.jsonl", split="val", lenient=True)
    assert [r.id for r in val] == ["h"] and len(val.bad) == 5
    timed = read_manifest(tmp_path / "m.jsonl", require=("duration",), lenient=True)
    assert [r.id for r in timed] == ["h"]
    assert timed.bad[0].message == f"{tmp_path}/m.jsonl:1: missing field(s) duration"


def test_chatml_lenient_read_reports_bad_lines_and_duplicates(tmp_path: Path):
    turns = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "ref"},
        {"role": "assistant", "content": {"type": "audio", "audio_url": "r.wav", "duration": 2}},
        {"role": "user", "content": "target"},
    ]
    lines = [
        {"id": "one", "messages": turns},
        {"id": "two", "messages": turns[:2]},
        {"id": "one", "messages": turns},
        {"id": "three", "messages": [*turns[:2], {**turns[2], "role": "user"}, turns[3]]},
    ]
    write_jsonl(tmp_path / "c.jsonl", lines)
    samples = read_chatml(tmp_path / "c.jsonl", lenient=True)
    assert [(s.id, s.line, s.ref_audio, s.ref_duration) for s in samples] == [
        ("one", 1, tmp_path / "r.wav", 2.0)
    ]
    assert [b.reason for b in samples.bad] == [
        "missing turn 3 (assistant audio)",
        "duplicate id 'one' (first on line 1)",
        "turn 3 must be an assistant audio turn with an audio_url",
    ]
    with pytest.raises(DataFormatError, match=r"c\.jsonl:2: missing turn 3"):
        read_chatml(tmp_path / "c.jsonl")


def test_batch_lines_are_one_format_for_the_cli_and_the_server(tmp_path: Path):
    lines = [
        {"id": "greeting", "text": "مرحبا", "voice": "ref.wav"},
        {"input": "أهلا", "response_format": "flac"},
        {"text": "x", "pitch": 1.2},
        {"text": "y", "id": "line00002"},
    ]
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    read = read_batch_file(path, lenient=True)
    assert [(r.output_id(), r.text, r.voice, r.response_format) for r in read] == [
        ("greeting", "مرحبا", "ref.wav", None),
        ("line00002", "أهلا", None, "flac"),
    ]
    assert [(b.line, b.reason) for b in read.bad] == [
        (3, "unknown field 'pitch'"),
        (4, "duplicate id 'line00002' (first on line 2)"),
    ]
    body = path.read_text(encoding="utf-8").splitlines()
    assert list(parse_batch_lines(body[:2], source="batch")) == list(read)
    with pytest.raises(DataFormatError, match=r"^batch:3: unknown field 'pitch'$"):
        parse_batch_lines(body, source="batch")


def test_a_batch_line_may_set_its_speed_from_a_quarter_to_four() -> None:
    lines = ['{"text": "a", "speed": 0.25}', '{"text": "b", "speed": 4}', '{"text": "c"}']
    assert [line.speed for line in parse_batch_lines(lines)] == [0.25, 4.0, None]
    for bad in ("0.2", "4.5", '"fast"'):
        with pytest.raises(DataFormatError, match=r"^batch:1: .*speed"):
            parse_batch_lines(['{"text": "a", "speed": ' + bad + "}"])
