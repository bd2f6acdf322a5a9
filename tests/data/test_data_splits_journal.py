"""Deterministic splits, shards and the crash-safe progress journal."""

from __future__ import annotations

from natiq.common.files import read_jsonl
from natiq.data import journal
from natiq.data.prepare import Shard
from natiq.data.splits import assign_splits, id_hash


def test_split_is_deterministic_and_independent_of_order():
    items = [(f"utt{i:04d}", f"spk{i % 3}") for i in range(300)]
    first = assign_splits(items, 0.1)
    second = assign_splits(list(reversed(items)), 0.1)
    assert first == second
    val = sum(1 for split in first.values() if split == "val")
    assert 15 <= val <= 45


def test_every_speaker_gets_val_and_train_when_possible():
    items = [("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B"), ("b3", "B"), ("c1", "C")]
    splits = assign_splits(items, 0.02)
    for speaker in ("A", "B"):
        mine = [splits[i] for i, s in items if s == speaker]
        assert "val" in mine and "train" in mine
    assert splits["c1"] in ("train", "val")


def test_zero_val_fraction_puts_everything_in_train():
    splits = assign_splits([("a", "x"), ("b", "x")], 0.0)
    assert set(splits.values()) == {"train"}


def test_shards_partition_ids():
    ids = [f"utt{i}" for i in range(400)]
    shards = [Shard(i, 4) for i in range(4)]
    owners = [[s.index for s in shards if s.owns(utt)] for utt in ids]
    assert all(len(o) == 1 for o in owners)
    sizes = [sum(1 for o in owners if o == [i]) for i in range(4)]
    assert min(sizes) > 60
    assert 0.0 <= id_hash("x") < 1.0


def test_shard_parse_rejects_bad_values():
    import pytest

    from natiq.common.errors import DataFormatError

    assert Shard.parse("2/5") == Shard(2, 5)
    for text in ("5/5", "a/b", "1", "-1/3"):
        with pytest.raises(DataFormatError):
            Shard.parse(text)


def test_partial_journal_line_is_cut_before_appending(tmp_path):
    path = journal.journal_path(tmp_path, 0, 1)
    journal.append_entry(path, {"key": "a", "status": "ok"})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"key": "b", "sta')
    assert journal.repair_partial_line(path) is True
    assert journal.repair_partial_line(path) is False
    journal.append_entry(path, {"key": "c", "status": "ok"})
    assert [r["key"] for _, r in read_jsonl(path)] == ["a", "c"]
    assert set(journal.read_journals(tmp_path)) == {"a", "c"}


def test_journals_of_all_shards_are_merged(tmp_path):
    journal.append_entry(journal.journal_path(tmp_path, 0, 2), {"key": "a", "status": "ok"})
    journal.append_entry(journal.journal_path(tmp_path, 1, 2), {"key": "b", "status": "ok"})
    assert set(journal.read_journals(tmp_path)) == {"a", "b"}
