"""`localreview mcp` driven by the official MCP SDK's own client over stdio, in a real repository,
against the Ollama REST fake (the protocol seam) and the real planner, index and embedder."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.conftest import git, make_repo, write_files
from tests.reviewer.ollama_fake import FakeOllama

APP = "import sqlite3\n\n\ndef find(conn, name):\n    cur = conn.cursor()\n    return cur.fetchall()\n"
CHANGED = ("import sqlite3\n\n\ndef find(conn, name):\n    cur = conn.cursor()\n"
           "    cur.execute(\"SELECT * FROM t WHERE name = '\" + name + \"'\")\n    return cur.fetchall()\n")
HELPERS = "def normalize(name):\n    return name.strip().lower()\n"
FINDING = ('{"findings": [{"path": "app.py", "line": 6, "end_line": 6, "severity": "high",'
           ' "category": "security", "cwe": "CWE-89", "title": "SQL built by concatenation",'
           ' "message": "The name reaches the query unescaped.", "suggestion": "Pass it as a parameter."}]}')
MODEL = "qwen2.5-coder:0.5b"
SOURCE = Path(__file__).resolve().parents[2]
PROBED: list[int] = []


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"app.py": APP, "helpers.py": HELPERS})
    write_files(root, {"app.py": CHANGED})
    git(root, "commit", "-qam", "query by name")
    return root


def _params(cwd: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALREVIEW_")}
    env["LOCALREVIEW_CACHE_DIR"] = os.environ["LOCALREVIEW_CACHE_DIR"]
    env["PYTHONPATH"] = str(SOURCE)  # this checkout's code, whatever the venv was installed from
    return StdioServerParameters(command=sys.executable,
                                 args=["-c", "from reviewer.cli import main; main()", "mcp"],
                                 env=env, cwd=str(cwd))


async def _session(cwd: Path, calls: list[tuple[str, dict[str, Any]]],
                   probe: Callable[[], int] = lambda: 0) -> tuple[list[str], list[Any]]:
    """Start the server, list its tools, make the calls; each outcome is a result or an MCPError.
    ``probe`` is read after each call (into ``PROBED``): what the call did to the outside world."""
    async with Client(_params(cwd)) as client:
        assert client.server_info is None or client.server_info.name == "localreview"
        tools = sorted(t.name for t in (await client.list_tools()).tools)
        out: list[Any] = []
        for name, args in calls:
            try:
                out.append(await client.call_tool(name, args))
            except MCPError as exc:
                out.append(exc)
            PROBED.append(probe())
        return tools, out


def _payload(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        data: dict[str, Any] = result.structured_content
        return data
    loaded: dict[str, Any] = json.loads(result.content[0].text)
    return loaded


@pytest.mark.slow
def test_tools_review_plan_search_and_errors_over_stdio(repo: Path, tmp_path: Path) -> None:
    with FakeOllama() as ollama:
        ollama.reply = FINDING
        model = {"backend": "ollama", "host": ollama.url, "model": MODEL}
        calls: list[tuple[str, dict[str, Any]]] = [
            ("plan", {"diff": "HEAD~1", **model}),
            ("review", {"diff": "HEAD~1", **model}),
            ("review", {"diff": "no-such-rev~3", **model}),
            ("plan", {"diff": "HEAD~1", "repo": str(tmp_path / "elsewhere")}),
            ("plan", {"diff": "'HEAD~1"}),
            ("plan", {"diff": "HEAD~1", "backend": "ollama", "host": "http://192.0.2.7:11434", "model": MODEL}),
        ]
        # The server stands in another directory: `repo` names the repository, as an IDE would.
        PROBED.clear()
        tools, (plan, review, bad_rev, no_repo, bad_quote, remote) = anyio.run(
            lambda: _session(tmp_path, [(n, {**a, "repo": a.get("repo", str(repo))}) for n, a in calls],
                             lambda: sum(1 for r in ollama.requests if r.path == "/api/chat")))

    assert {"review", "plan", "search"} <= set(tools)

    got_plan = _payload(plan)
    assert got_plan["backend"] == "ollama" and got_plan["model"] == MODEL
    assert [b["files"] for b in got_plan["batches"]] == [["app.py"]]

    got = _payload(review)
    assert [(f["path"], f["line"], f["cwe"]) for f in got["findings"]] == [("app.py", 6, "CWE-89")]
    assert got["stats"]["batches"] == 1
    assert PROBED[0] == 0 < PROBED[1]  # the plan called no model; the review did
    assert PROBED[1] == PROBED[-1]  # no call that failed reached the model

    # Errors are JSON-RPC errors carrying the command line's message, never a traceback.
    assert isinstance(bad_rev, MCPError), bad_rev
    assert bad_rev.code == -32602 and "no-such-rev~3" in bad_rev.message
    assert bad_rev.data["exit_code"] == 2
    assert "Traceback" not in bad_rev.message
    assert isinstance(no_repo, MCPError) and no_repo.data["exit_code"] == 2
    assert "does not exist" in no_repo.message
    assert isinstance(bad_quote, MCPError) and "cannot read the diff arguments" in bad_quote.message
    # The privacy rules hold in the server: a model host beyond loopback needs the explicit opt-in.
    assert isinstance(remote, MCPError), remote
    assert "192.0.2.7" in remote.message and "allow_remote_host" in remote.message


@pytest.mark.slow
def test_search_finds_definitions_and_similar_code(repo: Path) -> None:
    from reviewer.cli import main

    os.chdir(repo)
    with pytest.raises(SystemExit) as done:
        main(["index", "--quiet"])
    assert done.value.code == 0
    _tools, (by_name, by_code, empty) = anyio.run(lambda: _session(repo, [
        ("search", {"query": "normalize"}),
        ("search", {"query": "def lookup(conn, name):\n    cur = conn.cursor()\n    cur.execute(q)"}),
        ("search", {"query": "  "}),
    ]))
    got = _payload(by_name)
    assert [(d["path"], d["symbol"], d["start_line"]) for d in got["definitions"]] == [
        ("helpers.py", "helpers.normalize", 1)]
    assert "return name.strip().lower()" in got["definitions"][0]["code"]
    similar = _payload(by_code)["similar"]
    assert similar and similar[0]["path"] == "app.py", similar
    assert isinstance(empty, MCPError) and "empty" in empty.message
