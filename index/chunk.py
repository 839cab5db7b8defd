"""One file → chunks for embedding, plus the definitions and references the tag query finds.

Chunking follows cAST: a syntax node whose text fits the token limit is one chunk; a larger
node is split along its children, and neighbouring small siblings are merged greedily up to
the limit. Chunks are whole lines (except pieces of a single over-long line), do not overlap,
and together hold every non-blank line of the file.

The tokenizer is the embedder's and costs far more than arithmetic, so merging is planned with
a character-based estimate calibrated on the file's own counts, and only the planned chunk is
counted. Every emitted chunk has been counted: the limit holds whatever the estimate says.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from index.languages import LANGUAGES, TEXT, get_parser, language_for
from index.model import Chunk, Definition, FileAnalysis, Reference
from index.tags import extract_tags, module_path, node_rows

TokenCounter = Callable[[str], int]


# Deeper syntax trees are split by lines: Python's recursion limit is the bound, not the grammar.
_MAX_DEPTH = 150


# A span whose estimate exceeds the limit by this factor is split without being counted.
_COUNT_ABOVE = 1.25


_NON_SPACE = re.compile(r"\S")


def analyze_file(path: str, text: str, count_tokens: TokenCounter, max_tokens: int) -> FileAnalysis:
    """Chunks, definitions, references and import lines of one file.

    ``path`` is repository-relative POSIX. Every chunk satisfies
    ``count_tokens(chunk.embed_text) <= max_tokens``. Raises ValueError only when ``max_tokens``
    cannot hold a chunk header and one character.
    """
    lang = language_for(path, text)
    module = module_path(path)
    lines = _Lines(text)
    if lang is None or lang not in LANGUAGES:
        symbols = _SymbolIndex((), module, "lines", len(lines.text))
        chunker = _Chunker(path, TEXT, lines, symbols, count_tokens, max_tokens)
        chunker.split_lines(0, len(lines.text) - 1)
        return FileAnalysis(path, TEXT, chunker.chunks(()), (), ())
    source = text.encode("utf-8", "surrogatepass")
    root = get_parser(lang).parse(source).root_node
    definitions, references, imports = extract_tags(root, lang, source, path, module)
    symbols = _SymbolIndex(definitions, module, "module", len(lines.text))
    chunker = _Chunker(path, lang, lines, symbols, count_tokens, max_tokens)
    chunker.split_node(root, 0, len(lines.text) - 1)
    return FileAnalysis(path, lang, chunker.chunks(references), definitions, references, imports)



class _Lines:
    """The file's rows as tree-sitter counts them (split on "\\n" alone, the empty row after a final
    newline kept, unlike ``text_lines``), without trailing "\\r"."""

    def __init__(self, text: str) -> None:
        # Trailing "\r" is dropped so that a CRLF checkout embeds (and hashes) like an LF one.
        self.text = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
        filled = [not line.isspace() and line != "" for line in self.text]
        self._chars = list(itertools.accumulate((len(line) + 1 for line in self.text), initial=0))
        self._filled = list(itertools.accumulate(filled, initial=0))
        count = len(self.text)
        self._next = [count] * (count + 1)  # first non-blank row at or after i
        self._prev = [-1] * count  # last non-blank row at or before i
        following, preceding = count, -1
        for i in range(count - 1, -1, -1):
            following = i if filled[i] else following
            self._next[i] = following
        for i in range(count):
            preceding = i if filled[i] else preceding
            self._prev[i] = preceding

    def chars(self, start: int, end: int) -> int:
        return self._chars[end + 1] - self._chars[start]

    def filled(self, start: int, end: int) -> int:
        """How many non-blank rows lie in start..end."""
        return self._filled[end + 1] - self._filled[start] if start <= end else 0

    def trim(self, start: int, end: int) -> tuple[int, int]:
        """start..end without blank rows at either edge; empty (start > end) if all blank."""
        if start > end:
            return start, end
        return self._next[start], self._prev[end]

    def join(self, start: int, end: int) -> str:
        return "\n".join(self.text[start : end + 1])


class _SymbolIndex:
    """Which definition a span of rows belongs to: the innermost one holding most of the
    span's non-blank rows, else the module. A def line merged into its body's first piece, or a
    class's closing brace merged into its last method, keeps the name of the bulk of the code."""

    def __init__(self, definitions: Sequence[Definition], module: str, default_kind: str, rows: int) -> None:
        self.module, self._default_kind = module, default_kind
        self._defs = sorted(definitions, key=lambda d: (d.start_line, -d.end_line))
        self._starts = [d.start_line - 1 for d in self._defs]
        self._parent = [-1] * len(self._defs)
        self._depth = [0] * len(self._defs)
        self._innermost = [-1] * rows
        self._resolved: dict[tuple[int, int], tuple[str, str]] = {}
        stack: list[int] = []
        for i, d in enumerate(self._defs):
            while stack and self._defs[stack[-1]].end_line < d.end_line:
                stack.pop()
            if stack:
                self._parent[i], self._depth[i] = stack[-1], self._depth[stack[-1]] + 1
            stack.append(i)
            # Sorted by start then widest first, so inner definitions paint over outer ones.
            for row in range(d.start_line - 1, min(d.end_line, rows)):
                self._innermost[row] = i

    def resolve(self, start: int, end: int, lines: _Lines) -> tuple[str, str]:
        """(symbol, kind) of rows start..end."""
        key = (start, end)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(start, end, lines)
        return self._resolved[key]

    def _resolve(self, start: int, end: int, lines: _Lines) -> tuple[str, str]:
        total = lines.filled(start, end)
        best, best_key = -1, (-1, -1)
        for k in self._candidates(start, end):
            d = self._defs[k]
            covered = lines.filled(max(start, d.start_line - 1), min(end, d.end_line - 1))
            key = (self._depth[k], covered)
            if 2 * covered > total and key > best_key:
                best, best_key = k, key
        if best < 0:
            return self.module, self._default_kind
        return self._defs[best].qualified_name, self._defs[best].kind

    def _candidates(self, start: int, end: int) -> Iterator[int]:
        """Every definition that intersects start..end: those holding row ``start``, and those
        starting after it inside the span."""
        k = self._innermost[start] if 0 <= start < len(self._innermost) else -1
        while k >= 0:
            yield k
            k = self._parent[k]
        yield from range(bisect.bisect_right(self._starts, start), bisect.bisect_right(self._starts, end))


