// Lists the long functions of src/ and webview/: every function, method, constructor, accessor,
// arrow function or function expression with a body spanning more than N lines (default 45),
// longest first, one a line as "lines file function startLine". `lines` is the function's last
// line minus its first (a function written on lines 10–60 counts 50); `function` is its name, or
// the name of the variable or property it is assigned to, or "?". Nested functions are counted on
// their own, and inside their parents too. Exits 0 whatever it finds (1 only for a bad
// argument): it reports, it does not judge (some long functions stay long on purpose, as their
// comments say).
//
//   node scripts/longFunctions.mjs            # over 45 lines
//   node scripts/longFunctions.mjs --max 30   # over 30 lines
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['src', 'webview'];

/** The `--max N` argument (a whole number of lines), or 45; exits 1 naming a bad value. */
function maxLines(args) {
  if (args.length === 0) return 45;
  const n = args.length === 2 && args[0] === '--max' ? Number(args[1]) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`longFunctions: expected no arguments or "--max N" with N a whole number of lines, got ${JSON.stringify(args.join(' '))}`);
    process.exit(1);
  }
  return n;
}

/** Every .ts file under `dir`, as paths relative to the repository root. */
function tsFiles(dir) {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const p = path.posix.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const isFunction = (n) =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n);

/** The function's own name, else the name it is assigned to (`const f = () => …`, `{ f: () => … }`), else "?". */
function nameOf(n) {
  if (ts.isConstructorDeclaration(n)) return 'constructor';
  if (n.name) return n.name.getText();
  if (n.parent && n.parent.name) return n.parent.name.getText();
  return '?';
}

/** [lines, file, name, startLine] of each function in `file` longer than `max` lines. */
function longIn(file, max) {
  const source = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const found = [];
  const visit = (n) => {
    if (isFunction(n) && n.body) {
      const first = source.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(n.end).line;
      if (last - first > max) found.push([last - first, file, nameOf(n), first + 1]);
    }
    ts.forEachChild(n, visit);
  };
  visit(source);
  return found;
}

const max = maxLines(process.argv.slice(2));
const found = DIRS.flatMap(tsFiles).flatMap((f) => longIn(f, max));
found.sort((a, b) => b[0] - a[0]);
for (const f of found) console.log(f.join(' '));
