"""bandit through its Python API, in-process: one manager over the new side of every changed
Python file, issues kept on the changed lines only."""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reviewer.analyzers.lines import anchor_span
from reviewer.analyzers.records import AnalyzerInput, Hit, RuleInfo

# Tests whose hits are noise on a diff: an import alone is no flaw (the call is its own test),
# subprocess without a shell is the safe form, asserts and bare excepts are style, passwords are
# the secrets analyzer's job, and random() is flagged by the rule pack only where it makes tokens.
EXCLUDED_TESTS = (
    "B101", "B105", "B106", "B107", "B110", "B112", "B311",
    "B401", "B402", "B403", "B404", "B405", "B406", "B407", "B408", "B409", "B410", "B411", "B412",
    "B413", "B414", "B415", "B603", "B606", "B607",
)  # fmt: skip
_SEVERITY = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
_CONFIDENCE = {"UNDEFINED": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
MIN_CONFIDENCE = "MEDIUM"


def is_python(item: AnalyzerInput) -> bool:
    return item.language == "python" or (item.language is None and item.path.endswith((".py", ".pyw")))


def run_bandit(inputs: Sequence[AnalyzerInput]) -> tuple[list[Hit], int, list[str]]:
    """(hits on changed lines, issues dropped for lying elsewhere, warnings)."""
    todo = [item for item in inputs if is_python(item) and item.added]
    if not todo:
        return [], 0, []
    # bandit and stevedore (its plugin loader) log through the root machinery, and with no handler
    # Python prints WARNING+ to stderr: the core never prints. stevedore also warns about its own
    # deprecated arguments, and logs an error for bandit's optional SARIF formatter.
    for name in ("bandit", "stevedore"):
        logging.getLogger(name).addHandler(logging.NullHandler())
        logging.getLogger(name).propagate = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bandit.core import config as b_config
        from bandit.core import manager as b_manager
    hits: list[Hit] = []
    notes: list[str] = []
    dropped = 0
    with tempfile.TemporaryDirectory(prefix="localreview-bandit-") as tmp:
        by_file: dict[str, AnalyzerInput] = {}
        for n, item in enumerate(todo):
            # bandit reads files; a numbered name keeps hostile paths out of the file system.
            path = Path(tmp) / f"f{n}.py"
            path.write_text(changed_region(item.new_text, item.added), encoding="utf-8", errors="surrogatepass")
            by_file[str(path)] = item
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manager = b_manager.BanditManager(b_config.BanditConfig(), "file", quiet=True,
                                              profile={"exclude": list(EXCLUDED_TESTS)})
            manager.discover_files(list(by_file))
            manager.run_tests()
        for fname, why in manager.get_skipped():
            skipped = by_file.get(str(fname))
            if skipped is not None:
                notes.append(f"bandit skipped {skipped.path}: {why}")
        for issue in manager.get_issue_list():
            found = by_file.get(str(issue.fname))
            if found is None or _CONFIDENCE.get(issue.confidence, 0) < _CONFIDENCE[MIN_CONFIDENCE]:
                continue
            lines = [int(n) for n in (issue.linerange or [issue.lineno])]
            span = anchor_span(min(lines), max(lines), found.added)
            if span is None:
                dropped += 1
                continue
            hits.append(_hit(found, issue, span))
    return hits, dropped, notes


_REGION_LINES = 60
_IMPORTS = frozenset({"import_statement", "import_from_statement", "future_import_statement"})
_DESCEND = frozenset({"class_definition", "function_definition", "decorated_definition"})


def changed_region(text: str, added: frozenset[int]) -> str:
    """The file with every statement that does not touch a changed line blanked out, line numbers
    kept. bandit visits the whole tree it is given; a 3-line change in a 2,000-line module should cost
    the statements it touches. Module-level imports stay (bandit resolves aliases from them), and a
    class or function longer than ``_REGION_LINES`` keeps its header and only the touched statements
    of its body. tree-sitter (through ast-grep) finds the statements: it is ~10x faster than ``ast``."""
    from ast_grep_py import SgRoot

    keep: set[int] = set()

    def lines(node: Any) -> tuple[int, int]:
        rng = node.range()
        return rng.start.line + 1, rng.end.line + 1

    def visit(nodes: list[Any], top: bool) -> None:
        for node in nodes:
            if not node.is_named():
                continue
            start, end = lines(node)
            touched = any(start <= n <= end for n in added)
            if top and node.kind() in _IMPORTS:
                keep.update(range(start, end + 1))
            elif not touched:
                continue
            elif node.kind() in _DESCEND and end - start > _REGION_LINES and (body := _body(node)) is not None:
                statements = [c for c in body.children() if c.is_named() and c.kind() != "comment"]
                header_end = (lines(statements[0])[0] - 1) if statements else end
                inner = [c for c in statements if any(lines(c)[0] <= n <= lines(c)[1] for n in added)]
                # A header with no statement kept would not parse: keep the whole node then.
                if not inner or header_end < start or any(start <= n <= header_end for n in added):
                    keep.update(range(start, end + 1))
                else:
                    keep.update(range(start, header_end + 1))
                    visit(inner, False)
            else:
                keep.update(range(start, end + 1))

    visit(SgRoot(text, "python").root().children(), True)
    return "\n".join(ln if n in keep else "" for n, ln in enumerate(text.split("\n"), 1))


def _body(node: Any) -> Any:
    if node.kind() == "decorated_definition":
        node = node.field("definition")
    return node.field("body") if node is not None else None


def _hit(item: AnalyzerInput, issue: Any, span: tuple[int, int]) -> Hit:
    cwe_id = getattr(getattr(issue, "cwe", None), "id", 0) or 0
    cwe = f"CWE-{int(cwe_id)}" if int(cwe_id) > 0 else None
    test_id = str(issue.test_id)
    name = str(issue.test).replace("_", " ")
    severity = _SEVERITY.get(str(issue.severity), "medium")
    info = RuleInfo(
        id=f"bandit.{test_id}",
        title=f"{name} (bandit {test_id})",
        help=f"bandit test {test_id} ({issue.test}). See bandit's documentation of {test_id} for the "
        "class of flaw it reports and the safe alternatives.",
        cwe=cwe,
        severity=severity,
        category="security",
    )
    return Hit(path=item.path, line=span[0], end_line=span[1], rule=info, source="bandit",
               message=str(issue.text).strip())


def bandit_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("bandit")
    except metadata.PackageNotFoundError:
        return None
