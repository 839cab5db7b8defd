"""Scope-aware resolution through the planner, in real git repositories (no index: the
symbol table is parsed from the files, as before `localreview index`)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_repo
from tests.reviewer.test_plan import context_symbols, plan_for

DECOYS = {
    "pkg/lazy.py": "class _LazyFile:\n    def open(self):\n        return 1\n\n    def read(self):\n"
                   "        return 2\n\n    @property\n    def name(self):\n        return 'lazy'\n",
    "examples/cmd.py": "def open(path):\n    return path\n",
    "pkg/models.py": "".join(f"class M{i}:\n    @property\n    def name(self):\n        return {i}\n\n\n"
                             for i in range(4)),
}


def test_parameters_locals_and_builtins_are_not_looked_up(tmp_path: Path) -> None:
    head = "def load(path, name):\n    \"\"\"Read a file.\"\"\"\n" + "".join(f"    step{i} = {i}\n" for i in range(8))
    root = make_repo(tmp_path / "r", {**DECOYS, "pkg/io.py": head + "    return name\n"})
    (root / "pkg/io.py").write_text(head + "    data = open(path).read()\n    label = name.upper()\n"
                                    "    return data, label, name\n")
    symbols = context_symbols(plan_for(root, []))
    assert symbols == {"pkg.io.load"} | {s for s in symbols if s.endswith(" imports")}
    assert not any(s.endswith((".name", ".read", ".open")) for s in symbols), symbols


def test_self_attribute_resolves_in_the_class_then_its_bases(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/base.py": "class Base:\n    def send(self, data):\n        return data\n\n"
                       "    def close(self):\n        return None\n",
        "pkg/other.py": "class Unrelated:\n    def send(self, data):\n        return None\n",
        "pkg/child.py": "from pkg.base import Base\n\n\nclass Child(Base):\n    def run(self):\n        return 1\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "pkg/child.py").write_text(files["pkg/child.py"].replace("return 1", "return self.send(1)"))
    symbols = context_symbols(plan_for(root, []))
    assert "pkg.base.Base.send" in symbols
    assert "pkg.other.Unrelated.send" not in symbols
    assert "pkg.base.Base.close" not in symbols


def test_import_alias_follows_to_the_module_definition(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/pricing.py": "def apply_discount(total):\n    return total * 0.8\n",
        "legacy/pricing.py": "def apply_discount(total):\n    return total\n",
        "shop/cart.py": "from shop.pricing import apply_discount as disc\n\n\ndef total(x):\n    return x\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "shop/cart.py").write_text(files["shop/cart.py"].replace("return x", "return disc(x)"))
    symbols = context_symbols(plan_for(root, []))
    assert "shop.pricing.apply_discount" in symbols
    assert "legacy.pricing.apply_discount" not in symbols


def test_relative_import_and_init_reexport(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "from .impl import helper\n",
        "pkg/impl.py": "def helper(x):\n    return x + 1\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/util.py": "def tool(x):\n    return x\n",
        "pkg/sub/use.py": "from ..sub import util\nfrom pkg import helper\n\n\ndef go(x):\n    return x\n",
        "other/helper.py": "def helper(x):\n    return None\n\n\ndef tool(x):\n    return None\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "pkg/sub/use.py").write_text(files["pkg/sub/use.py"].replace("return x", "return helper(util.tool(x))"))
    symbols = context_symbols(plan_for(root, []))
    assert {"pkg.impl.helper", "pkg.sub.util.tool"} <= symbols
    assert not {"other.helper.helper", "other.helper.tool"} & symbols


def test_receiver_type_from_annotation_and_constructor(tmp_path: Path) -> None:
    files = {
        "net/client.py": "class Client:\n    def fetch(self, url):\n        return url\n",
        "net/cache.py": "class Cache:\n    def fetch(self, key):\n        return key\n",
        "app.py": "from net.client import Client\nfrom net.cache import Cache\n\n\n"
                  "def get(client: Client, url):\n    return url\n\n\ndef warm():\n    return None\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "app.py").write_text(files["app.py"].replace("    return url\n", "    return client.fetch(url)\n")
                                 .replace("    return None\n", "    c = Cache()\n    return c.fetch('k')\n"))
    plan = plan_for(root, [])
    symbols = context_symbols(plan)
    assert {"net.client.Client.fetch", "net.cache.Cache.fetch"} <= symbols
    by_symbol = {c.symbol: c for b in plan.batches for c in b.context}
    assert by_symbol["net.client.Client.fetch"].reason == "callee"


def test_unknown_receiver_uses_only_specific_names(tmp_path: Path) -> None:
    common = "".join(f"class C{i}:\n    def get(self):\n        return {i}\n\n\n" for i in range(5))
    files = {
        "lib/many.py": common,
        "lib/rare.py": "class Rare:\n    def frobnicate(self):\n        return 0\n",
        "use.py": "def work(obj):\n    return obj\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "use.py").write_text("def work(obj):\n    obj.get()\n    return obj.frobnicate()\n")
    symbols = context_symbols(plan_for(root, []))
    assert "lib.rare.Rare.frobnicate" in symbols
    assert not any(s.endswith(".get") for s in symbols)


def test_unknown_receiver_never_reaches_builtin_names_functions_or_tests(tmp_path: Path) -> None:
    """By name, an attribute on an unknown receiver means a specific method of the repository:
    not a method named like a dict's or a file's, not a module-level function, not a test's."""
    files = {
        "lib/store.py": "class Store:\n    def setdefault(self, k, v):\n        return v\n\n"
                        "    def frobnicate(self):\n        return 0\n",
        "lib/views.py": "def render(x):\n    return x\n",
        "tests/test_fake.py": "class FakeClient:\n    def transmit(self, data):\n        return data\n",
        "use.py": "def work(args, obj, client):\n    return obj\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "use.py").write_text("def work(args, obj, client):\n    args.setdefault('k', 1)\n    obj.render(1)\n"
                                 "    client.transmit(b'')\n    return obj.frobnicate()\n")
    symbols = context_symbols(plan_for(root, []))
    assert "lib.store.Store.frobnicate" in symbols
    assert not {"lib.store.Store.setdefault", "lib.views.render", "tests.test_fake.FakeClient.transmit"} & symbols


