"""The local state database (SQLite, WAL): which files are indexed at which content,
their chunks, definitions and references (the symbol table), and the embedding cache.

SQLite is the source of truth for *what is indexed*; Chroma only holds vectors. A vector
whose id is not in ``chunks`` is an orphan of an interrupted run and is never served.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.model import Chunk, Definition, FileAnalysis
from reviewer.errors import IndexUnreadable, SchemaMismatch

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, digest TEXT NOT NULL, language TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    symbol TEXT NOT NULL, kind TEXT NOT NULL, hash TEXT NOT NULL, language TEXT NOT NULL,
    refs TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE TABLE IF NOT EXISTS defs (
    name TEXT NOT NULL, qualified_name TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
    start_line INTEGER NOT NULL, end_line INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS defs_name ON defs(name);
CREATE INDEX IF NOT EXISTS defs_qname ON defs(qualified_name);
CREATE INDEX IF NOT EXISTS defs_path ON defs(path);
CREATE TABLE IF NOT EXISTS refs (name TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, line INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS refs_name ON refs(name);
CREATE INDEX IF NOT EXISTS refs_path ON refs(path);
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL, hash TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model_id, hash));
"""


@dataclass(frozen=True)
class ChunkRow:
    id: str
    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    hash: str
    language: str


class State:
    """One connection to ``<repo>/.localreview/state.sqlite``."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if not create and not path.exists():
            raise IndexUnreadable(f"no index at {path.parent}", hint="run `localreview index` first")
        try:
            self.db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._check_schema(create)
        except sqlite3.DatabaseError as exc:
            raise IndexUnreadable(
                f"the index at {path.parent} is corrupted ({exc})",
                hint="rebuild it with `localreview index --full`",
            ) from exc

    def _check_schema(self, create: bool) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version != SCHEMA_VERSION:
                raise SchemaMismatch(
                    f"the index at {self.path.parent} has schema version {version}, this localreview uses"
                    f" {SCHEMA_VERSION}",
                    hint="rebuild it with `localreview index --full`",
                    found=version,
                    wanted=SCHEMA_VERSION,
                )
            return
        if not create:
            raise IndexUnreadable(f"no index at {self.path.parent}", hint="run `localreview index` first")
        self.db.executescript(_SCHEMA)
        self.set_meta("schema_version", str(SCHEMA_VERSION))

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    # -- files and chunks -------------------------------------------------------------------
    def file_digests(self) -> dict[str, str]:
        return {p: d for p, d in self.db.execute("SELECT path, digest FROM files")}

    def chunk_ids(self, paths: Iterable[str] | None = None) -> set[str]:
        if paths is None:
            return {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        out: set[str] = set()
        for p in paths:
            out.update(r[0] for r in self.db.execute("SELECT id FROM chunks WHERE path=?", (p,)))
        return out

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def chunks_by_ids(self, ids: Sequence[str]) -> dict[str, ChunkRow]:
        out: dict[str, ChunkRow] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                "SELECT id, path, start_line, end_line, symbol, kind, hash, language FROM chunks"
                f" WHERE id IN ({marks})",
                part,
            ):
                out[row[0]] = ChunkRow(*row)
        return out

    def replace_files(self, analyses: Sequence[tuple[FileAnalysis, str]]) -> None:
        """Record new content for files atomically: their rows, chunks, definitions and references."""
        self.replace_file_rows([file_rows(a, digest) for a, digest in analyses])

    def replace_file_rows(self, files: Sequence[FileRows]) -> None:
        """The same, from rows (a shared index sends rows, not parsed files)."""
        with self.transaction() as db:
            for f in files:
                self._delete_file(db, f.path)
                db.execute("INSERT INTO files(path, digest, language) VALUES(?, ?, ?)", (f.path, f.digest, f.language))
                db.executemany("INSERT OR REPLACE INTO chunks VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)", f.chunks)
                db.executemany("INSERT INTO defs VALUES(?, ?, ?, ?, ?, ?)", f.defs)
                db.executemany("INSERT INTO refs VALUES(?, ?, ?, ?)", f.refs)

    def remove_files(self, paths: Iterable[str]) -> None:
        with self.transaction() as db:
            for p in paths:
                self._delete_file(db, p)

    @staticmethod
    def _delete_file(db: sqlite3.Connection, path: str) -> None:
        for table in ("files", "chunks", "defs", "refs"):
            db.execute(f"DELETE FROM {table} WHERE path=?", (path,))

    def forget_digests(self, paths: Iterable[str]) -> None:
        """Make the next run re-index these files (their vectors went missing)."""
        with self.transaction() as db:
            db.executemany("UPDATE files SET digest='' WHERE path=?", [(p,) for p in paths])

    # -- symbol table -----------------------------------------------------------------------
    def definitions_named(self, name: str) -> list[Definition]:
        rows = self.db.execute(
            "SELECT name, qualified_name, kind, path, start_line, end_line FROM defs WHERE name=?", (name,)
        )
        return [Definition(*r) for r in rows]

    def reference_sites(self, name: str, limit: int) -> list[tuple[str, int]]:
        rows = self.db.execute("SELECT path, line FROM refs WHERE name=? LIMIT ?", (name, limit))
        return [(str(p), int(n)) for p, n in rows]

    # -- embedding cache --------------------------------------------------------------------
    def cached_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            part = hashes[i : i + 500]
            marks = ",".join("?" * len(part))
            for h, blob in self.db.execute(
                f"SELECT hash, vector FROM embeddings WHERE model_id=? AND hash IN ({marks})", (model_id, *part)
            ):
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def cache_vectors(self, model_id: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings(model_id, hash, vector) VALUES(?, ?, ?)",
                [(model_id, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items],
            )


@dataclass(frozen=True)
class FileRows:
    """One file's rows in the tables above, as stored (and as a shared index sends them)."""

    path: str
    digest: str
    language: str
    chunks: list[tuple[str, str, int, int, str, str, str, str, str]]
    defs: list[tuple[str, str, str, str, int, int]]
    refs: list[tuple[str, str, str, int]]


def file_rows(analysis: FileAnalysis, digest: str) -> FileRows:
    return FileRows(
        analysis.path, digest, analysis.language,
        [_chunk_row(c) for c in analysis.chunks],
        [(d.name, d.qualified_name, d.kind, d.path, d.start_line, d.end_line) for d in analysis.definitions],
        [(r.name, r.kind, analysis.path, r.line) for r in analysis.references],
    )


def _chunk_row(c: Chunk) -> tuple[str, str, int, int, str, str, str, str, str]:
    return (c.chunk_id, c.path, c.start_line, c.end_line, c.symbol, c.kind, c.content_hash, c.language,
            "\n".join(c.references))
