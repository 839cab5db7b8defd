"""Incremental indexing: walk → parse → embed what is new → write, keyed on content hashes.

Consistency: SQLite (``state``) is the truth about what is indexed and is updated per group
of files in one transaction *after* their vectors are in Chroma. A run killed at any point
leaves either the old or the new record of each file; orphaned vectors are swept on the
next run (the ``dirty`` flag says one was interrupted). Vectors are cached by (model, chunk
hash), so nothing already embedded is embedded again — also across branch switches.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from index.chunk import analyze_file
from index.embed import Embedder, SentenceTransformerEmbedder
from index.model import Chunk, FileAnalysis
from index.parse_ahead import parse_ahead
from index.paths import index_dir
from index.progress import IndexStats, Progress
from index.state import State
from index.store import VectorStore, chunk_metadata
from index.walk import SourceFile, git_root, walk
from reviewer import git
from reviewer.config import Config
from reviewer.errors import IndexBusy, IndexUnreadable, SchemaMismatch

EMBED_GROUP = 256  # texts per embedder call: big enough to batch well, small enough to checkpoint
# Files per window: parsed together (a window ahead, in a worker), embedded, then written in one
# SQLite transaction / Chroma upsert.
WRITE_GROUP = 200


def ensure_index_dir(root: Path) -> Path:
    d = index_dir(root)
    d.mkdir(exist_ok=True)
    ignore = d / ".gitignore"
    if not ignore.exists():
        # Git then ignores the folder on its own, with no edit to the user's .gitignore.
        ignore.write_text("*\n", encoding="utf-8")
    return d


def collection_name(root: Path, store_url: str | None) -> str:
    """Local stores hold one repository; a shared server holds many, keyed by the repository's
    root commit so every clone of it agrees on the name."""
    if not store_url:
        return "localreview"
    proc = git.run(root, "rev-list", "--max-parents=0", "HEAD")
    roots = sorted(proc.stdout.decode().split())
    key = roots[0][:16] if roots else "empty"
    return f"localreview-{key}"


_EMBEDDERS: dict[tuple[str | None, str, int], Embedder] = {}


def make_embedder(config: Config) -> Embedder:
    """One embedder per model and runtime per process: loading a model costs seconds."""
    key = (config.embedding_model, config.embed_backend, config.embed_batch_size)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = SentenceTransformerEmbedder(
            config.embedding_model, backend=config.embed_backend, batch_size=config.embed_batch_size
        )
    return _EMBEDDERS[key]


def open_store(root: Path, config: Config, model_id: str) -> VectorStore:
    name = collection_name(root, config.store_url)
    if config.store_url:
        from index.shared import model_key

        # One collection per model on a shared server: a teammate on another model must not
        # make the store "rebuild" (delete) everyone's vectors.
        name = f"{name}-{model_key(model_id)}"
    return VectorStore(
        path=None if config.store_url else index_dir(root) / "chroma",
        url=config.store_url,
        collection=name,
        model_id=model_id,
    )


class Indexer:
    """One run of ``localreview index`` over one repository."""

    def __init__(
        self,
        root: Path,
        config: Config,
        *,
        embedder: Embedder | None = None,
        on_event: Callable[[Progress], None] | None = None,
        lock_timeout: float = 300.0,
    ) -> None:
        self.root = git_root(root)
        self.config = config
        self.embedder = embedder if embedder is not None else make_embedder(config)
        self.emit = on_event or (lambda _e: None)
        self.lock_timeout = lock_timeout

    def run(self, *, full: bool = False, only: Iterable[str] | None = None) -> IndexStats:
        started = time.perf_counter()
        d = ensure_index_dir(self.root)
        lock = FileLock(str(d / "index.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            self.emit(Progress("wait", 0, 0, "another localreview index run holds the lock; waiting"))
            try:
                lock.acquire(timeout=self.lock_timeout)
            except Timeout:
                raise IndexBusy(
                    f"another localreview run has been indexing {self.root} for over {self.lock_timeout:.0f} s",
                    hint=f"wait for it to finish, or remove {d / 'index.lock'} if no localreview is running",
                ) from None
        try:
            stats = self._run_locked(d, full=full, only=only)
        finally:
            lock.release()
        stats.seconds = time.perf_counter() - started
        return stats

    # ------------------------------------------------------------------------------------
    def _open_state(self, d: Path, full: bool, stats: IndexStats) -> State:
        if full:
            for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
                (d / name).unlink(missing_ok=True)
        try:
            return State(d / "state.sqlite")
        except SchemaMismatch:
            stats.notes.append("the index was written by another version of localreview: rebuilding it")
            for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
                (d / name).unlink(missing_ok=True)
            return State(d / "state.sqlite")

    def _run_locked(self, d: Path, *, full: bool, only: Iterable[str] | None) -> IndexStats:
        stats = IndexStats()
        state = self._open_state(d, full, stats)
        if self.config.store_url:
            try:
                self._run_shared(state, stats, only)
            finally:
                state.close()
            return stats
        try:
            store = self._open_store(d, full)
            if full:
                store.clear()
            if store.rebuilt_reason or state.get_meta("model_id") not in (None, self.embedder.model_id):
                stats.notes.append(f"{store.rebuilt_reason or 'the embedding model changed'}: rebuilding the index")
                state.remove_files(list(state.file_digests()))
            state.set_meta("model_id", self.embedder.model_id)
            if state.get_meta("dirty") == "1":
                self._reconcile(state, store)
            state.set_meta("dirty", "1")
            self._update(state, store, stats, only)
            state.set_meta("dirty", None)
        finally:
            state.close()
        return stats

    def _run_shared(self, state: State, stats: IndexStats, only: Iterable[str] | None) -> None:
        """A shared index: the server is the truth and is never cleared or swept from here
        (``--full`` rebuilds only this clone's view); see index/shared.py."""
        from index.shared import update_shared

        store = open_store(self.root, self.config, self.embedder.model_id)
        if state.get_meta("model_id") not in (None, self.embedder.model_id):
            stats.notes.append("the embedding model changed: rebuilding this clone's view of the shared index")
            state.remove_files(list(state.file_digests()))
        state.set_meta("model_id", self.embedder.model_id)
        import httpx
        from chromadb.errors import ChromaError

        try:
            update_shared(self, state, store, stats, only)
        except (httpx.HTTPError, ChromaError, OSError) as exc:
            raise IndexUnreadable(
                f"lost the Chroma server at {self.config.store_url} while indexing: {exc}",
                hint="check that it is running, then run `localreview index` again: it keeps all the server"
                " acknowledged and redoes only the rest",
            ) from exc

    def _open_store(self, d: Path, full: bool) -> VectorStore:
        try:
            return open_store(self.root, self.config, self.embedder.model_id)
        except IndexUnreadable:
            if not full or self.config.store_url:
                raise
            # A local store too damaged to open: --full starts it over.
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient.clear_system_cache()
            shutil.rmtree(d / "chroma", ignore_errors=True)
            return open_store(self.root, self.config, self.embedder.model_id)

    def _reconcile(self, state: State, store: VectorStore) -> None:
        """Finish what an interrupted run left: drop orphan vectors, redo files missing vectors."""
        in_store = store.all_ids()
        in_state = state.chunk_ids()
        orphans = sorted(in_store - in_state)
        if orphans:
            store.delete(orphans)
        missing = in_state - in_store
        if missing:
            rows = state.chunks_by_ids(sorted(missing))
            state.forget_digests({r.path for r in rows.values()})

    def _update(self, state: State, store: VectorStore, stats: IndexStats, only: Iterable[str] | None) -> None:
        cfg = self.config
        self.emit(Progress("scan", 0, 0, "listing files"))
        result = walk(
            self.root,
            excludes=cfg.exclude,
            max_bytes=cfg.max_file_bytes,
            max_line_length=cfg.max_line_length,
            only=only,
        )
        n_files = len(result.files)
        self.emit(Progress("scan", n_files, n_files, f"{n_files} files, {len(result.skipped)} skipped"))
        stats.skipped = len(result.skipped)
        stats.skipped_files = list(result.skipped)
        indexed = state.file_digests()
        present = {f.path for f in result.files}
        changed = [f for f in result.files if indexed.get(f.path) != f.digest]
        if only is None:
            gone = sorted(set(indexed) - present)
        else:
            wanted = set(only)
            gone = sorted(p for p in set(indexed) - present if p in wanted)
        stats.removed += self._index_files(state, store, changed, stats)
        if gone:
            old = sorted(state.chunk_ids(gone))
            state.remove_files(gone)
            store.delete(old)
            stats.removed += len(old)
        stats.files = len(state.file_digests())
        stats.chunks = state.chunk_count()
        stats.reused = stats.chunks - stats.embedded

    def _index_files(self, state: State, store: VectorStore, files: Sequence[SourceFile], stats: IndexStats) -> int:
        """Parse (in a worker, a window ahead), embed and write ``files``, one window of
        ``WRITE_GROUP`` files at a time: its vectors cached, then Chroma, then SQLite."""
        limit = min(self.config.chunk_tokens, self.embedder.max_tokens)
        count = self.embedder.count_tokens

        def analyze(f: SourceFile) -> FileAnalysis:
            return analyze_file(f.path, f.text, count, limit)

        removed = 0
        progress = _EmbedProgress(self.emit)
        for window in parse_ahead(files, analyze, WRITE_GROUP):
            end = window.start + len(window.files)
            self.emit(Progress("parse", end, len(files)))
            vectors = self._vectors(state, window.analyses, stats, progress)
            removed += self._write(state, store, window.files, window.analyses, vectors)
            self.emit(Progress("write", end, len(files)))
        return removed

    def _parse(self, files: Sequence[SourceFile]) -> list[FileAnalysis]:
        """Every file's analysis, in order (the shared path's, which embeds on its own)."""
        limit = min(self.config.chunk_tokens, self.embedder.max_tokens)
        out: list[FileAnalysis] = []
        for i, f in enumerate(files):
            out.append(analyze_file(f.path, f.text, self.embedder.count_tokens, limit))
            if i % 50 == 0 or i == len(files) - 1:
                self.emit(Progress("parse", i + 1, len(files)))
        return out

    def _vectors(
        self, state: State, analyses: Sequence[FileAnalysis], stats: IndexStats, progress: _EmbedProgress
    ) -> dict[str, np.ndarray]:
        """Vectors for every chunk hash of a window, from the cache or freshly embedded (and cached
        at once, so an interrupted run keeps what it paid for). Identical chunks are embedded once;
        the texts go to the model longest-alike together (sorted by length, then cut into calls),
        so a batch pads little."""
        model_id = self.embedder.model_id
        by_hash: dict[str, Chunk] = {}
        all_chunks = [c for a in analyses for c in a.chunks]
        for c in all_chunks:
            by_hash.setdefault(c.content_hash, c)
        vectors = state.cached_vectors(model_id, list(by_hash))
        todo = sorted((h for h in by_hash if h not in vectors), key=lambda h: len(by_hash[h].embed_text))
        todo_set = set(todo)
        stats.embedded += sum(1 for c in all_chunks if c.content_hash in todo_set)
        progress.add(len(todo))
        for i in range(0, len(todo), EMBED_GROUP):
            part = todo[i : i + EMBED_GROUP]
            got = self.embedder.embed([by_hash[h].embed_text for h in part])
            state.cache_vectors(model_id, list(zip(part, got, strict=True)))
            vectors.update(zip(part, got, strict=True))
            progress.done_(len(part))
        return vectors

    def _write(
        self,
        state: State,
        store: VectorStore,
        files: Sequence[SourceFile],
        analyses: Sequence[FileAnalysis],
        vectors: dict[str, np.ndarray],
    ) -> int:
        """One group of files: new vectors into Chroma, then the files' record into SQLite in one
        transaction, then the group's stale vectors out of Chroma."""
        old_ids = state.chunk_ids([a.path for a in analyses])
        new_chunks = [c for a in analyses for c in a.chunks if c.chunk_id not in old_ids]
        if new_chunks:
            store.upsert(
                [c.chunk_id for c in new_chunks],
                np.stack([vectors[c.content_hash] for c in new_chunks]),
                [chunk_metadata(c) for c in new_chunks],
                [c.text for c in new_chunks],
            )
        state.replace_files([(a, f.digest) for a, f in zip(analyses, files, strict=True)])
        keep = {c.chunk_id for a in analyses for c in a.chunks}
        stale = sorted(old_ids - keep)
        if stale:
            store.delete(stale)
        return len(stale)


class _EmbedProgress:
    """Embedding progress over the whole run: the total grows as windows are parsed."""

    def __init__(self, emit: Callable[[Progress], None]) -> None:
        self.emit = emit
        self.total = 0
        self.done = 0
        self.started: float | None = None

    def add(self, n: int) -> None:
        if n and self.started is None:
            self.started = time.perf_counter()
            self.emit(Progress("embed", 0, n, "loading the embedding model"))
        self.total += n

    def done_(self, n: int) -> None:
        self.done += n
        rate = self.done / max(time.perf_counter() - (self.started or 0.0), 1e-9)
        self.emit(Progress("embed", self.done, self.total, f"{rate:.1f} chunks/s"))

