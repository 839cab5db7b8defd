"""The rule pack: YAML files of ast-grep rules with localreview's metadata, built-in and the user's.

A rule file holds one rule (top-level ``id``) or a list under ``rules:``, with optional shared
``utils:`` (ast-grep utility rules, merged into each rule of the file). One rule::

    id: python.subprocess-shell-true     # unique; lower case, digits, . _ -
    language: python                     # or a list: [javascript, typescript, tsx]
    severity: high                       # low | medium | high | critical
    category: security                   # security | performance | correctness
    cwe: CWE-78
    title: Shell command built from data  # one line
    message: ...                         # what is wrong, shown with the finding
    help: ...                            # longer text for SARIF (defaults to message)
    suggestion: ...                      # optional
    side: added                          # added (default): match the new side on changed lines;
                                         # removed: match the old side on removed lines
    focus: ARG                           # optional metavariable whose node locates the finding
    needle: 'shell=True'                 # optional regex that any match's text must contain: a region
                                         # (or, for removed rules, the removed lines) without it is not
                                         # searched. It only saves time; a wrong one loses matches.
    unit: {...}                          # removed rules: an ast-grep rule naming what a guard protects
                                         # (default: a function or class); a guard deleted together
                                         # with the whole unit it protected is not reported
    rule: {...}                          # ast-grep rule; constraints: / utils: as in ast-grep
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from reviewer.analyzers.inventory import builtin_rules_dir
from reviewer.analyzers.records import RuleInfo
from reviewer.errors import ConfigError
from reviewer.findings.model import CATEGORIES
from reviewer.findings.validate import normalize_cwe

SEVERITIES = ("low", "medium", "high", "critical")
# index.languages names that ast-grep-py parses under the same name.
LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx", "go", "java", "rust", "c", "cpp",
                       "csharp", "ruby", "php", "kotlin"})
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,80}$")
_KEYS = frozenset({"id", "language", "severity", "category", "cwe", "title", "message", "help", "suggestion",
                   "side", "focus", "unit", "needle", "rule", "constraints", "utils", "transform"})
_REQUIRED = ("id", "language", "severity", "cwe", "title", "message", "rule")


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses the pack ~10x faster


class _StrictSafeLoader(_Base):  # type: ignore[misc]
    """safe_load that refuses a key given twice: YAML keeps the last silently, and a rule with
    two ``has:`` keys would lose one of its conditions without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        for key in keys:
            if isinstance(key, str) and keys.count(key) > 1:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping (use 'all:' to combine rules)",
                    node.start_mark)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


@dataclass(frozen=True)
class Rule:
    id: str
    languages: tuple[str, ...]
    severity: str
    category: str
    cwe: str | None
    title: str
    message: str
    help: str
    suggestion: str | None
    on: str  # "added" | "removed"
    focus: str | None
    unit: Mapping[str, Any] | None  # removed rules: the guarded unit, an ast-grep rule
    needle: re.Pattern[str] | None  # a prefilter on the searched text
    config: Mapping[str, Any]  # the ast-grep Config: rule, constraints, utils, transform
    origin: str  # the file it came from, for error messages

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.id, self.title, self.help, self.cwe, self.severity, self.category)


def load_rules(user_dir: Path | None = None) -> tuple[Rule, ...]:
    """The built-in pack and, when given, the user's folder of rules in the same format."""
    # The built-in pack is compiled against every language by the test suite; a user's rules are
    # compiled at load time, so a bad one fails with its file's name before any review starts.
    rules = list(_load_dir(builtin_rules_dir(), validate=False))
    if user_dir is not None:
        if not user_dir.is_dir():
            raise ConfigError(f"rules_dir {user_dir} is not a folder",
                              hint="set rules_dir to a folder of .yml rule files, or remove the setting")
        rules.extend(_load_dir(user_dir, validate=True))
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise ConfigError(f"{rule.origin}: rule id {rule.id!r} is already defined in {seen[rule.id]}",
                              hint=f"rename the rule in {rule.origin}; rule ids must be unique")
        seen[rule.id] = rule.origin
    return tuple(rules)


def _load_dir(folder: Path, *, validate: bool) -> tuple[Rule, ...]:
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return _load_files(stamp, validate)


@lru_cache(maxsize=8)
def _load_files(stamp: tuple[tuple[str, int, int], ...], validate: bool) -> tuple[Rule, ...]:
    # Keyed by path, mtime and size: a review in a long-lived process (the MCP server) sees edits.
    out: list[Rule] = []
    for path, _mtime, _size in stamp:
        out.extend(load_file(Path(path), validate=validate))
    return tuple(out)


