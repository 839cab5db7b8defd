"""What one file binds, and where: scopes and their local names (from the grammar's
``<lang>-locals.scm`` query, the tree-sitter locals convention), the type evidence of those
names (an annotation, a constructor call), the attributes a class assigns through ``self`` or a
struct declares, and the file's imports.

This is the per-file half of scope-aware resolution; ``index.resolve`` follows names across
files. Languages without a locals query keep the lookup by name.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import posixpath
from dataclasses import dataclass, field

from tree_sitter import Node, Query, QueryCursor

from index.languages import get_language, get_parser
from index.tags import module_path

# grammar → locals query file
LOCALS_QUERY = {"python": "python", "typescript": "typescript", "tsx": "typescript",
                "javascript": "javascript", "go": "go"}

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Names every file of the language can use without defining or importing them.
BUILTINS: dict[str, frozenset[str]] = {
    "python": frozenset(dir(__import__("builtins"))) | {"__file__", "__name__", "__doc__", "self", "cls"},
    "javascript": _words(
        "Array Boolean Date Error JSON Map Math Number Object Promise Proxy Reflect RegExp Set String "
        "Symbol TypeError RangeError WeakMap WeakSet BigInt console document window globalThis process "
        "require module exports undefined NaN Infinity parseInt parseFloat isNaN setTimeout clearTimeout "
        "setInterval clearInterval fetch URL URLSearchParams Buffer arguments"),
    "go": _words(
        "append cap clear close complex copy delete imag len make max min new panic print println real "
        "recover bool byte comparable complex64 complex128 error float32 float64 int int8 int16 int32 "
        "int64 rune string uint uint8 uint16 uint32 uint64 uintptr any true false iota nil"),
}
BUILTINS["typescript"] = BUILTINS["tsx"] = BUILTINS["javascript"] | {
    "Record", "Partial", "Required", "Readonly", "Pick", "Omit", "Exclude", "Extract", "ReturnType",
    "Parameters", "Awaited", "NonNullable", "string", "number", "boolean", "unknown", "never", "any", "void"}


def _members(*types: type) -> frozenset[str]:
    return frozenset(n for t in types for n in dir(t))


# Methods and attributes of the language's own types. On a receiver of unknown type,
# ``args.setdefault(...)``, ``f.read()`` or ``x.name`` is far likelier the builtin's than a
# repository method of that name: matched by name, they sent dict-like classes' ``setdefault`` and
# unrelated ``name`` properties (the issue's ``open(path).read()`` example).
_PY_BUILTIN_MEMBERS = _members(dict, list, set, frozenset, str, bytes, bytearray, tuple, int, float, complex,
                               io.TextIOWrapper, io.BufferedReader, object,
                               BaseException) | {"name", "mode"}
_JS_BUILTIN_MEMBERS = _words(
    "at concat copyWithin entries every fill filter find findIndex findLast findLastIndex flat flatMap forEach"
    " includes indexOf join keys lastIndexOf map pop push reduce reduceRight reverse shift slice some sort"
    " splice toSorted toReversed unshift values length charAt charCodeAt codePointAt endsWith localeCompare"
    " match matchAll normalize padEnd padStart repeat replace replaceAll search split startsWith substring"
    " toLowerCase toUpperCase trim trimEnd trimStart get set has delete clear add size then catch finally"
    " toString valueOf hasOwnProperty call apply bind constructor prototype name message stack")
BUILTIN_MEMBERS = {"python": _PY_BUILTIN_MEMBERS, "javascript": _JS_BUILTIN_MEMBERS,
                   "typescript": _JS_BUILTIN_MEMBERS, "tsx": _JS_BUILTIN_MEMBERS}

CLASS_NODES = frozenset({"class_definition", "class_declaration", "class", "abstract_class_declaration"})


@functools.cache
def locals_query(lang: str) -> Query | None:
    name = LOCALS_QUERY.get(lang)
    if name is None:
        return None
    text = importlib.resources.files("index.queries").joinpath(f"{name}-locals.scm").read_text(encoding="utf-8")
    return Query(get_language(lang), text)


@dataclass
class Binding:
    """A name bound in a scope, with what shows its type (annotation or constructor nodes)."""

    node: Node
    evidence: list[Node] = field(default_factory=list)


@dataclass
class Scope:
    node: Node
    is_class: bool
    names: dict[str, Binding] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Import:
    """``module`` is a key ``index.resolve`` understands: ``py:pkg.mod``, ``ts:dir/file`` (no
    extension), ``go:example.com/app/store``, or ``ext:…`` for what lives outside the repository.
    ``name`` is the member imported, None for the module itself."""

    module: str
    name: str | None
    line: int


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _key(node: Node) -> tuple[int, int]:
    return node.start_byte, node.end_byte


class FileScopes:
    def __init__(self, path: str, lang: str, text: str) -> None:
        self.path, self.lang = path, lang
        self.source = text.encode("utf-8", "surrogatepass")
        self.root = get_parser(lang).parse(self.source).root_node
        self.scopes: dict[tuple[int, int], Scope] = {}
        self.module_names: dict[str, Binding] = {}
        # (class or struct name, its last line) → attribute → binding
        self.members: dict[tuple[str, int], dict[str, Binding]] = {}
        self.imports: dict[str, Import] = {}
        self.star_imports: list[str] = []
        self.reexports: dict[str, Import] = {}
        self.default_export: str | None = None  # TS/JS: the name `export default` gives
        query = locals_query(lang)
        if query is not None:
            self._read_locals(query)
        getattr(self, f"_imports_{'ts' if lang in ('typescript', 'tsx', 'javascript') else lang}")()

    # --- scopes --------------------------------------------------------------------------------
    def _read_locals(self, query: Query) -> None:
        matches = QueryCursor(query).matches(self.root)
        for _, caps in matches:
            for cap in ("local.scope", "local.scope.class"):
                for n in caps.get(cap, []):
                    self.scopes[_key(n)] = Scope(n, cap.endswith("class"))
        for _, caps in matches:
            evidence = caps.get("local.type", []) + caps.get("local.constructor", [])
            for n in caps.get("local.definition", []):
                self._bind(n, _text(n), evidence)
            for pattern in caps.get("local.definition.pattern", []):
                for n in _identifiers(pattern):
                    self._bind(n, _text(n), [])
            for n in caps.get("local.global", []):
                scope = self.scope_of(n)
                if scope is not None:
                    scope.globals.add(_text(n))
            for n in caps.get("local.member", []):
                owner = caps.get("local.owner", [])
                if owner and owner[0].parent is not None:
                    key = (_text(owner[0]), owner[0].parent.end_point.row + 1)
                else:
                    cls = self.enclosing_class(n)
                    if cls is None:
                        continue
                    key = (self.class_name(cls), cls.end_point.row + 1)
                b = self.members.setdefault(key, {}).setdefault(_text(n), Binding(n))
                b.evidence.extend(evidence)

    def _bind(self, node: Node, name: str, evidence: list[Node]) -> None:
        scope = self.scope_of(node)
        names = scope.names if scope is not None and name not in scope.globals else self.module_names
        b = names.setdefault(name, Binding(node))
        b.evidence.extend(e for e in evidence if e not in b.evidence)

    def scope_of(self, node: Node) -> Scope | None:
        n = node.parent
        while n is not None:
            s = self.scopes.get(_key(n))
            if s is not None:
                # A parameter's default value belongs to the outer scope; close enough to ignore.
                return s
            n = n.parent
        return None

    def chain(self, node: Node) -> list[Scope]:
        """Scopes around ``node``, innermost first; class bodies are seen only from directly inside."""
        out: list[Scope] = []
        n: Node | None = node
        while n is not None:
            s = self.scopes.get(_key(n))
            if s is not None and n is not node and (not s.is_class or not out):
                out.append(s)
            n = n.parent
        return out

    def lookup_local(self, name: str, node: Node) -> Binding | None:
        for s in self.chain(node):
            if name in s.globals:
                return None
            b = s.names.get(name)
            if b is not None:
                return b
        return None

    def enclosing_class(self, node: Node) -> Node | None:
        n = node.parent
        while n is not None:
            if n.type in CLASS_NODES:
                return n
            n = n.parent
        return None

    @staticmethod
    def class_name(cls: Node) -> str:
        name = cls.child_by_field_name("name")
        return _text(name) if name is not None else ""

    def class_node(self, name: str, end_line: int) -> Node | None:
        """The class (or struct type_spec) called ``name`` that ends at ``end_line``."""
        stack = [self.root]
        while stack:
            n = stack.pop()
            if n.end_point.row + 1 < end_line or n.start_point.row + 1 > end_line:
                continue
            if (n.type in CLASS_NODES or n.type == "type_spec") and self.class_name(n) == name \
                    and n.end_point.row + 1 == end_line:
                return n
            stack.extend(n.named_children)
        return None

    def bases(self, cls: Node) -> list[Node]:
        """Expressions naming the classes ``cls`` extends."""
        if cls.type == "class_definition":
            sup = cls.child_by_field_name("superclasses")
            return [c for c in (sup.named_children if sup else []) if c.type in ("identifier", "attribute")]
        out: list[Node] = []
        for c in cls.named_children:
            if c.type == "class_heritage":
                for h in c.named_children:
                    if h.type == "extends_clause":
                        v = h.child_by_field_name("value")
                        if v is not None:
                            out.append(v)
                    elif h.type in ("identifier", "member_expression"):
                        out.append(h)
        return out

    # --- imports -------------------------------------------------------------------------------
    def _package(self, level: int) -> str:
        mod = module_path(self.path)
        parts = mod.split(".")
        if not self.path.endswith("__init__.py"):
            parts = parts[:-1]
        return ".".join(parts[: max(0, len(parts) - (level - 1))])

    def _imports_python(self) -> None:
        for node in _walk(self.root, ("import_statement", "import_from_statement")):
            line = node.start_point.row + 1
            if node.type == "import_statement":
                for item in node.children_by_field_name("name"):
                    if item.type == "aliased_import":
                        dotted, alias = item.child_by_field_name("name"), item.child_by_field_name("alias")
                        if dotted is not None and alias is not None:
                            self.imports[_text(alias)] = Import("py:" + _text(dotted), None, line)
                    else:
                        head = _text(item).split(".")[0]
                        self.imports[head] = Import("py:" + head, None, line)
                continue
            mod_node = node.child_by_field_name("module_name")
            if mod_node is None:
                continue
            if mod_node.type == "relative_import":
                raw = _text(mod_node)
                level = len(raw) - len(raw.lstrip("."))
                rest = raw.lstrip(".")
                base = self._package(level)
                module = ".".join(p for p in (base, rest) if p)
            else:
                module = _text(mod_node)
            if any(c.type == "wildcard_import" for c in node.named_children):
                self.star_imports.append("py:" + module)
            for item in node.children_by_field_name("name"):
                if item.type == "aliased_import":
                    name, alias = item.child_by_field_name("name"), item.child_by_field_name("alias")
                    if name is not None and alias is not None:
                        self.imports[_text(alias)] = Import("py:" + module, _text(name), line)
                else:
                    self.imports[_text(item)] = Import("py:" + module, _text(item), line)

    def _ts_module(self, spec: str) -> str:
        if spec.startswith("."):
            return "ts:" + posixpath.normpath(posixpath.join(posixpath.dirname(self.path), spec))
        return "ext:" + spec

    def _imports_ts(self) -> None:
        for node in _walk(self.root, ("import_statement", "export_statement")):
            src = node.child_by_field_name("source")
            if src is None:
                if node.type == "export_statement" and any(c.type == "default" for c in node.children):
                    target = node.child_by_field_name("declaration") or node.child_by_field_name("value")
                    name = target.child_by_field_name("name") if target is not None else None
                    named = name if name is not None else target
                    if named is not None and named.type in ("identifier", "type_identifier"):
                        self.default_export = _text(named)
                continue
            module = self._ts_module(_text(src).strip("'\"`"))
            line = node.start_point.row + 1
            if node.type == "export_statement":
                clause = next((c for c in node.named_children if c.type == "export_clause"), None)
                if clause is None:
                    self.star_imports.append(module)
                    continue
                for spec in clause.named_children:
                    name, alias = spec.child_by_field_name("name"), spec.child_by_field_name("alias")
                    if name is not None:
                        self.reexports[_text(alias or name)] = Import(module, _text(name), line)
                continue
            for clause in (c for c in node.named_children if c.type == "import_clause"):
                for c in clause.named_children:
                    if c.type == "identifier":
                        self.imports[_text(c)] = Import(module, "default", line)
                    elif c.type == "namespace_import":
                        for i in c.named_children:
                            self.imports[_text(i)] = Import(module, None, line)
                    elif c.type == "named_imports":
                        for spec in c.named_children:
                            name, alias = spec.child_by_field_name("name"), spec.child_by_field_name("alias")
                            if name is not None:
                                self.imports[_text(alias or name)] = Import(module, _text(name), line)

    def _imports_go(self) -> None:
        for spec in _walk(self.root, ("import_spec",)):
            path_node = spec.child_by_field_name("path")
            if path_node is None:
                continue
            path = _text(path_node).strip('"`')
            name_node = spec.child_by_field_name("name")
            parts = [p for p in path.split("/") if p]
            if not parts:
                continue
            default = parts[-2] if len(parts) > 1 and parts[-1][:1] == "v" and parts[-1][1:].isdigit() else parts[-1]
            name = _text(name_node) if name_node is not None else default.replace("-", "_")
            if name in ("_", "."):
                continue
            self.imports[name] = Import("go:" + path, None, spec.start_point.row + 1)


def _walk(root: Node, types: tuple[str, ...]) -> list[Node]:
    out: list[Node] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type in types:
            out.append(n)
            continue
        stack.extend(n.named_children)
    return out


def _identifiers(node: Node) -> list[Node]:
    kinds = ("identifier", "shorthand_property_identifier_pattern")
    return [n for n in _walk(node, kinds)]
