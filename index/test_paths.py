"""Which files are tests, by name and folder: the planner reviews them after source, and the
by-name fallback never sends a test's definition as what source code uses."""

from __future__ import annotations

import posixpath
import re

_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "e2e"})
_TEST_NAME = re.compile(r"^(test_.*\.py|.*_test\.(py|go|rs|rb)|conftest\.py|.*\.(test|spec)\.[cm]?[jt]sx?|"
                        r".*Tests?\.(java|kt|cs)|.*_spec\.rb)$")


def is_test_path(path: str) -> bool:
    """A test file by its name or by a folder on its path (``tests/``, ``__tests__/``, ...)."""
    return bool(_TEST_NAME.match(posixpath.basename(path))) or any(
        part.lower() in _TEST_DIRS for part in path.split("/")[:-1])
