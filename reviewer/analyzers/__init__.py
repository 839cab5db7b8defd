"""Deterministic analysis of the changed lines: bandit, detect-secrets and localreview's rule pack.

The pipeline builds one ``AnalyzerInput`` per changed file (``input_from_hunks``), calls
``run_analyzers`` once, and gets findings (``source`` = bandit, secrets or rule:<id>) and hints
for the prompt, all anchored on changed lines or removal points.
"""

from reviewer.analyzers.lines import input_from_hunks
from reviewer.analyzers.records import (
    AnalyzerInput,
    AnalyzerOptions,
    AnalyzerReport,
    Hint,
    Removal,
    RuleInfo,
)
from reviewer.analyzers.rules import Rule, load_rules
from reviewer.analyzers.stage import available_analyzers, options_from_config, run_analyzers, stage_fingerprint

__all__ = [
    "AnalyzerInput",
    "AnalyzerOptions",
    "AnalyzerReport",
    "Hint",
    "Removal",
    "Rule",
    "RuleInfo",
    "available_analyzers",
    "input_from_hunks",
    "load_rules",
    "options_from_config",
    "run_analyzers",
    "stage_fingerprint",
]
