"""What a change uses: every name and attribute on the changed lines, resolved by scope
(``index.resolve``), with a by-name fallback only for names few definitions carry: an attribute
on a receiver of unknown type reaches a repository method, never one named like a member of the
language's own types, and source code never reaches a test's definition."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tree_sitter import Node

from index.model import Definition
from index.resolve import ATTRS, NAMES, Resolver, node_text
from index.scopes import BUILTIN_MEMBERS, FileScopes
from index.test_paths import is_test_path
from index.visibility import CLASS_KINDS, function_local

MAX_BY_NAME = 3  # an unresolved name is used only when this few definitions carry it
_QUALIFIED_TYPES = frozenset({"qualified_type", "nested_type_identifier"})  # ``pkg.Type``: names a type
_SKIP = frozenset({"import_statement", "import_from_statement", "future_import_statement",
                   "import_declaration", "export_clause", "comment", "string", "package_clause"})


@dataclass(frozen=True)
class Use:
    """A definition a changed line uses, with how sure the resolution is (1.0: followed the
    language's rules; lower: matched by a specific name)."""

    definition: Definition
    line: int
    confidence: float
    how: str


def changed_uses(r: Resolver, path: str, lines: Iterable[int]) -> list[Use]:
    fs = r.scopes_of(path)
    if fs is None:
        return []
    wanted = set(lines)
    out: list[Use] = []
    for imp in fs.imports.values():
        if imp.line in wanted:
            for v in r.follow(imp, 0, path):
                if isinstance(v, Definition):
                    out.append(Use(v, imp.line, 1.0, "import"))
    if not wanted:
        return out
    lo, hi = min(wanted) - 1, max(wanted) - 1
    stack = [fs.root]
    while stack:
        n = stack.pop()
        if n.end_point.row < lo or n.start_point.row > hi or n.type in _SKIP:
            continue
        stack.extend(n.named_children)
        if n.start_point.row + 1 not in wanted or not _is_use(n):
            continue
        out += _use(r, fs, n)
    return out

def _use(r: Resolver, fs: FileScopes, n: Node) -> list[Use]:
    line = n.start_point.row + 1
    res = r.resolve(fs, n)
    defs = [v for v in res.values if isinstance(v, Definition)]
    if defs:
        how = "scope" if n.type in NAMES else "attribute"
        return [Use(d, line, 1.0, how) for d in defs]
    if res.known or (res.local and n.type in NAMES):
        return []
    if n.type in NAMES:
        name, confidence = node_text(n), 0.5
    else:
        attr = n.child_by_field_name(ATTRS[n.type][1])
        if attr is None:
            return []
        name, confidence = node_text(attr), 0.35
        if name in BUILTIN_MEMBERS.get(fs.lang, ()):
            return []
    found = [d for d in r.definitions_named(name) if _can_name(n.type, d)]
    if len(found) > MAX_BY_NAME * 4:
        return []
    # A definition inside a function is that function's own: no other code can name it; and
    # source code does not call into tests.
    test_use = is_test_path(fs.path)
    found = [d for d in found if not function_local(r.analysis_of(d.path), d)
             and (test_use or not is_test_path(d.path))]
    if not found or len(found) > MAX_BY_NAME:
        return []
    return [Use(d, line, confidence, "by name") for d in found]


def _can_name(node_type: str, d: Definition) -> bool:
    """Can a use of this node type mean ``d``? A bare name, no method (it needs a receiver); an
    attribute, a method (a module-level function of that name is not what ``x.f`` reaches, and
    a module's own members were followed through its import); a qualified type, a type."""
    if node_type in NAMES:
        return d.kind != "method"
    if node_type in _QUALIFIED_TYPES:
        return d.kind in CLASS_KINDS
    return d.kind == "method"


def _is_use(n: Node) -> bool:
    if n.type not in NAMES and n.type not in ATTRS:
        return False
    p = n.parent
    if p is None:
        return True
    if p.type in ATTRS and p.child_by_field_name(ATTRS[p.type][1]) == n:
        return False  # the attribute's name: the whole attribute is the use
    # a definition's or a keyword argument's own name is no use
    return not (p.child_by_field_name("name") == n and p.type not in ATTRS)
