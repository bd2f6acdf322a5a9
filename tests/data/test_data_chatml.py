"""ChatML voice-cloning samples: same-speaker pairing, determinism, paths, validation;
and the manifest reader later stages use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from natiq.common.errors import DataFormatError
from natiq.common.files import read_jsonl, write_jsonl
from natiq.data.chatml import ChatMLConfig, build_chatml, read_chatml, system_prompt
from natiq.data.manifest import read_manifest


def _build(prepared: Path, output: Path, **kwargs):
    return build_chatml(ChatMLConfig(metadata=prepared / "metadata.jsonl", output=output, **kwargs))


def test_each_target_is_paired_with_other_utterances_of_its_speaker(prepared_mini, tmp_path):
    summary = _build(prepared_mini, tmp_path / "chatml" / "train.jsonl", pairs_per_utterance=3)
    assert summary.targets == 20 and summary.samples == 60
    records = {r.id: r for r in read_manifest(prepared_mini / "metadata.jsonl")}
    by_audio = {r.audio: r for r in records.values()}
    samples = read_chatml(tmp_path / "chatml" / "train.jsonl")
    assert len({s.id for s in samples}) == 60
    for sample in samples:
        reference, target = by_audio[sample.ref_audio], by_audio[sample.target_audio]
        assert reference.id != target.id
        assert reference.speaker == target.speaker == sample.speaker
        assert sample.ref_text == reference.text and sample.target_text == target.text
        assert sample.system == system_prompt()
        assert sample.ref_duration == reference.duration
        assert sample.id == f"{target.id}__ref_{reference.id}"


def test_audio_urls_are_relative_to_the_output_folder(prepared_mini, tmp_path):
    output = tmp_path / "deep" / "out.jsonl"
    _build(prepared_mini, output)
    line = json.loads(output.read_text(encoding="utf-8").splitlines()[0])
    assert [m["role"] for m in line["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    url = line["messages"][2]["content"]["audio_url"]
    assert url.startswith("../") and (output.parent / url).is_file()
    _build(prepared_mini, output, absolute_paths=True)
    line = json.loads(output.read_text(encoding="utf-8").splitlines()[0])
    assert Path(line["messages"][4]["content"]["audio_url"]).is_absolute()


def test_pairing_is_deterministic_given_the_seed(prepared_mini, tmp_path):
    _build(prepared_mini, tmp_path / "a.jsonl", seed=1, pairs_per_utterance=2)
    _build(prepared_mini, tmp_path / "b.jsonl", seed=1, pairs_per_utterance=2)
    _build(prepared_mini, tmp_path / "c.jsonl", seed=2, pairs_per_utterance=2)
    a, b, c = ((tmp_path / f"{name}.jsonl").read_bytes() for name in "abc")
    assert a == b and a != c


def test_max_ref_seconds_and_lonely_speakers(prepared_mini, tmp_path):
    records = read_manifest(prepared_mini / "metadata.jsonl")
    limit = sorted(r.duration for r in records)[5]
    _build(prepared_mini, tmp_path / "short.jsonl", max_ref_seconds=limit, pairs_per_utterance=20)
    for sample in read_chatml(tmp_path / "short.jsonl"):
        assert sample.ref_duration <= limit
    lonely = [r.to_dict(relative_to=prepared_mini) for r in records[:1]]
    write_jsonl(prepared_mini / "lonely.jsonl", lonely)
    summary = build_chatml(
        ChatMLConfig(metadata=prepared_mini / "lonely.jsonl", output=tmp_path / "l.jsonl")
    )
    assert summary.samples == 0 and summary.targets_without_reference == [records[0].id]


def test_inference_sample_without_target_audio_is_valid(tmp_path):
    sample = {
        "id": "x",
        "speaker": "s",
        "messages": [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": "ref"},
            {"role": "assistant", "content": {"type": "audio", "audio_url": "a/ref.wav"}},
            {"role": "user", "content": "target"},
        ],
    }
    write_jsonl(tmp_path / "infer.jsonl", [sample])
    (parsed,) = read_chatml(tmp_path / "infer.jsonl")
    assert (
        parsed.target_audio is None and parsed.ref_audio == (tmp_path / "a" / "ref.wav").resolve()
    )


def test_missing_turn_names_file_and_line(tmp_path):
    good = {"id": "g", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "r"},
            {"role": "assistant", "content": {"type": "audio", "audio_url": "r.wav"}},
            {"role": "user", "content": "t"}]}  # fmt: skip
    bad = {"id": "b", "messages": good["messages"][:2]}
    write_jsonl(tmp_path / "bad.jsonl", [good, bad])
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2: missing turn 3 \(assistant audio\)"):
        read_chatml(tmp_path / "bad.jsonl")


def test_manifest_reader_names_file_and_line(tmp_path, prepared_mini):
    (first, *_) = [r for _, r in read_jsonl(prepared_mini / "metadata.jsonl")]
    broken = {k: v for k, v in first.items() if k != "duration"} | {"id": "other"}
    write_jsonl(tmp_path / "m.jsonl", [first, broken])
    assert [r.duration for r in read_manifest(tmp_path / "m.jsonl")] == [first["duration"], None]
    with pytest.raises(DataFormatError, match=r"m\.jsonl:2: missing field\(s\) duration"):
        read_manifest(tmp_path / "m.jsonl", require=("duration",))
    write_jsonl(tmp_path / "d.jsonl", [first, first])
    with pytest.raises(DataFormatError, match=r"d\.jsonl:2: duplicate id"):
        read_manifest(tmp_path / "d.jsonl")


def test_cli_prepare_and_chatml(tmp_path):
    from natiq.cli.data import app
    from natiq.data.mini_corpus import mini_corpus_manifest

    runner = CliRunner()
    out = tmp_path / "prepared"
    args = ["prepare", "--manifest", str(mini_corpus_manifest()), "--output-dir", str(out)]
    args += ["--romanize", "buckwalter", "--sample-rate", "16000", "--no-progress", "--limit", "6"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "6 utterances" in result.output
    records = read_manifest(out / "metadata.jsonl")
    assert {r.sample_rate for r in records} == {16000} and all(r.text_romanized for r in records)
    result = runner.invoke(
        app,
        [
            "chatml",
            "--metadata",
            str(out / "metadata.jsonl"),
            "--output",
            str(tmp_path / "c.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(read_chatml(tmp_path / "c.jsonl")) == 6
