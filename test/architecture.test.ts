/**
 * The shape of the source tree, checked: no stage imports a later stage (the pipeline
 * order of README "Layout"), and no function in src/ is longer than MAX_FUNCTION_LINES
 * except the hot loops listed below, which stay whole so that the engine's inner loop
 * reads top to bottom as SEMANTICS.md and docs/dynamics.md write it.
 *
 * Run alone: npx vitest run test/architecture.test.ts
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '..', 'src');

/**
 * Stages, lowest first. A stage may import only stages of a lower rank (and itself);
 * stages of one rank are independent of each other. Files directly in src/ count as the
 * stage named here (version.ts is the package's root and version, below everything).
 */
const STAGE_RANKS: Record<string, number> = {
  util: 0,
  'version.ts': 0,
  fixed: 1,
  plot: 1,
  presentation: 2,
  engine: 3,
  hw: 3,
  descriptor: 3,
  tasks: 4,
  model: 4,
  trace: 4,
  emulator: 4,
  train: 5,
  substrate: 6,
  compile: 6,
  bridge: 7,
  target: 8,
  device: 9,
  calibrate: 9,
  sweep: 10,
  nir: 10,
  cli: 11,
  'index.ts': 11,
};

/** Functions allowed above the limit, with the reason. Key: "path:name". */
const LONG_FUNCTION_ALLOWLIST: Record<string, string> = {};

/**
 * Functions above the limit that are to be split (a ratchet: the test fails when one of
 * them gets short enough, so that it leaves this list, and for any new one).
 */
const TO_BE_SPLIT: Record<string, string> = {};

const MAX_FUNCTION_LINES = 120;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

function stageOf(file: string): string {
  return relative(SRC, file).split(/[\\/]/)[0];
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Relative imports and re-exports (`import ... from`, `export ... from`, dynamic `import()`) of a file. */
function importsOf(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out.filter((s) => s.startsWith('.'));
}

function functionName(node: ts.Node): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name !== undefined && (ts.isIdentifier(named.name) || ts.isPrivateIdentifier(named.name) || ts.isStringLiteral(named.name))) return named.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent !== undefined && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent !== undefined && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '(anonymous)';
}

/** Every function-like node with its length in lines (the whole body, nested functions included). */
function functionLengths(sf: ts.SourceFile): { name: string; line: number; lines: number }[] {
  const out: { name: string; line: number; lines: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ name: functionName(node), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const files = sourceFiles(SRC);

describe('the stage dependency rule', () => {
  it('knows every stage', () => {
    const unknown = [...new Set(files.map(stageOf))].filter((s) => STAGE_RANKS[s] === undefined);
    expect(unknown, 'add new stages to STAGE_RANKS (and to the README layout)').toEqual([]);
  });

  it('holds: no stage imports a later stage or one of its own rank', () => {
    const broken: string[] = [];
    for (const file of files) {
      const from = stageOf(file);
      for (const spec of importsOf(parse(file))) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(SRC)) continue;
        const to = stageOf(target.replace(/\.js$/, '.ts'));
        if (to === from) continue;
        if (!(STAGE_RANKS[to] < STAGE_RANKS[from])) broken.push(`${relative(SRC, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('function length', () => {
  it(`no function in src/ is longer than ${MAX_FUNCTION_LINES} lines, hot loops aside`, () => {
    const long: string[] = [];
    const stillLong = new Set<string>();
    for (const file of files) {
      for (const f of functionLengths(parse(file))) {
        const key = `${relative(SRC, file).split(/[\\/]/).join('/')}:${f.name}`;
        if (f.lines <= MAX_FUNCTION_LINES || LONG_FUNCTION_ALLOWLIST[key] !== undefined) continue;
        if (TO_BE_SPLIT[key] !== undefined) stillLong.add(key);
        else long.push(`${key} (line ${f.line}, ${f.lines} lines)`);
      }
    }
    expect(long).toEqual([]);
    expect(
      Object.keys(TO_BE_SPLIT).filter((k) => !stillLong.has(k)),
      'split: remove them from TO_BE_SPLIT',
    ).toEqual([]);
  });
});
