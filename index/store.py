"""The Chroma vector store: local ``PersistentClient`` in ``<repo>/.localreview/chroma`` or a
Chroma server given by URL (a team's shared index). Vectors only; the symbol table and
the truth about what is indexed live in ``index/state.py``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import numpy as np

from index.model import Chunk
from reviewer.errors import ConfigError, IndexUnreadable

STORE_SCHEMA_VERSION = 1
T = TypeVar("T")
# A Chroma server answers a read of a segment that another writer has just created, before its HNSW
# files are on disk, with InternalError "Error creating hnsw segment reader: Nothing found on disk"
# (chroma-core/chroma#4212): two clones indexing one shared collection at once met it. It passes;
# every call here is idempotent, so it is repeated after these pauses (seconds), then reported.
TRANSIENT_MARKS = ("Nothing found on disk", "hnsw segment reader")
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Hit:
    id: str
    distance: float
    metadata: Mapping[str, Any]


TOKEN_ENV = "LOCALREVIEW_STORE_TOKEN"


def _settings(token: str | None = None) -> Any:
    from chromadb.config import Settings

    # Telemetry would be a network call about the user's code base: never.
    if not token:
        return Settings(anonymized_telemetry=False, allow_reset=False)
    # Sent as `Authorization: Bearer <token>` on every request, to the proxy in front of `chroma run`.
    return Settings(anonymized_telemetry=False, allow_reset=False,
                    chroma_client_auth_provider="chromadb.auth.token_authn.TokenAuthClientProvider",
                    chroma_client_auth_credentials=token)


def _quiet_chroma() -> None:
    # Chroma logs telemetry and HNSW warnings on its own loggers; the CLI owns the terminal.
    for name in ("chromadb", "chromadb.telemetry", "chromadb.segment"):
        logging.getLogger(name).setLevel(logging.ERROR)


class VectorStore:
    def __init__(self, *, path: Path | None = None, url: str | None = None, collection: str, model_id: str) -> None:
        _quiet_chroma()
        try:
            import chromadb
        except ImportError as exc:  # pragma: no cover - a broken install
            raise IndexUnreadable(f"cannot import chromadb: {exc}", hint="reinstall localreview") from exc
        self.model_id = model_id
        self.collection_name = collection
        self.rebuilt_reason: str | None = None
        self.shared = bool(url)
        self.url = url
        try:
            if url:
                parsed = urlparse(url if "://" in url else f"http://{url}")
                if not parsed.hostname:
                    raise ConfigError(f"store_url {url!r} has no host", hint="use http://HOST:PORT")
                self.client: Any = chromadb.HttpClient(
                    host=parsed.hostname,
                    port=parsed.port or 8000,
                    ssl=parsed.scheme == "https",
                    # A secret: from the environment only, never a config file in the repository.
                    settings=_settings(os.environ.get(TOKEN_ENV)),
                )
            else:
                assert path is not None
                path.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(path), settings=_settings())
            self.collection = self._open_collection()
        except (ConfigError, IndexUnreadable):
            raise
        except Exception as exc:  # chromadb raises many unrelated types; translate at the boundary
            where = url or str(path)
            raise IndexUnreadable(
                f"cannot open the Chroma store at {where}: {exc}",
                hint="start the Chroma server (`chroma run --path DIR --port P`) or rebuild with"
                " `localreview index --full`",
            ) from exc

    def _open_collection(self, *, again: bool = False) -> Any:
        meta = {"schema_version": STORE_SCHEMA_VERSION, "model_id": self.model_id}
        from chromadb.errors import NotFoundError

        try:
            col = self.client.get_collection(self.collection_name, embedding_function=None)
        except (NotFoundError, ValueError):  # missing: ValueError in older chromadb versions
            col = None
        except Exception as exc:  # anything else is a store we cannot read, never "create it"
            raise self._unreadable("opening the collection", exc) from exc
        if col is not None:
            have = dict(col.metadata or {})
            if have.get("model_id") != self.model_id or have.get("schema_version") != STORE_SCHEMA_VERSION:
                self.rebuilt_reason = (
                    f"the embedding model changed ({have.get('model_id')} -> {self.model_id})"
                    if have.get("model_id") != self.model_id
                    else f"the store schema changed ({have.get('schema_version')} -> {STORE_SCHEMA_VERSION})"
                )
                if self.shared:  # a team's index: one client on another version must not wipe it
                    raise IndexUnreadable(
                        f"the shared collection {self.collection_name} does not match this localreview:"
                        f" {self.rebuilt_reason}",
                        hint="use the localreview version the team's index was built with, or have an admin"
                        " delete the collection so the next `localreview index` rebuilds it",
                    )
                self.client.delete_collection(self.collection_name)
                col = None
        if col is None:
            try:
                col = self.client.create_collection(
                    self.collection_name,
                    metadata=meta,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                )
            except Exception as exc:
                # Two clones' first index on one server: the other one created it between our look
                # and our create. Look once more (and check its model like any found collection).
                if again or "already exists" not in str(exc):
                    raise
                return self._open_collection(again=True)
        return col

    def _unreadable(self, doing: str, exc: Exception) -> IndexUnreadable:
        where = self.url or "the local store"
        return IndexUnreadable(
            f"the Chroma store ({where}) failed while {doing}: {type(exc).__name__}: {exc}",
            hint="check the Chroma server (`localreview doctor`) and run `localreview index` again"
            if self.url else "rebuild the local index with `localreview index --full`",
        )

    def call(self, doing: str, fn: Callable[[], T]) -> T:
        """One Chroma call. Its errors (many unrelated types) become one of ours at this boundary;
        a transient one (``TRANSIENT_MARKS``) is first retried."""
        for delay in (*RETRY_DELAYS, None):
            try:
                return fn()
            except (IndexUnreadable, ConfigError):
                raise
            except Exception as exc:
                if delay is None or not any(mark in str(exc) for mark in TRANSIENT_MARKS):
                    raise self._unreadable(doing, exc) from exc
                time.sleep(delay)
        raise AssertionError("unreachable: the last delay is None")

    def clear(self) -> None:
        """Drop every vector (``index --full``), keeping the client: Chroma caches clients per
        path, so deleting the folder under a live client would leave it read-only."""
        self.client.delete_collection(self.collection_name)
        self.collection = self._open_collection()

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[Mapping[str, str | int]],
        documents: Sequence[str],
    ) -> None:
        if not ids:
            return
        step = 1000  # Chroma caps the batch size; stay well under it
        for i in range(0, len(ids), step):
            self.call("writing vectors", partial(
                self.collection.upsert,
                ids=list(ids[i : i + step]),
                embeddings=vectors[i : i + step].tolist(),
                metadatas=[dict(m) for m in metadatas[i : i + step]],
                documents=list(documents[i : i + step]),
            ))

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), 1000):
            self.call("deleting vectors", partial(self.collection.delete, ids=list(ids[i : i + 1000])))

    def all_ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        while True:
            got = self.call("listing vectors", partial(self.collection.get, include=[], limit=5000, offset=offset))
            ids = got["ids"]
            out.update(ids)
            if len(ids) < 5000:
                return out
            offset += len(ids)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            got = self.call("looking up vectors", partial(self.collection.get, ids=list(ids[i : i + 500]), include=[]))
            out.update(got["ids"])
        return out

    def vectors_for_hashes(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The embedding cache of a shared index: a vector is keyed by its chunk's content hash
        (the model is the collection's), whichever clone, branch or path stored it."""
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 200):
            got = self.call("reading cached vectors", partial(
                self.collection.get, where={"hash": {"$in": list(hashes[i : i + 200])}},
                include=["embeddings", "metadatas"]))
            embeddings = got.get("embeddings")
            if embeddings is None:
                continue
            for meta, vector in zip(got.get("metadatas") or [], embeddings, strict=False):
                if meta and isinstance(meta.get("hash"), str):
                    out[meta["hash"]] = np.asarray(vector, dtype=np.float32)
        return out

    def count(self) -> int:
        return int(self.call("counting vectors", self.collection.count))

    def query(self, vector: np.ndarray, n: int, exclude_paths: Sequence[str] = ()) -> list[Hit]:
        if self.count() == 0:
            return []
        where: dict[str, Any] | None = None
        if len(exclude_paths) == 1:
            where = {"path": {"$ne": exclude_paths[0]}}
        elif exclude_paths:
            where = {"path": {"$nin": list(exclude_paths)}}
        res = self.call("searching similar code", partial(
            self.collection.query, query_embeddings=[vector.tolist()], n_results=n, where=where,
            include=["distances", "metadatas"]))
        ids = res["ids"][0]
        dists = (res.get("distances") or [[0.0] * len(ids)])[0]
        metas = (res.get("metadatas") or [[{}] * len(ids)])[0]
        return [Hit(i, float(d), m or {}) for i, d, m in zip(ids, dists, metas, strict=False)]


def chunk_metadata(c: Chunk) -> dict[str, str | int]:
    return {
        "path": c.path,
        "language": c.language,
        "start_line": c.start_line,
        "end_line": c.end_line,
        "symbol": c.symbol,
        "kind": c.kind,
        "hash": c.content_hash,
    }
