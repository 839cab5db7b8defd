"""Definitions, references and import lines of a file, without chunking or embedding:
what the planner needs to re-locate code in the *current* content of any file."""

from __future__ import annotations

from index.languages import LANGUAGES, TEXT, get_parser, language_for
from index.model import FileAnalysis
from index.tags import extract_tags, module_path


def parse_symbols(path: str, text: str) -> FileAnalysis:
    lang = language_for(path, text)
    if lang is None or lang not in LANGUAGES:
        return FileAnalysis(path, TEXT, (), (), ())
    source = text.encode("utf-8", "surrogatepass")
    root = get_parser(lang).parse(source).root_node
    definitions, references, imports = extract_tags(root, lang, source, path, module_path(path))
    return FileAnalysis(path, lang, (), definitions, references, imports)
