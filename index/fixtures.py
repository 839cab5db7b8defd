"""pytest fixtures: a test's parameter is bound by name to a fixture, not by the call.

``def test_x(client):`` gets whatever the ``@pytest.fixture`` named ``client`` returns, from the
test's own file or the nearest ``conftest.py`` above it (a nearer one overrides a farther one, as
pytest does). The parameter is still a local for everything else: only a fixture defined in the
repository is reached, so ``tmp_path`` and other pytest built-ins stay unresolved.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from tree_sitter import Node

from index.model import Definition
from index.test_paths import is_test_path

_PARAMETER_NODES = frozenset({"default_parameter", "typed_parameter", "typed_default_parameter"})
_DECORATOR_LINES = 8  # how far above a ``def`` its decorators are looked for


def is_test_parameter(path: str, node: Node) -> bool:
    """Is ``node`` (a binding's identifier) a parameter of a function in a test file or a conftest?"""
    if not (is_test_path(path) or posixpath.basename(path) == "conftest.py"):
        return False
    p = node.parent
    if p is None:
        return False
    if p.type in _PARAMETER_NODES:
        if p.named_children[:1] != [node]:
            return False
        p = p.parent
    return p is not None and p.type == "parameters" and p.parent is not None \
        and p.parent.type == "function_definition"


def fixtures_named(name: str, path: str, definitions_named: Callable[[str], list[Definition]],
                   text_of: Callable[[str], str | None]) -> list[Definition]:
    """The fixture a test in ``path`` gets for a parameter called ``name``: in the same file, else
    in the nearest ``conftest.py`` of its directory or one above it. Empty when none is defined."""
    here = posixpath.dirname(path)
    ranked: list[tuple[int, Definition]] = []
    for d in definitions_named(name):
        if d.kind != "function":
            continue
        if d.path == path:
            rank = 10_000
        elif posixpath.basename(d.path) == "conftest.py" and _above(posixpath.dirname(d.path), here):
            rank = posixpath.dirname(d.path).count("/") + (1 if posixpath.dirname(d.path) else 0)
        else:
            continue
        if _is_fixture(d, text_of(d.path)):
            ranked.append((rank, d))
    if not ranked:
        return []
    best = max(r for r, _ in ranked)
    return [d for r, d in ranked if r == best]


def _above(directory: str, here: str) -> bool:
    return directory == "" or here == directory or here.startswith(directory + "/")


def _is_fixture(d: Definition, text: str | None) -> bool:
    """Decorated with ``@pytest.fixture`` / ``@fixture`` (with or without arguments): the lines
    just above its ``def``, up to a blank line or the end of the statement before."""
    if text is None:
        return False
    lines = text.splitlines()
    row = d.start_line - 1  # the index may start a definition at its first decorator
    while row < min(len(lines), d.start_line + _DECORATOR_LINES) and not lines[row].lstrip().startswith(
            ("def ", "async def ")):
        row += 1
    for above in range(row - 1, max(-1, row - 1 - _DECORATOR_LINES), -1):
        stripped = lines[above].strip()
        if not stripped or stripped.endswith(":"):
            return False
        if stripped.startswith("@") and "fixture" in stripped:
            return True
    return False
