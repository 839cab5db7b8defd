"""Plain records shared by the indexer and the reviewer. No behaviour, no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Definition:
    """A named definition found by a tag query: a function, class, method, type, ..."""

    name: str  # the bare name, e.g. "parse"
    qualified_name: str  # e.g. "pkg.b.Parser.parse"
    kind: str  # "function" | "method" | "class" | "interface" | "type" | "module" | ...
    path: str  # repository-relative, POSIX separators
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive


@dataclass(frozen=True)
class Reference:
    """A name used at a line: a call, a type use, an import."""

    name: str
    kind: str  # "call" | "type" | "import" | "name"
    line: int  # 1-based


@dataclass(frozen=True)
class Chunk:
    path: str
    language: str
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    symbol: str  # qualified symbol path of the innermost enclosing definition, or the module path
    kind: str  # "function" | "class" | "method" | "module" | "block" | "lines" | ...
    text: str  # the source text of lines start_line..end_line
    references: tuple[str, ...] = ()  # names this chunk references (calls, types, imports)

    @property
    def header(self) -> str:
        return f"# {self.path} :: {self.symbol}\n"

    @property
    def embed_text(self) -> str:
        """What the embedder sees: a short header naming the path and symbol, then the code."""
        return self.header + self.text

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def chunk_id(self) -> str:
        """Stable id: the same content at the same place keeps its id across runs."""
        key = f"{self.path}\0{self.start_line}\0{self.content_hash}"
        return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class FileAnalysis:
    path: str
    language: str  # a tree-sitter language name, or "text" for line-chunked files
    chunks: tuple[Chunk, ...]
    definitions: tuple[Definition, ...]
    references: tuple[Reference, ...]
    # Lines (1-based, inclusive ranges) holding the module's import statements.
    import_ranges: tuple[tuple[int, int], ...] = field(default=())

    def enclosing(self, line: int) -> Definition | None:
        """The innermost definition whose lines contain ``line``."""
        best: Definition | None = None
        for d in self.definitions:
            if d.start_line <= line <= d.end_line and (
                best is None or (d.end_line - d.start_line) < (best.end_line - best.start_line)
            ):
                best = d
        return best