def load_file(path: Path, *, validate: bool = True) -> list[Rule]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictSafeLoader)  # nosec B506: a SafeLoader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read rule file {path}: {exc}", hint=f"fix the YAML syntax of {path}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"rule file {path} is not a mapping", hint="a rule file holds one rule or 'rules: [...]'")
    if "rules" in data:
        items, utils = data["rules"], data.get("utils") or {}
        extra = set(data) - {"rules", "utils"}
        if extra or not isinstance(items, list) or not isinstance(utils, dict):
            raise ConfigError(f"rule file {path}: expected 'rules:' (a list) and optional 'utils:' (a mapping)",
                              hint=f"remove {', '.join(sorted(extra))}" if extra else "see the rule format in the docs")
    else:
        items, utils = [data], {}
    return [_rule(item, utils, path, validate) for item in items]


def _fail(path: Path, rule_id: Any, what: str) -> ConfigError:
    where = f"{path}: rule {rule_id!r}" if isinstance(rule_id, str) else f"{path}"
    return ConfigError(f"{where}: {what}", hint=f"fix {path} (the rule format is described in docs/analyzers.md)")


def _rule(item: Any, shared_utils: Mapping[str, Any], path: Path, validate: bool) -> Rule:
    if not isinstance(item, dict):
        raise _fail(path, None, "a rule must be a mapping")
    rid = item.get("id")
    missing = [k for k in _REQUIRED if not item.get(k)]
    if missing:
        raise _fail(path, rid, f"missing {', '.join(missing)}")
    unknown = sorted(str(k) for k in set(item) - _KEYS)
    if unknown:
        raise _fail(path, rid, f"unknown key(s) {', '.join(unknown)}")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise _fail(path, rid, "id must be 2-81 characters of a-z, 0-9, '.', '_' or '-'")
    langs = item["language"]
    languages = tuple(langs) if isinstance(langs, list) else (langs,)
    bad = [lang for lang in languages if lang not in LANGUAGES]
    if bad or not languages:
        raise _fail(path, rid, f"unknown language {bad}; known: {', '.join(sorted(LANGUAGES))}")
    severity, category = item["severity"], item.get("category", "security")
    if severity not in SEVERITIES:
        raise _fail(path, rid, f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if category not in CATEGORIES:
        raise _fail(path, rid, f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    cwe = normalize_cwe(item["cwe"])
    if cwe is None:
        raise _fail(path, rid, f"cwe {item['cwe']!r} is not of the form CWE-<n>")
    on = item.get("side", "added")
    if on not in ("added", "removed"):
        raise _fail(path, rid, f"side must be 'added' or 'removed', not {on!r}")
    texts = {k: item.get(k) for k in ("title", "message", "help", "suggestion", "focus")}
    if any(v is not None and not isinstance(v, str) for v in texts.values()):
        raise _fail(path, rid, "title, message, help, suggestion and focus must be text")
    utils = {**shared_utils, **(item.get("utils") or {})}
    config: dict[str, Any] = {"rule": item["rule"]}
    for key, value in (("constraints", item.get("constraints")), ("utils", utils),
                       ("transform", item.get("transform"))):
        if value:
            config[key] = value
    needle = None
    if item.get("needle") is not None:
        try:
            needle = re.compile(str(item["needle"]))
        except re.error as exc:
            raise _fail(path, rid, f"needle is not a valid regular expression: {exc}") from None
    unit = item.get("unit")
    if unit is not None and not isinstance(unit, dict):
        raise _fail(path, rid, "unit must be an ast-grep rule (a mapping)")
    for lang in languages if validate else ():
        _compile(config, lang, path, rid)
        if unit is not None:
            _compile({"rule": unit}, lang, path, rid)
    return Rule(id=rid, languages=languages, severity=severity, category=category, cwe=cwe,
                title=" ".join(str(item["title"]).split()), message=str(item["message"]).strip(),
                help=str(item.get("help") or item["message"]).strip(),
                suggestion=(str(item["suggestion"]).strip() or None) if item.get("suggestion") else None,
                on=on, focus=texts["focus"], unit=unit, needle=needle, config=config, origin=str(path))


def _compile(config: Mapping[str, Any], lang: str, path: Path, rid: str) -> None:
    """Run the rule on an empty file once so a bad rule fails at load time, naming its file."""
    from ast_grep_py import SgRoot

    try:
        SgRoot("", lang).root().find_all(config)  # type: ignore[call-overload]
    except BaseException as exc:  # the Rust core raises plain Exception, or panics
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        lines = [ln.strip() for ln in str(exc).split("Stack backtrace")[0].splitlines() if ln.strip()]
        raise _fail(path, rid, f"ast-grep rejects the rule for {lang}: {' '.join(lines)[:400]}") from None


def rules_for(rules: Iterable[Rule], language: str, on: str) -> list[Rule]:
    return [r for r in rules if language in r.languages and r.on == on]
