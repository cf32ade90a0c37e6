import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// The layering docs/architecture.md draws, checked on every run: no import circles anywhere in
// src/ (type-only imports count too, since a circle of types still ties the files together), the
// pure core imports nothing outside itself, and a use case stays short enough to read at once.

const SRC = resolve(import.meta.dirname, '../../src');
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(name) && !name.endsWith('.test.ts') ? [path] : [];
  });
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), m[1] ?? m[2]));
    graph.set(file, targets);
  }
  return graph;
}

/** Every circle, each as the list of files in it (Tarjan's strongly connected components). */
function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indexes.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexes.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexes.get(next)!));
      }
    }
    if (low.get(node) === indexes.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfImport = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfImport) found.push(component.map((f) => relative(SRC, f)).sort());
    }
  };
  for (const node of graph.keys()) if (!indexes.has(node)) visit(node);
  return found;
}

test('src/ has no import circles', () => {
  assert.deepEqual(circles(importGraph()), []);
});

test('domain/ imports nothing outside itself', () => {
  const domain = join(SRC, 'domain');
  const outside = [...importGraph()]
    .filter(([file]) => file.startsWith(domain + '/'))
    .flatMap(([file, targets]) =>
      targets
        .filter((t) => !t.startsWith(domain + '/'))
        .map((t) => `${relative(SRC, file)} -> ${relative(SRC, t)}`),
    );
  assert.deepEqual(outside, []);
});

test('services/, http/ and cli/ are grouped by capability folder', () => {
  for (const layer of ['services', 'http/routes', 'cli/commands']) {
    const loose = readdirSync(join(SRC, layer)).filter(
      (name) => name.endsWith('-service.ts') || name.endsWith('-routes.ts') || name.endsWith('-command.ts'),
    );
    assert.deepEqual(loose, [], `${layer} keeps its use cases in capability folders`);
  }
});

test('no use case under services/ is longer than 800 lines (split it along its stages)', () => {
  const services = join(SRC, 'services');
  const long = sourceFiles(services)
    .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, 'utf8').split('\n').length }))
    .filter(({ lines }) => lines > 800);
  assert.deepEqual(long, []);
});
