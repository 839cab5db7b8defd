"""Secret redaction for prompts that leave the machine.

When the model runs on another host (an on-premises GPU server, opted into with
``allow_remote_host = true``), the diff and its context travel over the network. Keys, tokens,
passwords and private keys in that text are replaced with ``[REDACTED]`` first.

Redaction works line by line and never adds or removes a line break: the prompt numbers every
line, and findings must still point at the right one. Known token formats are replaced whole;
for ``name = "value"`` assignments only the value goes, so the model still sees that a
credential is hard-coded there.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from urllib.parse import urlparse

from reviewer.backends.base import Backend, ChatRequest, ChatResponse
from reviewer.config import Config, ollama_host_env
from reviewer.errors import ConfigError
from reviewer.policy.privacy import is_loopback

MASK = "[REDACTED]"

# Token formats with a fixed, documented prefix: precise enough to redact wherever they appear.
_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"),
        ("github_token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
        ("github_pat", r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b"),
        ("gitlab_token", r"\bgl(?:pat|ptt|dt|rt|cbt|oas|soat|ffct|imt|agent)-[A-Za-z0-9_\-]{20,}"),
        ("slack_token", r"\bxox[abposre]-[A-Za-z0-9\-]{10,}"),
        ("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_\-]+"),
        ("stripe_key", r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}\b"),
        ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}"),
        # OpenAI / Anthropic style: the digit requirement keeps words like "sk-learn-..." out.
        ("sk_api_key", r"\bsk-(?:proj-|ant-(?:api\d\d-)?)?(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}"),
        ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}\b"),
        ("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b"),
        ("pypi_token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}"),
        ("sendgrid_key", r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b"),
        ("digitalocean_token", r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
        ("azure_account_key", r"(?<=AccountKey=)[A-Za-z0-9+/]{40,}={0,2}"),
        # A JWT: base64url header and payload that both open with '{"' (eyJ), then the signature.
        ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
        ("bearer_token", r"(?i)(?<=\bbearer )[A-Za-z0-9\-._~+/]{16,}=*"),
    )
)

# user:password@ in a URL (database DSNs, git remotes): only the password goes.
_URL_PASSWORD = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@'\"]+:(?P<value>[^\s@/'\"]+)@")
# "Authorization: Basic <base64 of user:password>"; decoded and checked, so prose never matches.
_BASIC = re.compile(r"(?i)\bbasic (?P<value>[A-Za-z0-9+/]{12,}={0,2})")

# Names that say "this is a credential" however short the value. The name must END with one of
# these words, so token_type, password_hash, secret_name and tokenizer are left alone.
_STRONG = (
    r"password|passwd|passphrase|secret|token|api[_\-]?key|access[_\-]?key|secret[_\-]?key"
    r"|private[_\-]?key|auth[_\-]?key|client[_\-]?secret|credentials?"
)
# Names that may or may not hold a credential ("key", "auth"): only a high-entropy value counts.
_WEAK = r"key|auth|cred|signature|salt|hmac|cookie|session|dsn|pin|passcode|sig"
_NAME = r"(?<![\w.\-$@])(?P<name>[$@]?[\w.\-]*?(?:{words})s?)(?P<q1>[\"']?)\]?"
_QUOTED = r"\s*(?:(?<![=!<>])=(?![=~>])|:(?![:=])|=>|:=)\s*(?P<q>[\"'`])(?P<value>(?:\\.|(?!(?P=q)).){{1,1000}}?)(?P=q)"
_STRONG_ASSIGN = re.compile(_NAME.format(words=_STRONG) + _QUOTED.format(), re.IGNORECASE)
_WEAK_ASSIGN = re.compile(_NAME.format(words=_WEAK) + _QUOTED.format(), re.IGNORECASE)
# Unquoted values (.env, YAML, INI): "DB_PASSWORD=s3cr3t99" at the start of a line.
_BARE_ASSIGN = re.compile(
    r"^(?P<lead>\s*(?:export\s+|-\s+)?)(?P<name>[\w.\-]*?(?:" + _STRONG + r")s?)"
    r"\s*(?:=|:)[ \t]*(?P<value>[^\s'\"`#,;(){}\[\]]{8,})[ \t]*(?:#.*)?\r?$",
    re.IGNORECASE,
)

_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
# Inside a key block every base64 word with a letter goes, however short (the last line of a
# key is); a word of digits alone is left, because that is the prompt's line-number column.
_PEM_WORD = re.compile(r"(?:(?<=\\n)|(?<![\w+/=\\]))(?=[A-Za-z0-9+/]*[A-Za-z])[A-Za-z0-9+/]{2,}={0,2}(?![\w+/=])")
# The prompt's own columns ("    12 + ", "    12   ") and a source string's quoting around a key line.
_PROMPT_PREFIX = re.compile(r"^\s*\d*\s+(?:[+\-]\s)?")
_KEY_LINE = re.compile(r"""^[\s"'`+,;]*(?:[A-Za-z0-9+/]+={0,2}|[\w\-]+: .*)?(?:\\n)?[\s"'`+,;]*$""")
MAX_KEY_LINES = 200  # an 8192-bit RSA key is about 100 lines; past this the END line was cut off

_PLACEHOLDER = re.compile(
    r"^(?:\$\{.*\}|\{\{.*\}\}|<[^>]*>|%\(?\w*\)?s|\$[A-Z_][A-Z0-9_]*|\*+|x+|X+|\.+|-+|#+|_+|\?+"
    r"|(?:your|my|example|dummy|fake|sample|placeholder)[_\-][\w\-]*"
    r"|test|testing|example|dummy|fake|sample|placeholder|secret|password|token|changeme|change[_\-]me"
    r"|todo|tbd|none|null|nil|undefined|true|false|redacted)$",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")
_KEYLIKE = re.compile(r"^[A-Za-z0-9+/=_\-.]+$")


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character: random keys score 3.5+, words and names less."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _is_placeholder(value: str) -> bool:
    # A value with a space is prose ("is too short", "Enter your password"), not a credential.
    v = value.strip()
    return len(v) < 4 or MASK in v or " " in v or "{" in v or bool(_PLACEHOLDER.match(v))


def _high_entropy(value: str) -> bool:
    return (
        len(value) >= 16
        and bool(_KEYLIKE.match(value))
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and _entropy(value) >= 3.5
    )


def _bare_secret(value: str) -> bool:
    """An unquoted value may be an expression (``auth.Token``, ``api_key_v2``); a literal
    secret has a digit and is not shaped like a name, or is one word of letters and digits."""
    if _is_placeholder(value) or not any(c.isdigit() for c in value):
        return False
    if _IDENTIFIER.match(value):
        return "_" not in value and "." not in value and any(c.isalpha() for c in value)
    return True


def _is_basic_credential(value: str) -> bool:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and decoded.isprintable()


class _Line:
    """One line being redacted, with the running count."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.count = 0

    def sub_group(self, pattern: re.Pattern[str], keep: Callable[[re.Match[str]], bool]) -> None:
        """Replace the ``value`` group of each match that ``keep`` accepts."""
        out: list[str] = []
        pos = 0
        for m in pattern.finditer(self.text):
            if not keep(m):
                continue
            start, end = m.span("value")
            out.append(self.text[pos:start])
            out.append(MASK)
            pos = end
            self.count += 1
        if out:
            self.text = "".join(out) + self.text[pos:]

    def sub_whole(self, pattern: re.Pattern[str]) -> None:
        self.text, n = pattern.subn(MASK, self.text)
        self.count += n


def _redact_line(text: str) -> tuple[str, int]:
    line = _Line(text)
    for _name, pattern in _TOKENS:
        line.sub_whole(pattern)
    line.sub_group(_URL_PASSWORD, lambda m: not _is_placeholder(m.group("value")))
    line.sub_group(_BASIC, lambda m: _is_basic_credential(m.group("value")))
    line.sub_group(_STRONG_ASSIGN, lambda m: not _is_placeholder(m.group("value")))
    line.sub_group(
        _WEAK_ASSIGN, lambda m: not _is_placeholder(m.group("value")) and _high_entropy(m.group("value"))
    )
    line.sub_group(_BARE_ASSIGN, lambda m: _bare_secret(m.group("value")))
    return line.text, line.count


def redact(text: str) -> tuple[str, int]:
    """``text`` with secrets replaced by ``[REDACTED]``, and how many were replaced.

    The result has exactly as many lines as ``text`` (line breaks are never touched).
    A private-key block counts as one secret however many lines it spans.
    """
    lines = text.split("\n")
    total = 0
    key_lines = 0  # lines left in the private-key block being redacted (0: not in one)
    for i, line in enumerate(lines):
        begin = _PEM_BEGIN.search(line)
        if key_lines and not begin and not _KEY_LINE.match(_PROMPT_PREFIX.sub("", line, count=1)):
            key_lines = 0  # the block ended without its END line (a cut-off hunk or chunk)
        if begin or key_lines:
            # Keep the BEGIN/END markers (they tell the reviewer a key is committed here) and
            # replace the body, on one line (JSON "\n" escapes) or across many.
            start = begin.end() if begin else 0
            end = _PEM_END.search(line, start)
            stop = end.start() if end else len(line)
            line = line[:start] + _PEM_WORD.sub(MASK, line[start:stop]) + line[stop:]
            if begin:
                total += 1
            key_lines = 0 if end else (MAX_KEY_LINES if begin else key_lines - 1)
        lines[i], n = _redact_line(line)
        total += n
    return "\n".join(lines), total


def redact_batch(system: str, user: str) -> tuple[str, str, int]:
    """Both prompts of one batch, redacted, and the number of secrets replaced in all."""
    system_out, n_system = redact(system)
    user_out, n_user = redact(user)
    return system_out, user_out, n_system + n_user


# --- when redaction applies ------------------------------------------------------------------


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    parsed = urlparse(url if "://" in url else f"http://{url}")
    return parsed.hostname


def remote_model_host(config: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The model server's host when it is not loopback, else None (embedded never is remote)."""
    if config.backend == "embedded":
        return None
    host = _host_of(config.host or ollama_host_env(config, environ))
    return host if host and not is_loopback(host) else None


def remote_hosts(config: Config, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(what, host) for each configured host beyond loopback: the model server and the store."""
    out: list[tuple[str, str]] = []
    model = remote_model_host(config, environ)
    if model:
        out.append(("model server", model))
    store = _host_of(config.store_url)
    if store and not is_loopback(store):
        out.append(("Chroma store", store))
    return out


def require_remote_opt_in(config: Config, environ: Mapping[str, str] | None = None) -> None:
    """Refuse a non-loopback model or store host unless the configuration opts in explicitly:
    code sent to another machine must be a decision, not a typo in a URL."""
    if config.allow_remote_host:
        return
    hosts = remote_hosts(config, environ)
    if hosts:
        what, host = hosts[0]
        origin = config.source_of("store_url" if what == "Chroma store" else "host")
        if origin == "default":
            origin = "env OLLAMA_HOST"
        raise ConfigError(
            f"the {what} {host} (from {origin}) is not on this machine, and allow_remote_host is not set",
            hint="if it is your own server, set allow_remote_host = true in [tool.localreview] or"
            " .localreview.toml (secrets are then redacted from prompts); otherwise use a loopback host",
        )


# --- the seam: a backend that redacts what it sends ------------------------------------------


class RedactingBackend:
    """Wraps the backend of a remote model host: every prompt is redacted before ``chat``.

    ``redacted`` counts secrets per distinct prompt, so a retried batch is not counted twice.
    """

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.smoke_test_model = inner.smoke_test_model
        self.redacted = 0
        self._seen: set[int] = set()

    def check(self) -> None:
        self.inner.check()

    def context_length(self) -> int | None:
        return self.inner.context_length()

    def count_tokens(self, text: str) -> int | None:
        return self.inner.count_tokens(text)

    def chat(self, request: ChatRequest) -> ChatResponse:
        system, user, n = redact_batch(request.system, request.user)
        key = hash((request.system, request.user))
        if key not in self._seen:
            self._seen.add(key)
            self.redacted += n
        return self.inner.chat(
            ChatRequest(system, user, request.schema, request.num_ctx, request.max_tokens,
                        request.expected_prompt_tokens)
        )


__all__ = [
    "MASK",
    "RedactingBackend",
    "redact",
    "redact_batch",
    "remote_hosts",
    "remote_model_host",
    "require_remote_opt_in",
]
