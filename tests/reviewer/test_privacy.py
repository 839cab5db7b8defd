"""The privacy guard: no connection and no DNS look-up beyond loopback and the configured hosts.

In-process tests drive the audit hook directly (``sys.audit``) where a real look-up would leave
the machine; a subprocess test records every connect and look-up of real ``index``, ``diff`` and
``hook`` runs with the default configuration.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reviewer.config import Config
from reviewer.errors import PrivacyViolation
from reviewer.policy import privacy
from reviewer.policy.guard import allowed_hosts_for
from tests.conftest import git, make_repo


@pytest.fixture
def guard() -> Iterator[None]:
    privacy.reset_blocked()
    try:
        yield
    finally:
        # Audit hooks cannot be removed: stop enforcing so later tests run unguarded as before.
        privacy.suspend()
        privacy.reset_blocked()


def test_blocks_a_dns_look_up_and_names_the_host(guard: None) -> None:
    privacy.install([])
    with pytest.raises(PrivacyViolation) as err:
        socket.getaddrinfo("telemetry.example.com", 443)
    assert "blocked a network connection to telemetry.example.com" in err.value.message
    assert "allow_remote_host" in (err.value.hint or "")
    assert privacy.blocked_hosts() == ["telemetry.example.com"]


@pytest.mark.parametrize(("family", "address"), [(socket.AF_INET, ("192.0.2.10", 80)),
                                                  (socket.AF_INET6, ("2001:db8::1", 80, 0, 0))])
def test_blocks_a_connect_to_a_non_loopback_address(guard: None, family: int, address: tuple[object, ...]) -> None:
    privacy.install([])
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(PrivacyViolation) as err:
        sock.connect(address)
    assert str(address[0]) in err.value.message


def test_an_http_client_fails_with_the_guard_s_message(guard: None) -> None:
    privacy.install([])
    with pytest.raises(PrivacyViolation, match=r"huggingface\.co"):
        httpx.get("https://huggingface.co/api/models/x", timeout=2)


def test_allows_loopback(guard: None) -> None:
    privacy.install([])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
    accepted.start()
    try:
        socket.getaddrinfo("127.0.0.1", server.getsockname()[1])
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    finally:
        accepted.join(timeout=5)
        server.close()
    for name in ("localhost", "127.0.0.1", "::1", "[::1]", "127.3.4.5", "app.localhost"):
        assert privacy.is_loopback(name), name
    assert privacy.blocked_hosts() == []


def test_allows_the_configured_model_and_store_hosts(guard: None) -> None:
    config = Config(host="http://gpu01.corp.example:11434", store_url="http://10.1.2.3:8000")
    assert set(allowed_hosts_for(config)) == {"gpu01.corp.example", "10.1.2.3"}
    privacy.install(allowed_hosts_for(config))
    # Raised through the hook, not performed: the look-up itself would leave this machine.
    sys.audit("socket.getaddrinfo", "gpu01.corp.example", 11434, 0, 0, 0)
    sys.audit("socket.getaddrinfo", "GPU01.corp.example", 11434, 0, 0, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sys.audit("socket.connect", sock, ("10.1.2.3", 8000))
        with pytest.raises(PrivacyViolation, match=r"10\.1\.2\.4"):
            sys.audit("socket.connect", sock, ("10.1.2.4", 8000))
    with pytest.raises(PrivacyViolation, match=r"gpu02\.corp\.example"):
        sys.audit("socket.getaddrinfo", "gpu02.corp.example", 11434, 0, 0, 0)


def test_unix_sockets_are_not_network_connections(guard: None, tmp_path: Path) -> None:
    privacy.install([])
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sys.audit("socket.connect", sock, str(tmp_path / "s.sock"))


def test_a_suspended_guard_blocks_nothing(guard: None) -> None:
    privacy.install([])
    privacy.suspend()
    sys.audit("socket.getaddrinfo", "example.org", 80, 0, 0, 0)
    assert privacy.blocked_hosts() == []


# --- real commands in a fresh process -------------------------------------------------------------

RECORDER = r"""
import json, os, sys
events = []
def hook(event, args):
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else "unix:" + str(address)
        events.append(("connect", str(host)))
    elif event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
        events.append(("getaddrinfo", str(host)))
# Installed before localreview, or any library it loads, is imported.
sys.addaudithook(hook)
from reviewer.cli import cli, main
def _exit(code):
    # The hook leaves with os._exit after a review that hit its time limit: report it all the same.
    raise SystemExit(code)
