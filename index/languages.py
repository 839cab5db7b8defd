"""One registry: which tree-sitter grammar reads a file, and the tag query for that grammar.

Grammars come from the tree-sitter project's per-language wheels (``tree-sitter-python``, …),
each imported only when a file of its language is parsed. A language pack would bundle some 170
grammars (184 MB) for the 13 read here, and its 1.x releases download them at run time, which fails
offline. Tag queries are data files under ``index/queries``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import re
import threading
from dataclasses import dataclass

from tree_sitter import Language, Parser, Query

TEXT = "text"  # the pseudo-language of files chunked by lines only

# Definitions of these kinds turn a function directly inside them into a method.
_METHOD_SCOPES = frozenset({"class", "interface", "struct", "enum", "trait", "impl"})


@dataclass(frozen=True)
class LanguageSpec:
    name: str  # tree-sitter grammar name
    query_files: tuple[str, ...]  # ``<name>-tags.scm`` files, concatenated into one query
    grammar: tuple[str, str]  # the grammar wheel's module and the function returning its language
    method_scopes: frozenset[str] = _METHOD_SCOPES


LANGUAGES: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        LanguageSpec("python", ("python",), ("tree_sitter_python", "language")),
        LanguageSpec("javascript", ("javascript", "jsx"), ("tree_sitter_javascript", "language")),
        LanguageSpec("typescript", ("typescript",), ("tree_sitter_typescript", "language_typescript")),
        LanguageSpec("tsx", ("typescript", "jsx"), ("tree_sitter_typescript", "language_tsx")),
        LanguageSpec("go", ("go",), ("tree_sitter_go", "language")),
        LanguageSpec("rust", ("rust",), ("tree_sitter_rust", "language")),
        LanguageSpec("java", ("java",), ("tree_sitter_java", "language")),
        LanguageSpec("c", ("c",), ("tree_sitter_c", "language")),
        LanguageSpec("cpp", ("cpp",), ("tree_sitter_cpp", "language")),
        LanguageSpec("csharp", ("csharp",), ("tree_sitter_c_sharp", "language")),
        # A Ruby module is a namespace of methods, unlike a TypeScript namespace or a Rust mod.
        LanguageSpec("ruby", ("ruby",), ("tree_sitter_ruby", "language"), _METHOD_SCOPES | {"module"}),
        # language_php reads the <?php … ?> islands of a template too; language_php_only would not.
        LanguageSpec("php", ("php",), ("tree_sitter_php", "language_php")),
        LanguageSpec("kotlin", ("kotlin",), ("tree_sitter_kotlin", "language")),
    )
}

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".hxx": "cpp", ".h++": "cpp", ".ipp": "cpp", ".tpp": "cpp", ".inl": "cpp",
    ".cs": "csharp",
    ".rb": "ruby", ".rake": "ruby", ".gemspec": "ruby", ".ru": "ruby",
    ".php": "php", ".phtml": "php",
    ".kt": "kotlin", ".kts": "kotlin",
}  # fmt: skip

FILENAMES: dict[str, str] = {
    "Rakefile": "ruby",
    "Gemfile": "ruby",
    "Guardfile": "ruby",
    "Vagrantfile": "ruby",
    "Podfile": "ruby",
    "SConstruct": "python",
    "SConscript": "python",
}

_SHEBANGS: dict[str, str] = {"python": "python", "node": "javascript", "ruby": "ruby", "php": "php"}
# A .h file is C unless it shows C++ syntax; the C grammar mangles classes and templates.
_CPP_HEADER = re.compile(r"^\s*(?:class|namespace|template\s*<)\b|\bstd::|\bpublic:|\bprivate:", re.M)


def language_for(path: str, text: str | None = None) -> str | None:
    """The grammar name for ``path`` (repository-relative), or None if no grammar reads it.

    ``text`` refines the guess: a shebang names the language of an extension-less script, and
    C++ syntax in a ``.h`` file selects the C++ grammar.
    """
    name = path.rsplit("/", 1)[-1]
    if name in FILENAMES:
        return FILENAMES[name]
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 else ""
    lang = EXTENSIONS.get(ext)
    if lang == "c" and ext == ".h" and text is not None and _CPP_HEADER.search(text[:100_000]):
        return "cpp"
    if lang is None and not ext and text is not None and text.startswith("#!"):
        return _SHEBANGS.get(_interpreter(text[2 : text.find("\n") if "\n" in text else 200]))
    return lang


def _interpreter(shebang: str) -> str:
    """``/usr/bin/env -S python3.11 -u`` → ``python``."""
    words = shebang.split()
    if words and words[0].rsplit("/", 1)[-1] == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return words[0].rsplit("/", 1)[-1].rstrip("0123456789.") if words else ""


def supported_languages() -> tuple[str, ...]:
    return tuple(LANGUAGES)


@functools.cache
def get_language(lang: str) -> Language:
    module, function = LANGUAGES[lang].grammar
    return Language(getattr(importlib.import_module(module), function)())


_local = threading.local()


def get_parser(lang: str) -> Parser:
    """A parser for ``lang``, cached per thread: a Parser keeps state between parses."""
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(lang)
    if parser is None:
        parser = parsers[lang] = Parser(get_language(lang))
    return parser


def query_source(lang: str) -> str:
    """The tag query text for ``lang``: its ``.scm`` files, concatenated."""
    root = importlib.resources.files("index.queries")
    return "\n".join(
        root.joinpath(f"{name}-tags.scm").read_text(encoding="utf-8") for name in LANGUAGES[lang].query_files
    )


@functools.cache
def get_tags_query(lang: str) -> Query:
    """The compiled tag query; a Query is immutable, so one instance serves every thread."""
    return Query(get_language(lang), query_source(lang))
