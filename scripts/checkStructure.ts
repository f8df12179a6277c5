/**
 * Structure checks `npm test` runs over src/ (read with the TypeScript parser, not regular
 * expressions, so comments and strings never count):
 * - no import cycle between modules (type-only imports count: a cycle of types is still two
 *   layers that depend on each other);
 * - no function in src/core/pipeline longer than 80 lines (each stage reads on one screen);
 * - no `as unknown as` anywhere in src/.
 * Exits 1 with one line per finding.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export const MAX_PIPELINE_FUNCTION_LINES = 80;

export function tsFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFilesUnder(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

function parse(file: string, text = fs.readFileSync(file, 'utf8')): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
}

/** Module specifiers a file imports or re-exports, static and dynamic. */
export function importsOf(sf: ts.SourceFile): string[] {
  const specs: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) specs.push(n.moduleSpecifier.text);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) specs.push(n.arguments[0].text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return specs;
}

function resolveRelative(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((p) => fs.existsSync(p)) ?? null;
}

/** file → files it imports (relative imports that resolve to a .ts file). */
export function importGraph(files: string[]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of files) g.set(f, [...new Set(importsOf(parse(f)).map((s) => resolveRelative(f, s)).filter((p): p is string => p !== null))]);
  return g;
}

/** Strongly connected components with more than one module (or a self-import): the import cycles. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative-free: the graphs here are a few hundred nodes deep at most.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return cycles;
}

/** Functions, methods and arrow functions longer than `max` lines, as "file:line name (n lines)". */
export function longFunctions(sf: ts.SourceFile, max: number): string[] {
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const start = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const lines = end - start + 1;
      const name = n.name && ts.isIdentifier(n.name) ? n.name.text : '(anonymous)';
      if (lines > max) found.push(`${sf.fileName}:${start + 1} ${name} (${lines} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

/** `x as unknown as T`: a cast that switches the type checker off. */
export function doubleCasts(sf: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isAsExpression(n) && ts.isAsExpression(n.expression) && n.expression.type.kind === ts.SyntaxKind.UnknownKeyword) found.push(`${sf.fileName}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

export function checkStructure(root: string): string[] {
  const rel = (p: string) => path.relative(root, p);
  const src = tsFilesUnder(path.join(root, 'src'));
  const problems: string[] = [];
  for (const c of findCycles(importGraph(src))) problems.push(`import cycle: ${c.map(rel).join(' → ')}`);
  const pipeline = path.join(root, 'src', 'core', 'pipeline') + path.sep;
  for (const f of src) {
    const sf = parse(f);
    if (f.startsWith(pipeline)) for (const l of longFunctions(sf, MAX_PIPELINE_FUNCTION_LINES)) problems.push(`function over ${MAX_PIPELINE_FUNCTION_LINES} lines in the pipeline: ${rel(l)}`);
    for (const c of doubleCasts(sf)) problems.push(`'as unknown as' (give the value its real type instead): ${rel(c)}`);
  }
  return problems;
}

if (require.main === module) {
  const problems = checkStructure(process.cwd());
  for (const p of problems) process.stderr.write(`checkStructure: ${p}\n`);
  process.exit(problems.length ? 1 : 0);
}
