"""The user's own rules: a configured folder of rules in the pack's format, loaded beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.analyzers.inventory import options_from_config, stage_fingerprint
from reviewer.analyzers.records import AnalyzerOptions
from reviewer.analyzers.rules import load_rules
from reviewer.analyzers.stage import run_analyzers
from reviewer.config import load_config
from reviewer.errors import ConfigError
from tests.conftest import write_files
from tests.reviewer.analyzers.helpers import inputs_from_change

USER_RULE = """\
id: acme.no-legacy-crypto
language: python
severity: medium
cwe: CWE-327
title: Legacy crypto helper
message: acme.legacy_encrypt uses a broken cipher.
help: Use acme.crypto.seal instead.
rule:
  pattern: legacy_encrypt($$$)
"""


def test_a_configured_rules_dir_is_loaded_relative_to_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    inputs = inputs_from_change(repo, {}, {"app.py": "token = legacy_encrypt(data, key)\n"})
    write_files(repo, {".localreview.toml": 'rules_dir = "policy/rules"\n',
                       "policy/rules/crypto.yml": USER_RULE})
    config = load_config(repo)
    assert config.rules_dir == "policy/rules" and config.analyzers is True
    options = options_from_config(config, repo)
    assert options.rules_dir == repo / "policy" / "rules"
    report = run_analyzers(inputs, options)
    (finding,) = [f for f in report.findings if f.source == "rule:acme.no-legacy-crypto"]
    assert (finding.path, finding.line, finding.cwe) == ("app.py", 1, "CWE-327")
    assert report.rules["acme.no-legacy-crypto"].help == "Use acme.crypto.seal instead."


def test_analyzers_false_turns_the_stage_off(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={"LOCALREVIEW_ANALYZERS": "false"})
    options = options_from_config(config, tmp_path)
    assert (options.bandit, options.secrets, options.rules) == (False, False, False)


@pytest.mark.parametrize("text,needle", [
    ("id: x.y\nlanguage: python\n", "missing severity"),
    (USER_RULE.replace("language: python", "language: cobol"), "unknown language"),
    (USER_RULE.replace("severity: medium", "severity: huge"), "severity 'huge'"),
    (USER_RULE.replace("cwe: CWE-327", "cwe: weak"), "cwe 'weak'"),
    (USER_RULE.replace("pattern: legacy_encrypt($$$)", "kind: no_such_node"), "ast-grep rejects the rule"),
    (USER_RULE + "rule:\n  kind: call\n", "appears twice"),
    (USER_RULE + "colour: red\n", "unknown key(s) colour"),
    ("id: [unclosed\n", "cannot read rule file"),
    ("- just\n- a list\n", "is not a mapping"),
    (USER_RULE.replace("acme.no-legacy-crypto", "python.pickle-load"), "already defined"),
])
def test_a_bad_rule_file_is_a_config_error_naming_the_file(tmp_path: Path, text: str, needle: str) -> None:
    folder = tmp_path / "rules"
    write_files(folder, {"bad.yml": text})
    with pytest.raises(ConfigError) as info:
        load_rules(folder)
    message = str(info.value)
    assert needle in message
    assert str(folder / "bad.yml") in message or "bad.yml" in message
    assert info.value.exit_code == 2


def test_a_missing_rules_dir_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a folder"):
        run_analyzers([], AnalyzerOptions(rules_dir=tmp_path / "nope"))


def test_the_stage_fingerprint_changes_with_a_rule_file_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    write_files(folder, {"r.yml": USER_RULE, "notes.txt": "not a rule"})
    options = AnalyzerOptions(rules_dir=folder)
    first = stage_fingerprint(options)
    assert stage_fingerprint(options) == first
    write_files(folder, {"notes.txt": "still not a rule"})
    assert stage_fingerprint(options) == first
    write_files(folder, {"r.yml": USER_RULE.replace("severity: medium", "severity: high")})
    assert stage_fingerprint(options) != first
    assert stage_fingerprint(AnalyzerOptions(bandit=False, rules_dir=folder)) != stage_fingerprint(options)


def test_an_edited_rule_file_is_reloaded(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    write_files(folder, {"r.yml": USER_RULE})
    assert "acme.no-legacy-crypto" in {r.id for r in load_rules(folder)}
    write_files(folder, {"r.yml": USER_RULE.replace("acme.no-legacy-crypto", "acme.renamed-rule")})
    ids = {r.id for r in load_rules(folder)}
    assert "acme.renamed-rule" in ids and "acme.no-legacy-crypto" not in ids