os._exit = _exit
report = []
for name, argv, setup in json.loads(sys.argv[1]):
    if name == "hook" and "hook" not in cli.commands:
        continue
    for cmd in setup:
        import subprocess
        subprocess.run(cmd, check=True, capture_output=True)
    start = len(events)
    try:
        main(argv)
    except SystemExit as exc:
        report.append({"name": name, "code": exc.code, "events": events[start:]})
    # After every step, so a crash later still leaves what was seen so far.
    print("REPORT " + json.dumps(report), file=sys.stderr, flush=True)
"""

APP = "import sqlite3\n\n\ndef find(cur, name):\n    return cur.fetchone()\n"
CHANGED = 'import sqlite3\n\n\ndef find(cur, name):\n    cur.execute("SELECT * FROM t WHERE n = \'%s\'" % name)\n' \
          "    return cur.fetchone()\n"


def _strace(out: Path) -> list[str]:
    """The strace prefix recording every connect/send with an address, or [] without strace."""
    exe = shutil.which("strace")
    if exe is None:
        return []
    base = [exe, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-e", "signal=none", "-o", str(out)]
    fast = subprocess.run([exe, "--seccomp-bpf", "-f", "-o", os.devnull, "true"], capture_output=True)
    return [exe, "--seccomp-bpf", *base[1:]] if fast.returncode == 0 else base


_ADDRESS = re.compile(r'sin_addr=inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def _addresses_beyond_loopback(trace: str) -> list[str]:
    """Socket addresses in an strace log that are not loopback (IPv4-mapped IPv6 included)."""
    found = [v4 or v6 for v4, v6 in _ADDRESS.findall(trace)]
    return [host for host in found if not privacy.is_loopback(host.removeprefix("::ffff:"))]


def _loopback_or_local(host: str) -> bool:
    return host.startswith("unix:") or host in ("", "None") or privacy.is_loopback(host)


@pytest.mark.slow
def test_index_diff_and_hook_make_no_connection_beyond_loopback(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"app/db.py": APP, "app/api.py": "from app.db import find\n"})
    (root / "app" / "db.py").write_text(CHANGED)
    git(root, "commit", "-qam", "query")
    staged = "def ping(host):\n    import os\n    os.system('ping -c 1 ' + host)\n"
    steps = [
        ("index", ["index", "--quiet"], []),
        ("diff --dry-run", ["diff", "HEAD~1", "--dry-run", "--format", "json"], []),
        ("diff (embedded review)", ["diff", "HEAD~1", "--backend", "embedded", "--num-ctx", "4096",
                                    "--format", "json", "--fail-on", "none"], []),
        ("hook", ["hook", "--fail-on", "none", "--timeout", "1200"],
         [["sh", "-c", f"printf %s \"{staged}\" > app/net.py && git add app/net.py"]]),
    ]
    # The default configuration: no model host, no store, and none of the offline variables
    # (localreview must set them itself, before any model library is imported).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "TRANSFORMERS_", "LOCALREVIEW_", "OLLAMA_"))}
    # A fresh cache: the first run on a machine (which exports the int8 embedding model) is
    # the one most likely to touch the network.
    env["LOCALREVIEW_CACHE_DIR"] = str(tmp_path / "cache")
    env["LOCALREVIEW_OUTPUT_RESERVE"] = "512"  # a short answer keeps the real model runs cheap
    # The audit hook sees Python's sockets only; strace also sees native code and child processes.
    trace = tmp_path / "trace.txt"
    tracer = _strace(trace)
    proc = subprocess.run([*tracer, sys.executable, "-c", RECORDER, json.dumps(steps)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=1500)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("REPORT ")]
    assert lines, proc.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))
    names = [r["name"] for r in report]
    assert names[:3] == ["index", "diff --dry-run", "diff (embedded review)"], proc.stderr[-3000:]
    from reviewer.cli import cli

    assert ("hook" in names) == ("hook" in cli.commands)
    for r in report:
        assert r["code"] == 0, (r["name"], proc.stderr[-3000:])
        beyond = [(kind, host) for kind, host in r["events"] if not _loopback_or_local(host)]
        assert beyond == [], (r["name"], beyond)
    if tracer:
        assert _addresses_beyond_loopback(trace.read_text()) == []
    # The review really ran the model (so "no connection" covers a real review, not a skipped one).
    outputs = [line for line in proc.stdout.splitlines() if line.startswith("{") or line.startswith("  ")]
    assert '"smoke_test_model": true' in "\n".join(outputs)
