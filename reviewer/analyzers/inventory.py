"""What the analyzer stage is made of, without importing it: which analyzers are installed (and
their versions), where the rules are, the options a config gives, and one digest of all that.

The hook's cache key and ``localreview doctor`` need these on paths that must stay light, so
nothing here imports bandit, detect-secrets, ast-grep or yaml."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata, resources
from importlib.util import find_spec
from pathlib import Path

from reviewer.analyzers.records import AnalyzerOptions
from reviewer.config import Config

_PACKAGES = {"bandit": ("bandit", "bandit"), "secrets": ("detect_secrets", "detect-secrets"),
             "rules": ("ast_grep_py", "ast-grep-py")}

def builtin_rules_dir() -> Path:
    return Path(str(resources.files("reviewer.analyzers") / "rules"))



def available_analyzers(options: AnalyzerOptions | None = None) -> dict[str, str]:
    """analyzer -> "ok (<package> <version>)", or why it will not run. Imports nothing heavy."""
    options = options or AnalyzerOptions()
    out: dict[str, str] = {}
    for name, (module, dist) in _PACKAGES.items():
        if not getattr(options, name):
            out[name] = "off (turned off in the configuration)"
        elif find_spec(module) is None:
            out[name] = f"missing: install it with `pip install {dist}` (the localreview package depends on it)"
        else:
            try:
                out[name] = f"ok ({dist} {metadata.version(dist)})"
            except metadata.PackageNotFoundError:
                out[name] = "ok"
    return out


def stage_fingerprint(options: AnalyzerOptions | None = None) -> str:
    """A digest of everything that decides the stage's output besides the diff: which analyzers
    run and their versions, and the bytes of every rule file (built-in and the user's). The hook's
    cache key includes it, so an edited rule invalidates a cached answer and nothing else does."""
    options = options or AnalyzerOptions()
    digest = hashlib.sha256(b"analyzers-v1")
    digest.update(json.dumps(available_analyzers(options), sort_keys=True).encode())
    folders = [builtin_rules_dir()] + ([options.rules_dir] if options.rules_dir and options.rules else [])
    for folder in folders:
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".yml", ".yaml") and path.is_file():
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def options_from_config(config: Config, root: Path | None) -> AnalyzerOptions:
    """``rules_dir`` is relative to the repository root; ``analyzers = false`` turns all off."""
    on = config.analyzers
    rules_dir = None
    if config.rules_dir:
        rules_dir = Path(config.rules_dir).expanduser()
        if not rules_dir.is_absolute() and root is not None:
            rules_dir = root / rules_dir
    return AnalyzerOptions(bandit=on, secrets=on, rules=on, rules_dir=rules_dir)


