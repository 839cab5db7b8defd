"""Every rule of the built-in pack has a positive and a negative case, and each case does what it says.

Cases live in rule_cases/<rule id>.yml: ``positive`` and ``negative`` lists of code (for rules on
added lines) or of ``{before, after}`` pairs (for removed-guard rules). They run through a real git
diff, once per language the rule names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reviewer.analyzers.inventory import builtin_rules_dir
from reviewer.analyzers.records import AnalyzerOptions, AnalyzerReport
from reviewer.analyzers.rules import Rule, load_file, load_rules
from reviewer.analyzers.stage import run_analyzers
from tests.reviewer.analyzers.helpers import EXTENSIONS, inputs_from_change

CASES = Path(__file__).parent / "rule_cases"
RULES = load_rules()
RULES_ONLY = AnalyzerOptions(bandit=False, secrets=False)


def _cases(rule: Rule) -> dict[str, list[Any]]:
    path = CASES / f"{rule.id}.yml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {kind: list(data.get(kind) or []) for kind in ("positive", "negative")}


@pytest.fixture(scope="module")
def pack_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[AnalyzerReport, set[str]]:
    """All cases of all rules in one repository and one diff: (report, paths that were reviewed)."""
    before: dict[str, str] = {}
    after: dict[str, str | None] = {}
    for rule in RULES:
        for kind, items in _cases(rule).items():
            for n, case in enumerate(items):
                for lang in rule.languages:
                    rel = f"{rule.id}/{kind}{n}.{EXTENSIONS[lang]}"
                    if isinstance(case, dict):
                        before[rel] = case["before"]
                        after[rel] = case["after"]
                    else:
                        after[rel] = case
    inputs = inputs_from_change(tmp_path_factory.mktemp("pack"), before, after)
    return run_analyzers(inputs, RULES_ONLY), {i.path for i in inputs}


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_has_positive_and_negative_cases(rule: Rule) -> None:
    cases = _cases(rule)
    assert cases.get("positive"), f"rule {rule.id} has no positive case in {CASES / (rule.id + '.yml')}"
    assert cases.get("negative"), f"rule {rule.id} has no negative case in {CASES / (rule.id + '.yml')}"
    for items in cases.values():
        for case in items:
            assert isinstance(case, dict) == (rule.on == "removed"), (
                f"{rule.id}: removed-guard rules take before/after pairs, others take code")


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_cases(rule: Rule, pack_run: tuple[AnalyzerReport, set[str]]) -> None:
    report, reviewed = pack_run
    source = f"rule:{rule.id}"
    for kind, items in _cases(rule).items():
        for n in range(len(items)):
            for lang in rule.languages:
                rel = f"{rule.id}/{kind}{n}.{EXTENSIONS[lang]}"
                assert rel in reviewed, f"{rel} produced no diff"
                hits = [f for f in report.findings if f.path == rel and f.source == source]
                if kind == "positive":
                    assert hits, f"{rule.id} misses its positive case {rel}"
                else:
                    assert not hits, f"{rule.id} fires on its negative case {rel}: {hits}"


def test_every_builtin_rule_file_compiles_for_each_of_its_languages() -> None:
    # load_rules skips this check for the built-in pack to save start-up time; this test is the check.
    files = sorted(builtin_rules_dir().rglob("*.yml"))
    assert len(files) >= 8
    assert sum(len(load_file(f, validate=True)) for f in files) == len(RULES)


def test_case_files_name_existing_rules() -> None:
    ids = {r.id for r in RULES}
    stray = sorted(p.stem for p in CASES.glob("*.yml") if p.stem not in ids)
    assert not stray, f"case files for rules that do not exist: {stray}"