def test_typescript_import_alias_and_this_through_extends(tmp_path: Path) -> None:
    files = {
        "src/auth.ts": "export function hashPassword(p: string): string {\n  return p;\n}\n",
        "src/legacy.ts": "export function hashPassword(p: string): string {\n  return '';\n}\n",
        "src/base.ts": "export default class Repo {\n  save(x: number): number {\n    return x;\n  }\n}\n",
        "src/other.ts": "export class Other {\n  save(x: number): number {\n    return 0;\n  }\n}\n",
        "src/user.ts": "import { hashPassword as h } from './auth';\nimport Repo from './base';\n\n"
                       "export class Users extends Repo {\n  add(p: string): number {\n    return 1;\n  }\n}\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "src/user.ts").write_text(files["src/user.ts"].replace("return 1;", "h(p);\n    return this.save(1);"))
    symbols = context_symbols(plan_for(root, []))
    assert {"src.auth.hashPassword", "src.base.Repo.save"} <= symbols
    assert not {"src.legacy.hashPassword", "src.other.Other.save"} & symbols


def test_go_package_selector_and_typed_receiver(tmp_path: Path) -> None:
    files = {
        "go.mod": "module example.com/app\n\ngo 1.21\n",
        "store/db.go": "package store\n\ntype DB struct{}\n\nfunc (d *DB) Query(q string) string {\n\treturn q\n}\n\n"
                       "func Open() *DB {\n\treturn &DB{}\n}\n",
        "cache/db.go": "package cache\n\ntype Mem struct{}\n\nfunc (m *Mem) Query(q string) string {\n"
                       "\treturn \"\"\n}\n\n"
                       "func Open() *Mem {\n\treturn nil\n}\n",
        "api/handler.go": "package api\n\nimport \"example.com/app/store\"\n\nfunc Handle(db *store.DB, name string)"
                          " string {\n\treturn name\n}\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "api/handler.go").write_text(files["api/handler.go"].replace(
        "\treturn name\n", "\t_ = store.Open()\n\treturn db.Query(name)\n"))
    symbols = context_symbols(plan_for(root, []))
    assert {"store.db.Open", "store.db.DB.Query"} <= symbols
    assert not {"cache.db.Open", "cache.db.Mem.Query"} & symbols


