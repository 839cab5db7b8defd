"""The analyzer stage end to end on real git diffs: bandit, secrets, removed guards, anchoring."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from reviewer.analyzers.inventory import available_analyzers
from reviewer.analyzers.records import AnalyzerInput, AnalyzerOptions, Removal
from reviewer.analyzers.secrets_run import mask
from reviewer.analyzers.stage import run_analyzers
from tests.reviewer.analyzers.helpers import inputs_from_change

VIEWS_BEFORE = '''\
import subprocess

from django.contrib.auth.decorators import login_required


@login_required
def export(request):
    name = validate_name(request.GET["name"])
    subprocess.run(["tar", "-czf", name, "data"], check=True)
    return "ok"


def untouched(cmd):
    return subprocess.call(cmd, shell=True)
'''

VIEWS_AFTER = '''\
import pickle
import subprocess

from django.contrib.auth.decorators import login_required


def export(request):
    name = request.GET["name"]
    subprocess.run("tar -czf " + name + " data", shell=True, check=True)
    return pickle.loads(request.body)


def untouched(cmd):
    return subprocess.call(cmd, shell=True)
'''


def _by_source(findings: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for f in findings:
        out.setdefault(f.source, []).append(f)
    return out


def test_a_change_that_removes_guards_and_adds_sinks(tmp_path: Path) -> None:
    inputs = inputs_from_change(tmp_path, {"app/views.py": VIEWS_BEFORE}, {"app/views.py": VIEWS_AFTER})
    (item,) = inputs
    report = run_analyzers(inputs)
    sources = _by_source(report.findings)
    # bandit, in-process, sees the shell=True call and the pickle load on the changed lines (the
    # rule pack sees them too, and one finding per line and CWE is kept)...
    assert report.counts["bandit"] == 2
    assert {(f.line, f.cwe) for f in report.findings} >= {(9, "CWE-78"), (10, "CWE-502")}
    # ...and nothing on the untouched shell=True call below the change.
    assert all(f.line in item.added for f in report.findings if f.source != "rule:python.removed-auth-decorator"
               and not f.source.startswith("rule:python.removed"))
    assert not any(f.line == 14 for f in report.findings)
    # The removed decorator is reported at the new-side line that stands where it was.
    (decorator,) = sources["rule:python.removed-auth-decorator"]
    assert decorator.line == 7 and decorator.cwe == "CWE-862"
    (validation,) = sources["rule:python.removed-validation-call"]
    assert validation.line == 8  # the rewritten assignment, which is the line that lost the call
    # One finding per line and CWE: the rule and bandit both see shell=True on line 9.
    keys = [(f.path, f.line, f.cwe) for f in report.findings]
    assert len(keys) == len(set(keys))
    assert any(f.line == 9 and f.cwe == "CWE-78" for f in report.findings)
    # Hints carry the same hits, compactly, and SARIF metadata names each rule.
    assert len(report.hints) == len(report.findings)
    for finding in report.findings:
        rule = report.rules[report.rule_of[finding]]
        assert rule.help and rule.title
    assert set(report.timings) >= {"bandit", "secrets", "rules", "total"}


def test_removal_anchors_from_the_diff(tmp_path: Path) -> None:
    before = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"
    after = "a = 1\nc = 3\nd = 4\n"
    (item,) = inputs_from_change(tmp_path, {"m.py": before}, {"m.py": after})
    assert item.added == frozenset()
    # "b" was removed before "c" (now line 2); "e" was at the end: anchored at the last line.
    assert item.removals == (Removal(2, ("b = 2",), 2), Removal(3, ("e = 5",), 5))


def test_a_file_emptied_is_anchored_at_line_one(tmp_path: Path) -> None:
    (item,) = inputs_from_change(tmp_path, {"m.py": "@login_required\ndef f():\n    pass\n"}, {"m.py": ""})
    assert item.removals == (Removal(1, ("@login_required", "def f():", "    pass"), 1),)
    report = run_analyzers([item], AnalyzerOptions(bandit=False, secrets=False))
    assert report.findings == []  # the decorated function went with its decorator


SECRETS = {
    "aws": "AKIAIOSFODNN7EXAMPLQ",
    "github": "ghp_" + "Zx9" * 12,
    "password": "s3cr3t-Pa55word-very-long",
}


def test_secrets_are_found_on_added_lines_and_never_shown_whole(tmp_path: Path) -> None:
    old_line = f'OLD_KEY = "{SECRETS["aws"]}"\n'
    before = {"settings.py": old_line, "deploy.env": "A=1\n"}
    after = {
        "settings.py": old_line + f'GITHUB_TOKEN = "{SECRETS["github"]}"\n',
        "deploy.env": f'A=1\nDB_PASSWORD="{SECRETS["password"]}"\n',
    }
    inputs = inputs_from_change(tmp_path, before, after)
    assert {i.path: i.language for i in inputs} == {"deploy.env": None, "settings.py": "python"}
    report = run_analyzers(inputs)
    secrets = [f for f in report.findings if f.source == "secrets"]
    assert {(f.path, f.line) for f in secrets} == {("settings.py", 2), ("deploy.env", 2)}
    assert all(f.cwe == "CWE-798" for f in secrets)
    dumped = json.dumps({"findings": [f.to_json() for f in report.findings],
                         "hints": [h.to_json() for h in report.hints],
                         "rules": {k: v.to_json() for k, v in report.rules.items()}})
    for value in SECRETS.values():
        for start in range(len(value) - 4):
            assert value[start:start + 5] not in dumped, f"{value[:3]}… leaks in the report"


def test_mask_keeps_at_most_three_characters() -> None:
    assert mask("AKIAIOSFODNN7EXAMPLQ") == "AKI… (20 characters)"
    assert mask("hunter22") == "h… (8 characters)"
    assert mask("abc") == "… (3 characters)"


def test_the_stage_touches_no_network(tmp_path: Path) -> None:
    """detect-secrets can verify secrets online; bandit and ast-grep have no reason to call out.
    An audit hook sees every socket connection and DNS look-up made while the stage runs."""
    events: list[str] = []
    watching = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if watching[0] and event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
            events.append(f"{event} {args!r}")

    sys.addaudithook(hook)
    try:
        inputs = inputs_from_change(tmp_path, {"a.py": "x = 1\n"}, {
            "a.py": f'x = 1\nTOKEN = "{SECRETS["github"]}"\nimport requests\nrequests.get(u, verify=False)\n'})
        report = run_analyzers(inputs)
    finally:
        watching[0] = False
    assert report.findings, "the change has findings; the stage ran"
    assert events == []
    # The hook does see connections: the check above is not vacuous.
    watching[0] = True
    try:
        with socket.socket() as probe, pytest.raises(OSError):
            probe.connect(("127.0.0.1", 9))
    finally:
        watching[0] = False
    assert events and events[0].startswith("socket.connect")


def test_nothing_points_off_the_change_even_on_adversarial_input() -> None:
    """Inputs whose lines disagree with the text (added lines past the end, anchors nowhere,
    removals that cannot be rebuilt) and code full of sinks outside the change: every finding
    still points at an added line or a removal anchor of its own file."""
    sinks = "\n".join([
        "import os, pickle, subprocess, yaml",
        "os.system('x' + a)",
        "subprocess.run(c, shell=True)",
        "pickle.loads(b)",
        "yaml.load(t)",
        "eval(e)",
        'TOKEN = "ghp_' + "Qw7" * 12 + '"',
        "requests.get(u, verify=False)",
    ] * 5) + "\n"
    inputs = [
        AnalyzerInput("a.py", "python", sinks, frozenset({3, 12, 400, 0, -1}),
                      (Removal(20, ("@login_required",), 20), Removal(999, ("verify=True",), 7))),
        AnalyzerInput("b.py", "python", sinks, frozenset(), (Removal(5, ("x",), 10_000),)),
        AnalyzerInput("c.js", "javascript", "eval(x + y);\n" * 10, frozenset({2}),
                      (Removal(1, ("router.get('/a', requireAuth, h);",), 1),)),
        AnalyzerInput("d.go", "go", "package m\n" + "var c = &tls.Config{InsecureSkipVerify: true}\n" * 5,
                      frozenset({4}), ()),
        AnalyzerInput("e.txt", None, sinks, frozenset(range(1, 10)), ()),
        AnalyzerInput("f.py", "python", "def f(:\n  pass\n", frozenset({1, 2}), ()),  # bandit cannot parse it
        AnalyzerInput("../../etc/passwd", "python", sinks, frozenset({2}), ()),
    ]
    report = run_analyzers(inputs)
    allowed = {i.path: i.added | i.anchors for i in inputs}
    assert report.findings, "the adversarial inputs do contain hits on changed lines"
    for f in report.findings:
        assert f.line in allowed[f.path] and f.end_line in allowed[f.path] and f.line <= f.end_line, f
        assert f.line >= 1
    hint_lines = {(h.path, h.line) for h in report.hints}
    assert hint_lines == {(f.path, f.line) for f in report.findings}
    assert report.dropped.get("bandit", 0) + report.dropped.get("rules", 0) > 0  # hits off the change were seen
    assert any("f.py" in w for w in report.warnings)


def test_analyzers_can_be_turned_off(tmp_path: Path) -> None:
    inputs = inputs_from_change(tmp_path, {}, {"a.py": "import os\nos.system('ls ' + x)\n"})
    report = run_analyzers(inputs, AnalyzerOptions(bandit=False, secrets=False, rules=False))
    assert report.findings == [] and report.hints == []
    assert all(v.startswith("off") for v in report.available.values())


def test_available_names_each_analyzer_with_its_version() -> None:
    available = available_analyzers()
    assert set(available) == {"bandit", "secrets", "rules"}
    assert available["bandit"].startswith("ok (bandit 1.")
    assert available["rules"].startswith("ok (ast-grep-py 0.")
    assert available["secrets"].startswith("ok (detect-secrets 1.")


@pytest.mark.parametrize("lang,ext", [("typescript", "ts"), ("tsx", "tsx")])
def test_javascript_rules_run_on_typescript(tmp_path: Path, lang: str, ext: str) -> None:
    code = "const agent = new https.Agent({ rejectUnauthorized: false });\n"
    inputs = inputs_from_change(tmp_path, {}, {f"src/a.{ext}": code})
    assert inputs[0].language == lang
    report = run_analyzers(inputs, AnalyzerOptions(bandit=False, secrets=False))
    assert [f.source for f in report.findings] == ["rule:js.tls-reject-unauthorized"]


def _module(n_methods: int) -> str:
    parts = ["import subprocess as sp", "", "", "class Big:", '    """A class longer than a search region."""', ""]
    for k in range(n_methods):
        parts += [f"    def m{k}(self, cmd):", f"        # step {k}", f"        x = {k}",
                  "        return sp.call(cmd, shell=True)", ""]
    return "\n".join(parts) + "\n"


def test_bandit_sees_only_the_touched_statements_with_line_numbers_kept() -> None:
    from reviewer.analyzers.bandit_run import changed_region

    text = _module(40)
    lines = text.split("\n")
    for changed in range(1, len(lines), 3):
        region = changed_region(text, frozenset({changed}))
        compile(region, "region.py", "exec")  # always valid Python
        assert region.count("\n") == text.count("\n")
        if lines[changed - 1].strip():
            assert region.split("\n")[changed - 1] == lines[changed - 1]
    # A change inside one method keeps that method and the imports, not the other 39 methods.
    method_line = lines.index("    def m20(self, cmd):") + 3
    kept = [ln for ln in changed_region(text, frozenset({method_line})).split("\n") if ln.strip()]
    assert "import subprocess as sp" in kept and "    def m20(self, cmd):" in kept
    assert "    def m3(self, cmd):" not in kept


def test_only_the_changed_shell_call_of_a_big_class_is_reported(tmp_path: Path) -> None:
    before = _module(40)
    after = before.replace("        x = 20\n", "        x = 21\n")
    (item,) = inputs_from_change(tmp_path, {"big.py": before}, {"big.py": after})
    report = run_analyzers([item], AnalyzerOptions(secrets=False))
    # x = 21 is the only changed line; the shell=True calls are unchanged lines, and stay unreported.
    assert report.findings == []
    after = before.replace("        return sp.call(cmd, shell=True)\n        \n", "").replace(
        "        x = 20\n        return sp.call(cmd, shell=True)\n",
        "        x = 20\n        return sp.call(cmd + ' --all', shell=True)\n")
    (item,) = inputs_from_change(tmp_path / "second", {"big.py": before}, {"big.py": after})
    report = run_analyzers([item], AnalyzerOptions(secrets=False))
    assert {f.line for f in report.findings} == set(item.added)
    assert report.counts.get("bandit", 0) >= 1 and report.counts.get("rules", 0) >= 1
