"""Scope-aware resolution of the names a change uses, across the repository.

A name is looked up where the language looks it up, not by its bare text: a parameter, a local
or a builtin never matches a definition elsewhere; ``self.x`` / ``this.x`` is a member of the
enclosing class or of its bases; ``mod.f`` and ``from m import f as g`` follow the import to m's
definition (relative imports, re-exports in ``__init__`` and ``export … from``); a definition in
the same file wins over one in another file. ``obj.method()`` counts the receiver's type when an
annotation, a parameter annotation or a constructor call shows it; without such evidence only a
name defined in few places is used, with a lower confidence. A test's parameter is the pytest
fixture of its name when the repository defines one (``index.fixtures``).

Python, TypeScript/JavaScript and Go are resolved (``index.scopes``); other languages keep the
planner's lookup by name.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tree_sitter import Node

from index.fixtures import fixtures_named, is_test_parameter
from index.languages import language_for
from index.model import Definition, FileAnalysis
from index.scopes import BUILTINS, LOCALS_QUERY, FileScopes, Import
from index.tags import module_path
from index.visibility import CLASS_KINDS, visible_from

MAX_DEPTH = 6
_TS_EXTS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs")
NAMES = frozenset({"identifier", "type_identifier", "package_identifier"})
ATTRS = {"attribute": ("object", "attribute"), "member_expression": ("object", "property"),
          "selector_expression": ("operand", "field"), "qualified_type": ("package", "name"),
          "nested_type_identifier": ("module", "name")}
_CALLS = {"call": "function", "call_expression": "function", "new_expression": "constructor",
          "composite_literal": "type"}
_WRAPPERS = frozenset({"parenthesized_expression", "await", "await_expression", "unary_expression", "type",
                       "type_annotation", "pointer_type", "generic_type", "non_null_expression"})
_LITERALS = frozenset({"string", "integer", "float", "list", "dictionary", "set", "tuple", "true", "false",
                       "none", "concatenated_string", "list_comprehension", "dictionary_comprehension",
                       "set_comprehension", "number", "template_string", "array", "object",
                       "interpreted_string_literal", "raw_string_literal", "int_literal", "float_literal",
                       "rune_literal", "binary_operator", "comparison_operator", "boolean_operator"})


@dataclass(frozen=True)
class Module:
    key: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Instance:
    cls: Definition


Value = Definition | Module | Instance


@dataclass
class Result:
    values: list[Value] = field(default_factory=list)
    known: bool = False  # True: resolved for sure, possibly to nothing in the repository
    local: bool = False


def handles(lang: str) -> bool:
    return lang in LOCALS_QUERY


class Resolver:
    def __init__(self, paths: Iterable[str], text_of: Callable[[str], str | None],
                 analysis_of: Callable[[str], FileAnalysis | None],
                 definitions_named: Callable[[str], list[Definition]]) -> None:
        self.paths = set(paths)
        self.text_of, self.analysis_of, self.definitions_named = text_of, analysis_of, definitions_named
        self._scopes: dict[str, FileScopes | None] = {}
        self._py: dict[str, list[tuple[int, str]]] | None = None
        self._go: dict[str, list[str]] | None = None
        self._members: dict[tuple[str, str, str], list[Value]] = {}
        self._modules: dict[tuple[str, str], Module | None] = {}
        self._pkgs: set[str] | None = None

    # --- files and modules ------------------------------------------------------------------------
    def scopes_of(self, path: str) -> FileScopes | None:
        if path not in self._scopes:
            text = self.text_of(path)
            lang = language_for(path, text)
            self._scopes[path] = FileScopes(path, lang, text) if text is not None and lang and handles(lang) else None
        return self._scopes[path]

    def _py_map(self) -> dict[str, list[tuple[int, str]]]:
        if self._py is None:
            self._py = {}
            for p in self.paths:
                if p.endswith((".py", ".pyi")):
                    parts = module_path(p).split(".")
                    for i in range(len(parts)):
                        self._py.setdefault(".".join(parts[i:]), []).append((i, p))
        return self._py

    def _packages(self) -> set[str]:
        if self._pkgs is None:
            self._pkgs = {k.rsplit(".", n)[0] for k in self._py_map() for n in range(1, k.count(".") + 1)}
        return self._pkgs

    def module(self, key: str, near: str = "") -> Module | None:
        cache_key = (key, posixpath.dirname(near))
        if cache_key not in self._modules:
            self._modules[cache_key] = self._module(key, near)
        return self._modules[cache_key]

    def _module(self, key: str, near: str) -> Module | None:
        kind, _, name = key.partition(":")
        if kind == "py":
            found = self._py_map().get(name)
            if found:
                best = min(found, key=lambda x: (x[0], not x[1].endswith(".py"),
                                                 -_common(posixpath.dirname(x[1]), near), x[1]))
                return Module(key, (best[1],))
            if name in self._packages():
                return Module(key, ())  # a namespace package: only its submodules exist
            return None
        if kind == "ts":
            stem = name[:-3] if name.endswith((".js", ".ts")) else name
            for cand in [name, *(stem + e for e in _TS_EXTS), *(f"{stem}/index{e}" for e in _TS_EXTS)]:
                if cand in self.paths:
                    return Module(key, (cand,))
            return None
        if kind == "ext" and (name[:2] in ("@/", "~/") or ("/" in name and not name.startswith("@"))):
            # A path alias of the project (tsconfig "paths": "@/x", "src/x"), not a package.
            rest = name[2:] if name[:2] in ("@/", "~/") else name
            for root in ("", "src/"):
                alias = self._module(f"ts:{root}{rest}", near)
                if alias is not None:
                    return alias
            return None
        if kind == "go":
            if self._go is None:
                self._go = {}
                for p in self.paths:
                    if p.endswith(".go"):
                        self._go.setdefault(posixpath.dirname(p), []).append(p)
            dirs = [d for d in self._go if d and (name == d or name.endswith("/" + d))]
            if not dirs:
                return None
            best_dir = max(dirs, key=len)
            return Module(key, tuple(sorted(self._go[best_dir])))
        return None

    def _top_level(self, path: str, name: str) -> list[Definition]:
        a = self.analysis_of(path)
        if a is None:
            return []
        qual = f"{module_path(path)}.{name}"
        return [d for d in a.definitions if d.name == name and d.qualified_name == qual]

    def module_member(self, mod: Module, name: str, depth: int = 0) -> list[Value]:
        out: list[Value] = [d for p in mod.paths for d in self._top_level(p, name)]
        if out or depth > MAX_DEPTH:
            return out
        if mod.key.startswith("py:"):
            sub = self.module(f"{mod.key}.{name}")
            if sub is not None:
                return [sub]
        for p in mod.paths:  # re-exports: `from .sub import f` in __init__, `export { f } from`
            fs = self.scopes_of(p)
            if fs is None:
                continue
            var = fs.module_names.get(name)
            if var is not None and var.evidence:  # `current_app: Flask = LocalProxy(...)`
                out += self.instances(fs, var.evidence, depth + 1)
                continue
            imp = fs.imports.get(name) or fs.reexports.get(name)
            if imp is not None:
                out += self.follow(imp, depth + 1)
            for star in fs.star_imports if not out else ():
                m = self.module(star, p)
                if m is not None:
                    out += self.module_member(m, name, depth + 1)
        return out

    def follow(self, imp: Import, depth: int = 0, near: str = "") -> list[Value]:
        mod = self.module(imp.module, near)
        if mod is None:
            return []
        if imp.name is None:
            return [mod]
        name: str | None = imp.name
        if name == "default":
            fs = self.scopes_of(mod.paths[0]) if mod.paths else None
            name = fs.default_export if fs is not None else None
        return self.module_member(mod, name, depth) if name else []

    # --- classes --------------------------------------------------------------------------------------
    def class_of(self, fs: FileScopes, cls: Node) -> Definition | None:
        a = self.analysis_of(fs.path)
        name, end = fs.class_name(cls), cls.end_point.row + 1
        for d in a.definitions if a else ():
            if d.name == name and d.end_line == end and d.kind in CLASS_KINDS:
                return d
        return None

    def member(self, cls: Definition, name: str, depth: int = 0) -> list[Value]:
        key = (cls.path, cls.qualified_name, name)
        if key in self._members:
            return self._members[key]
        self._members[key] = []  # a cycle of bases ends here
        out = self._member(cls, name, depth)
        self._members[key] = out
        return out

    def _member(self, cls: Definition, name: str, depth: int) -> list[Value]:
        if cls.path.endswith(".go"):
            d = posixpath.dirname(cls.path)
            found: list[Value] = [m for m in self.definitions_named(name) if posixpath.dirname(m.path) == d
                                  and m.qualified_name.endswith(f".{cls.name}.{name}")]
        else:
            a = self.analysis_of(cls.path)
            qual = f"{cls.qualified_name}.{name}"
            found = [m for m in (a.definitions if a else ()) if m.qualified_name == qual]
        if found or depth > MAX_DEPTH:
            return found
        fs = self.scopes_of(cls.path)
        if fs is None:
            return []
        b = fs.members.get((cls.name, cls.end_line), {}).get(name)
        if b is not None:
            return list(self.instances(fs, b.evidence, depth + 1))
        node = fs.class_node(cls.name, cls.end_line)
        for base in fs.bases(node) if node is not None else ():
            for v in self.resolve(fs, base, depth + 1).values:
                if isinstance(v, Definition) and v.kind in CLASS_KINDS:
                    found += self.member(v, name, depth + 1)
        return found

    def instances(self, fs: FileScopes, evidence: Iterable[Node], depth: int) -> list[Value]:
        out: list[Value] = []
        for e in evidence:
            found = [self.resolve(fs, n, depth + 1) for n in _type_names(e)]
            found += [self._dotted(fs, text, e, depth + 1) for text in _quoted_types(e)]
            for r in found:
                for v in r.values:
                    if isinstance(v, Definition) and v.kind in CLASS_KINDS and Instance(v) not in out:
                        out.append(Instance(v))
        return out

    def _dotted(self, fs: FileScopes, text: str, at: Node, depth: int) -> Result:
        """A dotted name written as text: a quoted annotation such as ``"Flask"``."""
        head, *rest = text.split(".")
        r = self.resolve_name(fs, head, at, depth)
        for part in rest:
            r = self.attribute(r, part, depth)
        return r

    # --- expressions ------------------------------------------------------------------------------------
    def resolve_name(self, fs: FileScopes, name: str, node: Node, depth: int = 0) -> Result:
        if depth > MAX_DEPTH:
            return Result()
        if fs.lang == "python" and name in ("self", "cls"):
            cls = fs.enclosing_class(node)
            d = self.class_of(fs, cls) if cls is not None else None
            if d is not None:
                return Result([Instance(d) if name == "self" else d], True, True)
        b = fs.lookup_local(name, node)
        if b is not None:
            values = self.instances(fs, b.evidence, depth)
            if not values and fs.lang == "python" and is_test_parameter(fs.path, b.node):
                values = list(fixtures_named(name, fs.path, self.definitions_named, self.text_of))
            return Result(values, bool(values), True)
        a = self.analysis_of(fs.path)
        line = node.start_point.row + 1
        same = [d for d in a.definitions if d.name == name and d.kind != "method"
                and visible_from(a, d, line)] if a is not None else []
        if same:
            return Result(list(same), True)
        imp = fs.imports.get(name)
        if imp is not None:
            return Result(self.follow(imp, depth, fs.path), True)
        if name in BUILTINS.get(fs.lang, ()):
            return Result([], True)
        mb = fs.module_names.get(name)
        if mb is not None:
            return Result(self.instances(fs, mb.evidence, depth), True, True)
        if fs.lang == "go":  # the same package: every file of the directory
            mod = self.module("go:" + posixpath.dirname(fs.path)) if posixpath.dirname(fs.path) else None
            got = self.module_member(mod, name, depth) if mod is not None else []
            if got:
                return Result(got, True)
        for star in fs.star_imports:
            m = self.module(star, fs.path)
            got = self.module_member(m, name, depth) if m is not None else []
            if got:
                return Result(got, True)
        return Result()

    def resolve(self, fs: FileScopes, node: Node, depth: int = 0) -> Result:
        t = node.type
        if depth > MAX_DEPTH:
            return Result()
        if t in NAMES:
            return self.resolve_name(fs, node_text(node), node, depth)
        if t == "this":
            cls = fs.enclosing_class(node)
            d = self.class_of(fs, cls) if cls is not None else None
            return Result([Instance(d)] if d else [], True, True)
        if t in ATTRS:
            obj, attr = (node.child_by_field_name(f) for f in ATTRS[t])
            if obj is None or attr is None:
                return Result()
            return self.attribute(self.resolve(fs, obj, depth + 1), node_text(attr), depth)
        if t in _CALLS:
            fn = node.child_by_field_name(_CALLS[t])
            if fn is None:
                return Result()
            if fs.lang == "python" and fn.type == "identifier" and node_text(fn) == "super":
                return self._super(fs, node, depth)
            r = self.resolve(fs, fn, depth + 1)
            made: list[Value] = [Instance(v) for v in r.values if isinstance(v, Definition) and v.kind in CLASS_KINDS]
            return Result(made, bool(made) or (r.known and not r.values))
        if t in _WRAPPERS and node.named_children:
            return self.resolve(fs, node.named_children[-1 if t == "unary_expression" else 0], depth + 1)
        if t in _LITERALS:
            return Result([], True)
        return Result()

    def _super(self, fs: FileScopes, node: Node, depth: int) -> Result:
        """``super()``: the bases of the enclosing class, as instances."""
        cls = fs.enclosing_class(node)
        out: list[Value] = []
        for base in fs.bases(cls) if cls is not None else ():
            out += [Instance(v) for v in self.resolve(fs, base, depth + 1).values
                    if isinstance(v, Definition) and v.kind in CLASS_KINDS]
        return Result(out, True)

    def attribute(self, base: Result, name: str, depth: int) -> Result:
        if not base.values:
            return Result([], base.known, base.local)
        out: list[Value] = []
        for v in base.values:
            if isinstance(v, Module):
                out += self.module_member(v, name, depth + 1)
            elif isinstance(v, Instance):
                out += self.member(v.cls, name, depth + 1)
            elif v.kind in CLASS_KINDS:
                out += self.member(v, name, depth + 1)
        # A module's missing member is nothing in the repository; a class's may be a data
        # attribute set dynamically, so its name may still be looked up when specific.
        return Result(out, bool(out) or all(isinstance(v, Module) for v in base.values))


def _type_names(node: Node) -> list[Node]:
    """The names in a type annotation or constructor callee: ``Optional[http.Client]`` →
    ``Optional``, ``http.Client``."""
    if node.type in NAMES or node.type in ATTRS:
        return [node]
    out: list[Node] = []
    for c in node.named_children:
        out += _type_names(c)
    return out


def _quoted_types(node: Node) -> list[str]:
    """Dotted names in quoted annotations: ``"Flask"``, ``Optional["app.Flask"]``."""
    if node.type == "string":
        inner = node_text(node).strip("'\"")
        return [inner] if inner.replace(".", "").replace("_", "").isalnum() else []
    out: list[str] = []
    for c in node.named_children:
        out += _quoted_types(c)
    return out


def node_text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("/"), posixpath.dirname(b).split("/"), strict=False):
        if x != y:
            break
        n += 1
    return n
