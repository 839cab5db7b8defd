"""The baselines of the history benchmark, given the same room as the plan (the tokens its batches
had for context): PR-Agent-style hunks, BM25 over AST chunks, whole changed files.

Ported from ``bench/plan_bench.py`` to diffs of several files and to any language: definitions and
chunks come from ``index.chunk.analyze_file`` (tree-sitter) instead of Python's ``ast``. Tokens are
counted as the planner counts them with ``--backend ollama``: 3 characters per token of the
line-numbered text, plus 40 for the markers around a block.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.plan_bench import PR_AGENT_RADIUS, bm25_tokens

CHARS_PER_TOKEN = 3.0  # reviewer.tokens.ESTIMATE_CHARS_PER_TOKEN
MARKER_TOKENS = 40  # reviewer.plan.MARKER_TOKENS
CHUNK_TOKENS = 256  # Config.chunk_tokens, counted at ~4 characters per embedding-model token
MIN_LEFT = 56


@dataclass(frozen=True)
class Item:
    """A context item as any method produces it: lines of a file, and what they cost."""

    path: str
    start: int
    end: int
    tokens: int
    label: str = ""
    form: str = "full"
    shown: tuple[tuple[int, int], ...] = ()  # a skeleton's lines really sent; empty: start..end

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        return self.shown or ((self.start, self.end),)


def cost(lines: Sequence[str], start: int) -> int:
    text = "\n".join(f"{start + i:>6}   {line}" for i, line in enumerate(lines))
    return math.ceil(len(text) / CHARS_PER_TOKEN) + MARKER_TOKENS


class Tree:
    """The case's working tree (the commit's version), read once: text, chunks, definitions."""

    def __init__(self, root: Path, language: str) -> None:
        from index.chunk import analyze_file
        from index.model import FileAnalysis

        self.root = root
        pattern = ("*.py",) if language == "python" else ("*.ts", "*.tsx")
        listed = subprocess.run(["git", "ls-files", "-z", "-c", "-o", "--exclude-standard", "--", *pattern],
                                cwd=root, capture_output=True, text=True, check=True).stdout.split("\0")
        self.text: dict[str, str] = {}
        for p in sorted({p for p in listed if p}):
            try:
                self.text[p] = (root / p).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
        self.analysis: dict[str, FileAnalysis] = {}
        for p, t in self.text.items():
            try:
                self.analysis[p] = analyze_file(p, t, lambda s: math.ceil(len(s) / 4), CHUNK_TOKENS)
            except (ValueError, RecursionError):
                continue

    def lines(self, path: str) -> list[str]:
        return self.text[path].split("\n") if path in self.text else []

    def item(self, path: str, start: int, end: int, label: str) -> Item:
        return Item(path, start, end, cost(self.lines(path)[start - 1:end], start), label)

    def enclosing_function(self, path: str, line: int) -> tuple[int, int] | None:
        a = self.analysis.get(path)
        best: tuple[int, int] | None = None
        for d in a.definitions if a else ():
            if d.kind in ("function", "method") and d.start_line <= line <= d.end_line and (
                    best is None or d.end_line - d.start_line < best[1] - best[0]):
                best = (d.start_line, d.end_line)
        return best


def pack(room: int, candidates: Iterable[Item]) -> list[Item]:
    chosen: list[Item] = []
    used = 0
    for c in candidates:
        if room - used < MIN_LEFT:
            break
        if used + c.tokens <= room:
            chosen.append(c)
            used += c.tokens
    return chosen


def pr_agent(tree: Tree, hunks: dict[str, list[list[int]]], room: int) -> list[Item]:
    """Each hunk ±10 lines, extended to its enclosing function (PR-Agent's ``extend_patch`` and
    function-aware hunks); narrowed to the ±10 window, then trimmed, to fit."""
    out: list[Item] = []
    left = room
    for path, groups in hunks.items():
        lines = tree.lines(path)
        if not lines:
            continue
        for added in groups:
            lo, hi = max(1, min(added) - PR_AGENT_RADIUS), min(len(lines), max(added) + PR_AGENT_RADIUS)
            fn = tree.enclosing_function(path, min(added))
            spans = [(min(lo, fn[0]), max(hi, fn[1]))] if fn else []
            spans.append((lo, hi))
            item = next((c for c in (tree.item(path, s, e, "pr-agent") for s, e in spans) if c.tokens <= left), None)
            while item is None and hi >= lo:
                lo, hi = lo + 1, hi - 1
                cand = tree.item(path, lo, hi, "pr-agent")
                item = cand if cand.tokens <= left else None
            if item is not None:
                out.append(item)
                left -= item.tokens
    return out


class BM25:
    """BM25 over the AST chunks of every file of the language (``rank_bm25.BM25Okapi``);
    identifiers split on ``_`` and camel case; query = the added lines of the source files."""

    def __init__(self, tree: Tree) -> None:
        from rank_bm25 import BM25Okapi

        self.chunks: list[tuple[str, int, int]] = []
        corpus: list[list[str]] = []
        for a in tree.analysis.values():
            for c in a.chunks:
                self.chunks.append((c.path, c.start_line, c.end_line))
                corpus.append(bm25_tokens(c.embed_text))
        self.bm25 = BM25Okapi(corpus) if corpus else None

    def items(self, tree: Tree, added: dict[str, set[int]], room: int) -> list[Item]:
        if self.bm25 is None:
            return []
        query = "\n".join(tree.lines(p)[n - 1] for p, ns in added.items() for n in sorted(ns)
                          if n <= len(tree.lines(p)))
        scores = self.bm25.get_scores(bm25_tokens(query))
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:300]
        cands = []
        for i in order:
            path, s, e = self.chunks[i]
            if any(s <= n <= e for n in added.get(path, ())):
                continue  # a chunk holding added lines: the diff shows it already
            cands.append(tree.item(path, s, e, "bm25"))
        return pack(room, cands)


def whole_files(tree: Tree, paths: Sequence[str], room: int) -> list[Item]:
    """The changed source files, whole, in diff order; the first that no longer fits is cut to
    the lines that do (what a tool that pastes the files would send)."""
    out: list[Item] = []
    left = room
    for p in paths:
        lines = tree.lines(p)
        if not lines or left < MIN_LEFT:
            continue
        item = tree.item(p, 1, len(lines), "file")
        if item.tokens > left:
            lo, hi = 1, len(lines)
            while lo < hi:  # the longest prefix that fits
                mid = (lo + hi + 1) // 2
                if tree.item(p, 1, mid, "file").tokens <= left:
                    lo = mid
                else:
                    hi = mid - 1
            item = tree.item(p, 1, lo, "file")
            if item.tokens > left:
                continue
        out.append(item)
        left -= item.tokens
    return out
