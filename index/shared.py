"""A team's shared index on Chroma's own server (``chroma run``): what every clone and CI runner
reads instead of indexing the repository again.

On the server, per repository (its root commit) and embedding model:

- ``localreview-<repo>-<model>``: chunk vectors, id = chunk id (path, line, content hash), with the
  chunk's metadata. Queried for similar code, and the embedding cache: a vector is found by its
  chunk's content hash, whichever clone, branch or path stored it.
- ``localreview-<repo>-<model>-files``: one record per *file version*, id = hash of (path, content
  digest, model, chunk size, record format). Its document holds that version's chunk rows,
  definitions and references: the symbol table, addressed by content.

Which files a commit has comes from git, in the local clone: the walk lists them and their digests,
and each names the one record that describes it. So branches share one index and never overwrite
each other; nothing is ever deleted from the server by indexing (see docs/team.md for pruning).

Writers need no lock across machines: every write is an idempotent upsert of content-addressed
data (two jobs writing one file version write the same bytes), and a file record is written only
after the server acknowledged all of its vectors, so a record's presence means its vectors are
there. A run killed or a server restarted mid-run leaves records that are complete and vectors
that the next run finds in the cache; only unacknowledged work is redone.

The clone keeps ``.localreview/state.sqlite`` as a disposable view of the records for its current
files (the planner's symbol lookups stay local and fast); deleting it loses nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.embed import Embedder
from index.model import Chunk, FileAnalysis
from index.progress import IndexStats, Progress
from index.state import FileRows, State, file_rows
from index.store import Hit, VectorStore, chunk_metadata
from index.walk import SourceFile, walk
from reviewer.config import Config
from reviewer.errors import IndexUnreadable

RECORD_FORMAT = 1  # bump when FileRows or chunking changes: old records are then simply not found
FETCH_GROUP = 250  # file records per request
OVERFETCH = 5  # a shared collection holds other branches' chunks too: ask for more, keep the live ones
WRITE_GROUP = 200  # files per round of look-up, publish and view update
EMBED_GROUP = 256  # texts per embedder call; each call's vectors are on the server before the next


class IndexRun(Protocol):
    """What the shared path needs of an ``Indexer`` run (kept apart: no import back)."""

    root: Path
    config: Config
    embedder: Embedder
    emit: Callable[[Progress], None]

    def _parse(self, files: Sequence[SourceFile]) -> list[FileAnalysis]: ...


def model_key(model_id: str) -> str:
    return hashlib.sha1(model_id.encode()).hexdigest()[:10]


def file_key(model_id: str, chunk_limit: int, path: str, digest: str) -> str:
    key = f"{RECORD_FORMAT}\0{model_id}\0{chunk_limit}\0{path}\0{digest}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class FileRecords:
    """The file-version records on the server, in a collection beside the chunk vectors."""

    def __init__(self, store: VectorStore) -> None:
        self.name = f"{store.collection_name}-files"
        self.store = store  # its ``call``: Chroma's errors translated, its transient ones retried
        try:
            # Chroma stores no record without a vector: a constant one-number vector stands in.
            self.collection = store.client.get_or_create_collection(
                self.name, metadata={"record_format": RECORD_FORMAT}, embedding_function=None,
                configuration={"hnsw": {"space": "l2"}})
        except Exception as exc:  # chromadb raises many unrelated types; translate at the boundary
            raise IndexUnreadable(f"cannot open {self.name} on the Chroma server: {exc}",
                                  hint="check store_url and that the server is running") from exc

    def get(self, keys: Sequence[str]) -> dict[str, FileRows]:
        out: dict[str, FileRows] = {}
        for i in range(0, len(keys), FETCH_GROUP):
            got = self.store.call("reading file records", partial(
                self.collection.get, ids=list(keys[i : i + FETCH_GROUP]), include=["documents"]))
            for key, doc in zip(got["ids"], got.get("documents") or [], strict=False):
                if doc:
                    out[key] = _decode(doc)
        return out

    def put(self, records: Sequence[tuple[str, FileRows]]) -> None:
        for i in range(0, len(records), FETCH_GROUP):
            part = records[i : i + FETCH_GROUP]
            self.store.call("writing file records", partial(
                self.collection.upsert,
                ids=[k for k, _ in part],
                embeddings=[[0.0]] * len(part),
                metadatas=[{"path": r.path, "digest": r.digest, "language": r.language} for _, r in part],
                documents=[_encode(r) for _, r in part],
            ))

    def count(self) -> int:
        return int(self.store.call("counting file records", self.collection.count))


def _encode(r: FileRows) -> str:
    return json.dumps({"path": r.path, "digest": r.digest, "language": r.language,
                       "chunks": r.chunks, "defs": r.defs, "refs": r.refs}, separators=(",", ":"))


def _decode(doc: str) -> FileRows:
    d: dict[str, Any] = json.loads(doc)
    return FileRows(d["path"], d["digest"], d["language"], [tuple(c) for c in d["chunks"]],
                    [tuple(x) for x in d["defs"]], [tuple(x) for x in d["refs"]])


def update_shared(ix: IndexRun, state: State, store: VectorStore, stats: IndexStats,
                  only: Iterable[str] | None) -> None:
    """Bring the clone's view to its current files: records from the server where they exist,
    parsed and embedded here (then published) where they do not."""
    cfg, model_id = ix.config, ix.embedder.model_id
    ix.emit(Progress("scan", 0, 0, "listing files"))
    result = walk(ix.root, excludes=cfg.exclude, max_bytes=cfg.max_file_bytes,
                  max_line_length=cfg.max_line_length, only=only)
    stats.skipped, stats.skipped_files = len(result.skipped), list(result.skipped)
    indexed = state.file_digests()
    present = {f.path for f in result.files}
    changed = [f for f in result.files if indexed.get(f.path) != f.digest]
    wanted = None if only is None else set(only)
    gone = sorted(p for p in set(indexed) - present if wanted is None or p in wanted)
    limit = min(cfg.chunk_tokens, ix.embedder.max_tokens)
    keys = {f.path: file_key(model_id, limit, f.path, f.digest) for f in changed}
    records = FileRecords(store)
    ix.emit(Progress("scan", len(result.files), len(result.files), f"{len(changed)} to look up on the server"))
    for i in range(0, len(changed), WRITE_GROUP):
        group = changed[i : i + WRITE_GROUP]
        have = records.get([keys[f.path] for f in group])
        todo = [f for f in group if keys[f.path] not in have]
        fresh = _publish(ix, store, records, todo, keys, stats) if todo else []
        # A record names its file's path and digest; the local file's own win (same bytes anyway).
        rows = [_as_local(have[keys[f.path]], f) for f in group if keys[f.path] in have]
        state.replace_file_rows(rows + fresh)
        ix.emit(Progress("write", min(i + WRITE_GROUP, len(changed)), len(changed)))
    if gone:
        state.remove_files(gone)  # only from this clone's view: another branch may still have them
        stats.removed += len(gone)
    stats.files = len(state.file_digests())
    stats.chunks = state.chunk_count()
    stats.reused = stats.chunks - stats.embedded


def _as_local(r: FileRows, f: SourceFile) -> FileRows:
    return FileRows(f.path, f.digest, r.language, r.chunks, r.defs, r.refs)


def _publish(ix: IndexRun, store: VectorStore, records: FileRecords, files: Sequence[SourceFile],
             keys: dict[str, str], stats: IndexStats) -> list[FileRows]:
    """Parse files no clone has published, make sure the server holds every vector they need,
    then publish their records (last: a record vouches for its vectors)."""
    analyses = ix._parse(files)
    chunks = [c for a in analyses for c in a.chunks]
    on_server = store.existing_ids([c.chunk_id for c in chunks])
    needed = [c for c in chunks if c.chunk_id not in on_server]
    cached = store.vectors_for_hashes(sorted({c.content_hash for c in needed}))
    hits = [c for c in needed if c.content_hash in cached]
    _upsert(store, hits, cached)
    by_hash: dict[str, list[Chunk]] = {}
    for c in needed:
        if c.content_hash not in cached:
            by_hash.setdefault(c.content_hash, []).append(c)
    # Longest-alike together across the embedder's calls too, as the local index does: less padding.
    todo = sorted(by_hash, key=lambda h: len(by_hash[h][0].embed_text))
    stats.embedded += sum(len(v) for v in by_hash.values())
    for i in range(0, len(todo), EMBED_GROUP):
        part = todo[i : i + EMBED_GROUP]
        got = ix.embedder.embed([by_hash[h][0].embed_text for h in part])
        vectors = dict(zip(part, got, strict=True))
        _upsert(store, [c for h in part for c in by_hash[h]], vectors)  # kept at once
        ix.emit(Progress("embed", i + len(part), len(todo)))
    rows = [file_rows(a, f.digest) for a, f in zip(analyses, files, strict=True)]
    records.put([(keys[r.path], r) for r in rows])
    return rows


def _upsert(store: VectorStore, chunks: Sequence[Chunk], vectors: dict[str, np.ndarray]) -> None:
    if chunks:
        store.upsert([c.chunk_id for c in chunks], np.stack([vectors[c.content_hash] for c in chunks]),
                     [chunk_metadata(c) for c in chunks], [c.text for c in chunks])


# -- the reader's side: the planner and `search` ------------------------------------------------
class SharedState(State):
    """The clone's view, whose embedding cache falls back to the server's."""

    remote: VectorStore | None = None

    def cached_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out = super().cached_vectors(model_id, hashes)
        missing = [h for h in hashes if h not in out]
        if missing and self.remote is not None and self.remote.model_id == model_id:
            out.update(self.remote.vectors_for_hashes(missing))
        return out


class LiveStore:
    """Similarity search over a shared collection, limited to the chunks of this clone's files."""

    def __init__(self, store: VectorStore, state: State) -> None:
        self.store, self.state = store, state
        self.model_id = store.model_id

    def query(self, vector: np.ndarray, n: int, exclude_paths: Sequence[str] = ()) -> list[Hit]:
        hits = self.store.query(vector, n * OVERFETCH, exclude_paths=exclude_paths)
        live = self.state.chunks_by_ids([h.id for h in hits])
        return [h for h in hits if h.id in live][:n]


def open_view(root: Path, index_dir: Path, shared: bool) -> State:
    """The state a reader opens: the plain local one, or a shared index's view."""
    path = index_dir / "state.sqlite"
    return SharedState(path, create=False) if shared else State(path, create=False)


def reader_store(store: VectorStore, state: State) -> VectorStore | LiveStore:
    if isinstance(state, SharedState):
        state.remote = store
        return LiveStore(store, state)
    return store


__all__ = ["FileRecords", "LiveStore", "SharedState", "file_key", "model_key", "open_view",
           "reader_store", "update_shared"]