def test_typed_module_variable_of_another_module_with_a_quoted_annotation(tmp_path: Path) -> None:
    files = {
        "web/__init__.py": "",
        "web/app.py": "class App:\n    def ensure_sync(self, f):\n        return f\n",
        "web/other.py": "class Other:\n    def ensure_sync(self, f):\n        return None\n",
        "web/globals.py": "import typing as t\n\nif t.TYPE_CHECKING:\n    from .app import App\n\n"
                          "current_app: \"App\" = make_proxy()\n",
        "web/views.py": "from .globals import current_app\n\n\ndef view(f):\n    return f\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "web/views.py").write_text(files["web/views.py"].replace("return f", "return current_app.ensure_sync(f)"))
    symbols = context_symbols(plan_for(root, []))
    assert "web.app.App.ensure_sync" in symbols
    assert "web.other.Other.ensure_sync" not in symbols


def test_a_class_local_to_one_function_is_not_what_another_function_names(tmp_path: Path) -> None:
    # Test files define a helper class C in one test after another; a new test's C is its own.
    tests = "".join(f"def test_{i}():\n    class C:\n        x = {i}\n\n    return C()\n\n\n" for i in range(4))
    files = {"tests/test_c.py": tests + "def test_new():\n    return 0\n",
             "lib/outer.py": "def build():\n    def helper():\n        return 1\n\n    return helper()\n"}
    root = make_repo(tmp_path / "r", files)
    (root / "tests/test_c.py").write_text(tests + "def test_new():\n    class C:\n        x = 9\n\n"
                                          "    return C(), helper()\n")
    symbols = context_symbols(plan_for(root, []))
    assert not any(s.endswith(".C") for s in symbols), symbols
    assert "lib.outer.build.helper" not in symbols, symbols  # a function's own, out of reach by name


def test_a_nested_function_resolves_from_its_own_function() -> None:
    from index.chunk import analyze_file
    from index.resolve import Resolver
    from index.uses import changed_uses

    src = ("def build():\n    def helper():\n        return 1\n\n    return helper()\n\n\n"
           "def other():\n    return helper()\n")
    a = analyze_file("lib/outer.py", src, lambda t: len(t) // 3, 256)
    r = Resolver(["lib/outer.py"], lambda p: src, lambda p: a, lambda n: [d for d in a.definitions if d.name == n])
    assert [u.definition.qualified_name for u in changed_uses(r, "lib/outer.py", [5])] == ["lib.outer.build.helper"]
    assert changed_uses(r, "lib/outer.py", [9]) == []  # out of its scope, and out of reach by name


def test_a_test_parameter_is_the_nearest_pytest_fixture_of_that_name(tmp_path: Path) -> None:
    fixture = "import pytest\n\n\n@pytest.fixture\ndef {0}():\n    return '{1}'\n"
    files = {
        "tests/conftest.py": fixture.format("app", "root app") + "\n\n" + fixture.format("client", "root client")
                             + "\n\ndef helper_not_a_fixture():\n    return 0\n",
        "tests/api/conftest.py": "import pytest\n\n\n@pytest.fixture(scope='module')\ndef client(app):\n"
                                 "    return app\n",
        "tests/api/test_views.py": "def test_old():\n    assert True\n",
        "src/web.py": "def serve(app):\n    return app\n",
    }
    root = make_repo(tmp_path / "r", files)
    (root / "tests/api/test_views.py").write_text(
        "def test_old():\n    assert True\n\n\ndef test_new(app, client, tmp_path, helper_not_a_fixture):\n"
        "    assert client is app and tmp_path and helper_not_a_fixture\n")
    (root / "src/web.py").write_text("def serve(app):\n    return app.run()\n")
    symbols = context_symbols(plan_for(root, []))
    assert {"tests.conftest.app", "tests.api.conftest.client"} <= symbols, symbols
    # the nearer conftest overrides; a function that is no fixture, and pytest's own, are not reached
    assert not {"tests.conftest.client", "tests.conftest.helper_not_a_fixture"} & symbols, symbols
    # outside tests a parameter is a parameter
    assert not any(s.startswith("tests.") for s in context_symbols(plan_for(root, ["--", "src/web.py"])))
