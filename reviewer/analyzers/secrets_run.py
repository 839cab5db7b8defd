"""detect-secrets on the added lines, with its offline plugins only. No report shows a secret:
only its first few characters and its length. Verification (the one part of detect-secrets
that uses the network) is never configured."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reviewer.analyzers.records import AnalyzerInput, Hit, RuleInfo
from reviewer.diff.records import text_lines

# All of detect-secrets 1.5's detectors except the public-IP one (an address is no secret).
# They match regular expressions and entropy; none calls out unless `verify` is asked for.
PLUGINS = (
    "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
    "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector",
    "Base64HighEntropyString", "HexHighEntropyString", "IbmCloudIamDetector", "IbmCosHmacDetector",
    "JwtTokenDetector", "KeywordDetector", "MailchimpDetector", "NpmDetector", "OpenAIDetector",
    "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector", "SoftlayerDetector",
    "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector", "TwilioKeyDetector",
)  # fmt: skip
_ENTROPY = frozenset({"Base64HighEntropyString", "HexHighEntropyString"})
_VERIFY_FILTER = "detect_secrets.filters.common.is_ignored_due_to_verification_policies"
MAX_LINE = 2_000  # minified or data lines: secrets scanning is per line and regex-heavy


def mask(secret: str) -> str:
    """The first characters of a secret (at most 3, none for short ones) and its length."""
    keep = 3 if len(secret) >= 16 else 1 if len(secret) >= 8 else 0
    return f"{secret[:keep]}… ({len(secret)} characters)"


def run_secrets(inputs: Sequence[AnalyzerInput]) -> list[Hit]:
    todo = [item for item in inputs if item.added]
    if not todo:
        return []
    from detect_secrets.core import scan
    from detect_secrets.util.code_snippet import get_code_snippet

    hits: list[Hit] = []
    plugins = _plugins()
    for item in todo:
        lines = text_lines(item.new_text)
        for n in sorted(item.added):
            if n > len(lines) or not lines[n - 1].strip() or len(lines[n - 1]) > MAX_LINE:
                continue
            line = lines[n - 1].rstrip()
            context = get_code_snippet(lines=lines, line_number=n)
            if scan._is_filtered_out(required_filter_parameters=["line"], filename=item.path,
                                     line=line, context=context):
                continue
            seen: set[str] = set()
            for plugin in plugins:
                for secret in scan._scan_line(plugin=plugin, filename=item.path, line=line,
                                              line_number=n, context=context):
                    value = secret.secret_value or ""
                    if not value or value in seen or scan._is_filtered_out(
                            required_filter_parameters=["context"], filename=item.path, secret=value,
                            plugin=plugin, line=line, context=context):
                        continue
                    seen.add(value)
                    hits.append(_hit(item, n, plugin, secret.type, value))
    return hits


_CONFIGURED: list[Any] = []


def _plugins() -> list[Any]:
    """Configure detect-secrets' process-wide settings once: its ``transient_settings`` re-imports
    every filter and plugin module on entry and exit, which costs more than the scan itself."""
    from detect_secrets.settings import get_plugins, get_settings

    settings = get_settings()
    if not _CONFIGURED or set(settings.plugins) != set(PLUGINS):
        settings.plugins.clear()
        settings.configure_plugins([{"name": name} for name in PLUGINS])
        _CONFIGURED[:] = [True]
    settings.filters.pop(_VERIFY_FILTER, None)  # belt and braces: never verify a secret online
    plugins: list[Any] = get_plugins()
    return plugins


def _hit(item: AnalyzerInput, line: int, plugin: Any, kind: str, value: str) -> Hit:
    name = type(plugin).__name__
    entropy = name in _ENTROPY
    info = RuleInfo(
        id=f"secrets.{name}",
        title=f"Possible hard-coded secret: {kind}",
        help="A credential written into source code reaches every clone, fork, backup and log of the "
        "repository and cannot be withdrawn by a later commit. Load it from the environment or a secret "
        "store, and rotate the exposed value.",
        cwe="CWE-798",
        severity="medium" if entropy else "high",
        category="security",
    )
    message = f"{kind} on an added line: {mask(value)}."
    return Hit(path=item.path, line=line, end_line=line, rule=info, source="secrets", message=message,
               suggestion="Read the value from the environment or a secret manager, and rotate the exposed one.",
               secret=value or None)
