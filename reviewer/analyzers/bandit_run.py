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
            path.write_text(item.new_text, encoding="utf-8", errors="surrogatepass")
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
