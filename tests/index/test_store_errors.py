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


class _Flaky:
    """The real collection, whose next ``failures`` calls of ``get`` fail as ``error`` does first."""

    def __init__(self, real: object, failures: int, error: Exception) -> None:
        self.real, self.failures, self.error, self.calls = real, failures, error, 0

    def get(self, **kwargs: object) -> object:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise self.error
        return self.real.get(**kwargs)  # type: ignore[attr-defined]


HNSW_RACE = "Error executing plan: Internal error: Error creating hnsw segment reader: Nothing found on disk"


def test_the_hnsw_reader_race_of_two_writers_is_retried_then_reported(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from chromadb.errors import InternalError

    monkeypatch.setattr("index.store.RETRY_DELAYS", (0.0, 0.0, 0.0))
    store = _store(tmp_path)
    store.upsert(["a"], np.ones((1, 4), dtype=np.float32), [{"path": "a.py", "hash": "h1"}], ["x = 1"])
    real = store.collection
    store.collection = flaky = _Flaky(real, 2, InternalError(HNSW_RACE))
    assert set(store.vectors_for_hashes(["h1"])) == {"h1"} and flaky.calls == 3  # passed on the third try
    store.collection = flaky = _Flaky(real, 10, InternalError(HNSW_RACE))
    with pytest.raises(IndexUnreadable, match=r"reading cached vectors: InternalError: .*Nothing found on disk"):
        store.vectors_for_hashes(["h1"])
    assert flaky.calls == 4  # the first try and one per delay, then reported
    store.collection = flaky = _Flaky(real, 1, InternalError("Error in compaction: Failed to apply logs"))
    with pytest.raises(IndexUnreadable, match="Failed to apply logs"):
        store.existing_ids(["a"])
    assert flaky.calls == 1  # any other failure is reported at once


def test_a_collection_another_writer_created_meanwhile_is_opened(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path)
    store.client.delete_collection("lr-test")
    real_create = store.client.create_collection
    calls: list[str] = []

    def raced(name: str, **kwargs: object) -> object:
        calls.append(name)
        real_create(name, **kwargs)  # the other clone's create lands first
        return real_create(name, **kwargs)  # ours: Chroma's own "already exists"

    monkeypatch.setattr(store.client, "create_collection", raced)
    col = store._open_collection()
    assert col.name == "lr-test" and calls == ["lr-test"]
    assert dict(col.metadata or {})["model_id"] == "m-1"
