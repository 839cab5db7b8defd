// The TypeScript judge of bench/history_bench.py: which repository definitions do the added lines use?
// Reads {"root": dir, "files": {path: [added line, ...]}} on stdin; writes a JSON list of definitions
// ({name, path, start, end, head_start, head_end, kind}, lines 1-based inclusive) on stdout.
// Uses the TypeScript language service (the `typescript` package, found through NODE_PATH).
"use strict";
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const query = JSON.parse(fs.readFileSync(0, "utf8"));
const root = path.resolve(query.root);

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, out);
    else if (/\.(ts|tsx|mts|cts)$/.test(e.name)) out.push(full);
  }
  return out;
}

const files = walk(root, []);
const options = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  strict: true,
  noEmit: true,
  allowJs: false,
  jsx: ts.JsxEmit.Preserve,
};
const host = {
  getScriptFileNames: () => files,
  getScriptVersion: () => "1",
  getScriptSnapshot: (f) => (fs.existsSync(f) ? ts.ScriptSnapshot.fromString(fs.readFileSync(f, "utf8")) : undefined),
  getCurrentDirectory: () => root,
  getCompilationSettings: () => options,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
};
const service = ts.createLanguageService(host, ts.createDocumentRegistry());
const program = service.getProgram();

const KINDS = new Set(["function", "local function", "class", "local class", "method", "getter", "setter",
  "interface", "type", "enum", "const", "let", "var"]);

function line(sf, pos) {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

function isFunctionLike(n) {
  return n && (ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isClassExpression(n));
}

// The declaration whose name starts at `pos`, with its span and header lines.
function describe(sf, pos) {
  let found;
  (function visit(n) {
    if (found) return;
    if (n.name && n.name.getStart && n.name.getStart(sf) === pos) found = n;
    else ts.forEachChild(n, visit);
  })(sf);
  if (!found) return undefined;
  let decl = found;
  let outer = found;
  let body = found.body;
  if (ts.isVariableDeclaration(found)) {
    if (!isFunctionLike(found.initializer)) return undefined; // a value, not a definition
    body = found.initializer.body || found.initializer;
    outer = found.parent && found.parent.parent && ts.isVariableStatement(found.parent.parent) ? found.parent.parent : found;
  }
  if (ts.isPropertyDeclaration(found) || ts.isPropertySignature(found) || ts.isParameter(found)) {
    if (!isFunctionLike(found.initializer)) return undefined;
    body = found.initializer.body;
  }
  const start = line(sf, outer.getStart(sf));
  const end = line(sf, outer.getEnd());
  let headEnd = line(sf, decl.name.getEnd());
  if (body && body.getStart) headEnd = Math.max(headEnd, line(sf, body.getStart(sf)));
  else if (decl.members && decl.members.pos !== undefined) headEnd = Math.max(headEnd, line(sf, decl.members.pos - 1));
  else if (ts.isTypeAliasDeclaration(decl)) headEnd = Math.max(headEnd, line(sf, decl.type.getStart(sf)));
  return { start, end, head_start: start, head_end: Math.min(headEnd, end) };
}

const out = [];
for (const [rel, lines] of Object.entries(query.files)) {
  const file = path.join(root, rel);
  const sf = program.getSourceFile(file);
  if (!sf) continue;
  const wanted = new Set(lines);
  const idents = [];
  (function visit(n) {
    if ((ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) && wanted.has(line(sf, n.getStart(sf)))) idents.push(n);
    ts.forEachChild(n, visit);
  })(sf);
  for (const id of idents) {
    let defs;
    try {
      defs = service.getDefinitionAtPosition(file, id.getStart(sf)) || [];
    } catch (e) {
      continue; // the service fails on odd corners: that name is not judged
    }
    for (const d of defs) {
      if (!KINDS.has(d.kind)) continue;
      const full = path.resolve(d.fileName);
      const relTarget = path.relative(root, full).split(path.sep).join("/");
      if (relTarget.startsWith("..") || relTarget.includes("node_modules/")) continue;
      const tsf = program.getSourceFile(full);
      if (!tsf) continue;
      const span = describe(tsf, d.textSpan.start);
      if (!span) continue;
      out.push({ name: id.text, from: rel, line: line(sf, id.getStart(sf)), path: relTarget, kind: d.kind, ...span });
    }
  }
}
process.stdout.write(JSON.stringify(out));