_Window = tuple[Node | None, int, int]  # a child node (None for a gap) and the rows it owns


@dataclass(frozen=True)
class _Piece:
    """Rows start..end, or a slice of one over-long row when ``text`` is set."""

    start: int
    end: int
    text: str | None = None


class _Chunker:
    def __init__(
        self,
        path: str,
        lang: str,
        lines: _Lines,
        symbols: _SymbolIndex,
        count_tokens: TokenCounter,
        max_tokens: int,
    ) -> None:
        self._path, self._lang, self._lines, self._symbols = path, lang, lines, symbols
        self._count_tokens, self._max = count_tokens, max_tokens
        self._header_chars = 2 * len(path) + 24  # the header names the path and a symbol
        self._counted_chars, self._counted_tokens = 0, 0
        self._chars_per_token = 3.0  # until the first count; code runs about 3.6 on MiniLM
        self._memo: dict[tuple[int, int], int | None] = {}
        self._pieces: list[_Piece] = []

    # The estimate: characters per token, measured on this file and shaded by 10 % so that
    # planned chunks usually pass their one exact count.
    def _estimate(self, start: int, end: int) -> float:
        return (self._lines.chars(start, end) + self._header_chars) / self._chars_per_token

    def _count(self, text: str) -> int:
        tokens = self._count_tokens(text)
        self._counted_chars += len(text)
        self._counted_tokens += max(tokens, 1)
        self._chars_per_token = max(0.5, 0.9 * self._counted_chars / self._counted_tokens)
        return tokens

    def _chunk(self, start: int, end: int, text: str) -> Chunk:
        symbol, kind = self._symbols.resolve(start, end, self._lines)
        return Chunk(self._path, self._lang, start + 1, end + 1, symbol, kind, text)

    def _tokens(self, start: int, end: int) -> int | None:
        """The exact token count of rows start..end as a chunk, or None when the estimate is so far
        over the limit that counting would be wasted. Rows must be trimmed."""
        key = (start, end)
        if key not in self._memo:
            if self._estimate(start, end) > _COUNT_ABOVE * self._max:
                self._memo[key] = None
            else:
                chunk = self._chunk(start, end, self._lines.join(start, end))
                self._memo[key] = self._count(chunk.embed_text)
        return self._memo[key]

    def _fits(self, start: int, end: int) -> bool:
        start, end = self._lines.trim(start, end)
        tokens = self._tokens(start, end) if start <= end else 0
        return tokens is not None and tokens <= self._max

    def _emit(self, start: int, end: int) -> None:
        start, end = self._lines.trim(start, end)
        if start <= end:
            self._pieces.append(_Piece(start, end))

    def split_node(self, node: Node, start: int, end: int, depth: int = 0, lead: int | None = None) -> None:
        """Chunk rows start..end of ``node``. ``lead`` is the first of some rows before ``start``
        that were planned but not emitted (a def line): they open the node's first chunk."""
        start, end = self._lines.trim(start, end)
        if start > end:
            self._flush(lead, end)
        elif lead is None and self._fits(start, end):
            self._emit(start, end)
        elif depth >= _MAX_DEPTH or node.child_count == 0:
            self.split_lines(start, end, lead)
        else:
            windows = self._windows(node, start, end)
            if windows:
                self._pack(windows, depth, lead)
            else:  # cannot happen for non-blank rows; never let the lead rows drop out
                self._flush(lead, end)

    def split_lines(self, start: int, end: int, lead: int | None = None) -> None:
        rows = [(None, row, row) for row in range(start, end + 1) if self._lines.filled(row, row)]
        self._pack(rows, 0, lead)

    def _flush(self, lead: int | None, end: int) -> None:
        if lead is not None:
            self._emit(lead, end)

    def _windows(self, node: Node, start: int, end: int) -> list[_Window]:
        """The children of ``node`` as disjoint row windows covering start..end.

        Siblings sharing a row (``} else {``) cannot both own it: the earlier one does.
        """
        out: list[_Window] = []
        cursor = start
        for child in node.children:
            first, last = node_rows(child)
            if last < cursor:
                continue
            if first > end:
                break
            first, last = max(first, cursor), min(last, end)
            if first > cursor and self._lines.filled(cursor, first - 1):
                out.append((None, cursor, first - 1))
            if self._lines.filled(first, last):
                out.append((child, first, last))
            cursor = last + 1
            if cursor > end:
                break
        if cursor <= end and self._lines.filled(cursor, end):
            out.append((None, cursor, end))
        return out

    def _pack(self, windows: Sequence[_Window], depth: int, lead: int | None = None) -> None:
        """Merge neighbouring windows greedily; split a window that is too big on its own."""
        ends = [end for _, _, end in windows]
        i = 0
        while i < len(windows):
            child, start, end = windows[i]
            first = start if lead is None else lead
            k = self._greedy(first, ends, i, len(ends) - 1)
            if k >= i:
                if k + 1 < len(windows) and self._leads_into(first, ends[k], windows[k + 1]):
                    lead, i = first, k + 1
                else:
                    self._emit(first, ends[k])
                    lead, i = None, k + 1
                continue
            if child is not None:
                self.split_node(child, start, end, depth + 1, lead)
            elif self._lines.filled(start, end) > 1:
                self.split_lines(start, end, lead)
            else:
                self._flush(lead, start - 1)
                self._split_row(self._lines.trim(start, end)[0])
            lead = None
            i += 1

    def _leads_into(self, start: int, end: int, window: _Window) -> bool:
        """Whether rows start..end should open the first chunk of ``window`` rather than be a chunk:
        a short head (a def line, a class line) before a body that will be split.

        Without this, splitting a node leaves its head line as a chunk of its own.
        """
        child, first, last = window
        if child is None or self._estimate(start, end) > self._max / 2 or self._fits(first, last):
            return False
        head = self._symbols.resolve(start, end, self._lines)[0]
        return self._related(head, self._symbols.resolve(first, last, self._lines)[0])

    def _greedy(self, start: int, ends: Sequence[int], first: int, last: int) -> int:
        """The largest k in first..last such that rows start..ends[k] fit; first - 1 if none.

        The plan extends while the estimate allows, then is counted once; an over-long plan is cut
        where the measured density puts the limit, so a failure usually costs one more count.
        """
        k = first
        while k < last and self._estimate(start, ends[k + 1]) <= self._max:
            k += 1
        while k >= first:
            low, high = self._lines.trim(start, ends[k])
            tokens = self._tokens(low, high)
            if tokens is not None and tokens <= self._max:
                return k
            if k == first:
                break
            chars = self._lines.chars(low, high)
            target = chars * self._max / tokens * 0.95 if tokens else chars / _COUNT_ABOVE
            k -= 1
            while k > first and self._lines.chars(start, ends[k]) > target:
                k -= 1
        return first - 1

    def _merge_pieces(self) -> list[_Piece]:
        """Join neighbouring pieces of one definition that fit together.

        Splitting a node leaves small fragments (a def line, a closing brace) that cAST would keep
        apart; fewer, fuller chunks are cheaper to embed and carry more context each.
        """
        pieces = self._pieces
        symbols = [
            None if p.text is not None else self._symbols.resolve(p.start, p.end, self._lines)[0] for p in pieces
        ]
        ends = [p.end for p in pieces]
        out: list[_Piece] = []
        i = 0
        while i < len(pieces):
            run = i
            while run + 1 < len(pieces) and self._related(symbols[run], symbols[run + 1]):
                run += 1
            k = self._greedy(pieces[i].start, ends, i, run) if run > i else i
            out.append(_Piece(pieces[i].start, ends[k]) if k > i else pieces[i])
            i = max(k, i) + 1
        return out

    def _related(self, a: str | None, b: str | None) -> bool:
        """One symbol, or a definition and one nested in it (a class header and its first method).

        Module-level code is not pulled into a definition's pieces: a definition that was split
        keeps its chunks to itself.
        """
        if a is None or b is None:
            return False
        module = self._symbols.module
        return a == b or (a != module and b.startswith(a + ".")) or (b != module and a.startswith(b + "."))

    def _split_row(self, row: int) -> None:
        """Split one over-long row by characters, each piece counted."""
        line = self._lines.text[row]
        header = len(self._chunk(row, row, "").embed_text)
        pos = 0
        while (match := _NON_SPACE.search(line, pos)) is not None:
            pos = match.start()
            size = min(len(line) - pos, max(1, int(self._max * self._chars_per_token) - header))
            while True:
                tokens = self._count(self._chunk(row, row, line[pos : pos + size]).embed_text)
                if tokens <= self._max:
                    break
                if size == 1:
                    raise ValueError(
                        f"max_tokens={self._max} cannot hold the chunk header of {self._path!r} and one character"
                    )
                size = max(1, min(size - 1, int(size * self._max / tokens * 0.95)))
            self._pieces.append(_Piece(row, row, line[pos : pos + size]))
            pos += size

    def chunks(self, references: Sequence[Reference]) -> tuple[Chunk, ...]:
        lines = [r.line for r in references]
        out = []
        for piece in self._merge_pieces():
            text = piece.text if piece.text is not None else self._lines.join(piece.start, piece.end)
            symbol, kind = self._symbols.resolve(piece.start, piece.end, self._lines)
            low = bisect.bisect_left(lines, piece.start + 1)
            high = bisect.bisect_right(lines, piece.end + 1)
            names = tuple(sorted({r.name for r in references[low:high]}))
            out.append(Chunk(self._path, self._lang, piece.start + 1, piece.end + 1, symbol, kind, text, names))
        return tuple(out)
