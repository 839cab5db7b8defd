"""Chroma's errors stop at the store: a collection that cannot be read is never "created", and a
failure during a query or a write is one of ours, with a hint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.store import VectorStore
from reviewer.errors import IndexUnreadable


def _store(tmp_path: Path) -> VectorStore:
    return VectorStore(path=tmp_path / "chroma", collection="lr-test", model_id="m-1")


def test_query_and_write_on_a_vanished_collection_are_translated(tmp_path: Path) -> None:
    store = _store(tmp_path)
    vec = np.ones((1, 4), dtype=np.float32)
    store.upsert(["a"], vec, [{"path": "a.py"}], ["x = 1"])
    assert store.count() == 1
    store.client.delete_collection("lr-test")  # another process wiped it under this one
    with pytest.raises(IndexUnreadable) as caught:
        store.query(vec[0], 3)
    assert "failed while counting vectors" in caught.value.message and "index --full" in (caught.value.hint or "")
    with pytest.raises(IndexUnreadable, match="failed while writing vectors"):
        store.upsert(["b"], vec, [{"path": "b.py"}], ["y = 2"])


def test_an_unreadable_collection_is_not_taken_for_a_missing_one(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path)
    created: list[str] = []

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(store.client, "get_collection", broken)
    monkeypatch.setattr(store.client, "create_collection", lambda *a, **k: created.append("yes"))
    with pytest.raises(IndexUnreadable, match="failed while opening the collection: RuntimeError: disk I/O error"):
        store._open_collection()
    assert created == []  # a store that cannot be read is never replaced by an empty one
