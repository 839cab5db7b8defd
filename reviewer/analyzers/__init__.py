"""Deterministic analysis of the changed lines: bandit, detect-secrets and localreview's rule pack.

The review builds one ``AnalyzerInput`` per changed file (``lines.input_from_hunks``), calls
``stage.run_analyzers`` once (``apply.analyze_plan`` does both for a plan), and gets findings
(``source`` = bandit, secrets or rule:<id>) and hints for the prompt, all anchored on changed
lines or removal points. ``inventory`` says what is installed without importing any of it.
"""
