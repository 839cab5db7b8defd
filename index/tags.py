"""Definitions, references and import lines from a grammar's tag query: the symbol table's raw material."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tree_sitter import Node, QueryCursor

from index.languages import LANGUAGES, get_tags_query
from index.model import Definition, Reference

# Definitions of these kinds open a namespace for the names defined inside them.
_SCOPE_KINDS = frozenset({"function", "method", "class", "interface", "struct", "enum", "trait", "module", "impl"})


_REFERENCE_KINDS = {"class": "type", "interface": "type", "implementation": "type", "send": "call"}


_QUOTES = "\"'`<>"


def module_path(path: str) -> str:
    """``pkg/sub/mod.py`` → ``pkg.sub.mod``; ``pkg/__init__.py`` → ``pkg``; ``src/a/b.ts`` → ``src.a.b``."""
    parts = [part for part in path.split("/") if part and part != "."]
    if not parts:
        return path
    name = parts[-1]
    dot = name.rfind(".")
    if dot > 0:
        parts[-1] = name[:dot]
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def node_rows(node: Node) -> tuple[int, int]:
    """0-based first and last row of ``node``; a node ending at column 0 ends on the row before."""
    start, (end, column) = node.start_point.row, node.end_point
    return start, (end - 1 if column == 0 and end > start else end)



def _node_text(node: Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


@dataclass
class _Tag:
    """A definition or an enclosing scope (a Rust impl) found by the query."""

    node: Node
    name: str
    kind: str
    name_node: Node
    receiver: str = ""
    is_scope: bool = False


def extract_tags(
    root: Node, lang: str, source: bytes, path: str, module: str
) -> tuple[tuple[Definition, ...], tuple[Reference, ...], tuple[tuple[int, int], ...]]:
    """Definitions, references and import line ranges of a parsed file (``source`` is what was
    parsed, ``module`` the file's module path)."""
    tags: dict[int, _Tag] = {}  # by name node start: one name, one definition
    raw_refs: list[tuple[Node, str]] = []
    import_rows: list[tuple[int, int]] = []
    rank: dict[int, tuple[int, int]] = {}
    for pattern, captures in QueryCursor(get_tags_query(lang)).matches(root):
        tag = _match_tag(captures, source)
        if tag is not None:
            key = tag.name_node.start_byte
            # Wrappers (decorators, templates) are matched too: the widest node wins, and on a
            # tie the earlier pattern (Kotlin lists "interface" before "class").
            if key not in rank or (_width(tag.node), -pattern) > rank[key]:
                tags[key], rank[key] = tag, (_width(tag.node), -pattern)
            continue
        for kind, node, names in _match_references(captures):
            raw_refs.extend((name, kind) for name in names)
            if kind == "import":
                import_rows.append(node_rows(node))
    definitions = _qualify(sorted(tags.values(), key=_tag_order), lang, path, module)
    defined = {(t.name_node.start_byte, t.name_node.end_byte) for t in tags.values()}
    references = _references(raw_refs, defined, source)
    return definitions, references, _merge_rows(import_rows)


def _width(node: Node) -> int:
    return node.end_byte - node.start_byte


def _tag_order(tag: _Tag) -> tuple[int, int, bool]:
    return tag.node.start_byte, -tag.node.end_byte, not tag.is_scope


def _match_tag(captures: dict[str, list[Node]], source: bytes) -> _Tag | None:
    node = name = None
    kind, receiver, is_scope = "", "", False
    for capture, nodes in captures.items():
        if capture.startswith("definition."):
            node, kind = nodes[0], capture[len("definition.") :]
        elif capture.startswith("name.definition.") or capture == "name.scope":
            name = nodes[0]
        elif capture == "scope":
            node, kind, is_scope = nodes[0], "impl", True
        elif capture == "receiver":
            receiver = _node_text(nodes[0], source).strip()
    if node is None or name is None:
        return None
    return _Tag(node, _node_text(name, source).strip(), kind, name, receiver, is_scope)


def _match_references(captures: dict[str, list[Node]]) -> Iterator[tuple[str, Node, list[Node]]]:
    for capture, nodes in captures.items():
        if capture.startswith("reference."):
            kind = capture[len("reference.") :]
            names = captures.get(f"name.reference.{kind}", [])
            yield _REFERENCE_KINDS.get(kind, kind), nodes[0], names


def _qualify(tags: Sequence[_Tag], lang: str, path: str, module: str) -> tuple[Definition, ...]:
    """Qualified names from nesting: ``module.Outer.inner``; functions in classes become methods."""
    method_scopes = LANGUAGES[lang].method_scopes
    stack: list[tuple[Node, str, str]] = []  # (node, qualified name of its scope, scope kind)
    out: list[Definition] = []
    for tag in tags:
        while stack and not _contains(stack[-1][0], tag.node):
            stack.pop()
        parent_qual, parent_kind = (stack[-1][1], stack[-1][2]) if stack else (module, "")
        qual = _join(_join(parent_qual, tag.receiver), tag.name)
        kind = tag.kind
        if kind == "function" and (tag.receiver or parent_kind in method_scopes):
            kind = "method"
        if kind in _SCOPE_KINDS:
            stack.append((tag.node, qual, kind))
        else:
            stack.append((tag.node, parent_qual, parent_kind))
        if not tag.is_scope:
            start, end = node_rows(tag.node)
            out.append(Definition(tag.name, qual, kind, path, start + 1, end + 1))
    return tuple(out)


def _contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else prefix or name


def _references(raw: list[tuple[Node, str]], defined: set[tuple[int, int]], source: bytes) -> tuple[Reference, ...]:
    seen: set[tuple[str, str, int]] = set()
    for node, kind in raw:
        if (node.start_byte, node.end_byte) in defined:
            continue  # broad patterns such as (type_identifier) also match definition names
        name = _node_text(node, source).strip().strip(_QUOTES).strip()
        if name:
            seen.add((name, kind, node.start_point.row + 1))
    return tuple(Reference(n, k, line) for n, k, line in sorted(seen, key=lambda r: (r[2], r[0], r[1])))


def _merge_rows(rows: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """1-based line ranges; overlapping or adjacent ranges become one block."""
    merged: list[list[int]] = []
    for start, end in sorted(rows):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start + 1, end + 1) for start, end in merged)
