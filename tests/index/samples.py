"""Small multi-language sources for indexer tests."""

PY_UTIL = '''"""Helpers."""
import hashlib


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Cache:
    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        key = digest(data)
        self.items[key] = data
        return key
'''

PY_APP = '''from pkg.util import Cache, digest


def store_all(blobs):
    cache = Cache()
    return [cache.put(b) for b in blobs]


def check(blob, expected):
    return digest(blob) == expected
'''

TS_API = '''export interface User { id: number; name: string }

export function loadUser(id: number): User {
  return { id, name: "user" + id };
}

export class Repo {
  find(id: number): User { return loadUser(id); }
}
'''

GO_MAIN = '''package main

import "fmt"

func Add(a, b int) int {
	return a + b
}

func main() {
	fmt.Println(Add(1, 2))
}
'''

FILES = {
    "pkg/__init__.py": "",
    "pkg/util.py": PY_UTIL,
    "pkg/app.py": PY_APP,
    "web/api.ts": TS_API,
    "cmd/main.go": GO_MAIN,
    "README.md": "# Sample\\n\\nA sample project.\\n",
}
