import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

// package.json keeps to what the code uses: every runtime dependency is imported by the code that
// runs (src/, web/, bin/), every package that code imports is a runtime dependency, and every
// development dependency is imported by the tests, the bench or a config file, or is a tool an npm
// script runs, listed below with its reason. A package nothing uses (udsv was one) fails here.

const REPO = resolve(import.meta.dirname, '../..');
const RUNTIME_DIRS = ['src', 'web', 'bin'];
const DEVELOPMENT_DIRS = ['test', 'bench'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'fixtures', 'data', 'out', '.tmp']);
const SOURCE = /\.(?:ts|tsx|mts|js|jsx|mjs|cjs)$/;

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}
const PACKAGE = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as PackageJson;
const DEPENDENCIES = Object.keys(PACKAGE.dependencies ?? {});
const DEV_DEPENDENCIES = Object.keys(PACKAGE.devDependencies ?? {});

/**
 * Development dependencies that no file imports, each with the reason it is needed and a check that
 * the reason still holds (so an entry cannot outlive its use).
 */
const TOOLS: Record<string, { reason: string; holds: () => boolean }> = {
  node: {
    reason:
      "the project's Node 24: npm puts its node first on every script's PATH, and bin/ferry.mjs hands over to it",
    holds: () => readFileSync(join(REPO, 'bin/ferry.mjs'), 'utf8').includes("'node/package.json'"),
  },
  typescript: {
    reason: 'tsc, the typecheck script',
    holds: () => scriptRuns('tsc'),
  },
  eslint: {
    reason: 'the lint script',
    holds: () => scriptRuns('eslint'),
  },
  prettier: {
    reason: 'the format and format:check scripts',
    holds: () => scriptRuns('prettier'),
  },
};

function scriptRuns(bin: string): boolean {
  return Object.values(PACKAGE.scripts ?? {}).some((script) =>
    new RegExp(`(?:^|[;&|]\\s*)${bin}\\s`).test(script),
  );
}

function sourceFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return SKIPPED_DIRS.has(name) ? [] : sourceFiles(path);
    return SOURCE.test(name) ? [path] : [];
  });
}

/** The package a bare specifier names: `pg` for `pg/lib/x`, `@fastify/static` for itself. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('#')) return undefined;
  if (isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Package name → the files (relative to the repository) that import it, static or dynamic. */
function importedPackages(files: string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of files) {
    // TypeScript's own pre-processor: import/export ... from, import 'x', import('x'), require('x').
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      const name = packageOf(fileName);
      if (!name) continue;
      const list = found.get(name) ?? [];
      list.push(relative(REPO, file));
      found.set(name, list);
    }
  }
  return found;
}

/** Unit tests live beside the code in src/; they are development code like test/. */
const isTest = (file: string) => /\.test\.[a-z]+$/.test(file);
const runtimeFiles = RUNTIME_DIRS.flatMap((dir) => sourceFiles(join(REPO, dir)));
const runtimeImports = importedPackages(runtimeFiles.filter((file) => !isTest(file)));
const developmentImports = importedPackages([
  ...runtimeFiles.filter(isTest),
  ...DEVELOPMENT_DIRS.flatMap((dir) => sourceFiles(join(REPO, dir))),
  ...readdirSync(REPO)
    .filter((name) => SOURCE.test(name))
    .map((name) => join(REPO, name)),
]);

test('every runtime dependency is imported by src/, web/ or bin/', () => {
  const unused = DEPENDENCIES.filter((name) => !runtimeImports.has(name)).map((name) =>
    developmentImports.has(name)
      ? `${name}: only tests or tools import it (${developmentImports.get(name)![0]}); make it a devDependency`
      : `${name}: nothing imports it; remove it`,
  );
  assert.deepEqual(unused, []);
});

test('every package src/, web/ and bin/ import is a runtime dependency', () => {
  const undeclared = [...runtimeImports]
    .filter(([name]) => !DEPENDENCIES.includes(name))
    .map(([name, files]) =>
      DEV_DEPENDENCIES.includes(name)
        ? `${name} (${files[0]}) is only a devDependency; a production install would lack it`
        : `${name} (${files[0]}) is not in package.json`,
    );
  assert.deepEqual(undeclared, []);
});

test('every package the tests, the bench and the config files import is declared', () => {
  const declared = new Set([...DEPENDENCIES, ...DEV_DEPENDENCIES]);
  const undeclared = [...developmentImports]
    .filter(([name]) => !declared.has(name))
    .map(([name, files]) => `${name} (${files[0]})`);
  assert.deepEqual(undeclared, []);
});

test('every devDependency is imported, types a declared package, or is a tool a script runs', () => {
  const imported = new Set([...runtimeImports.keys(), ...developmentImports.keys()]);
  const declared = new Set([...DEPENDENCIES, ...DEV_DEPENDENCIES]);
  const unused = DEV_DEPENDENCIES.filter((name) => {
    if (imported.has(name)) return false;
    // @types/x is needed while x is declared; @types/node types Node's built-in modules.
    const typed = /^@types\/(.+)$/.exec(name)?.[1];
    if (typed)
      return typed !== 'node' && !declared.has(typed.includes('__') ? `@${typed.replace('__', '/')}` : typed);
    const tool = TOOLS[name];
    return !tool?.holds();
  });
  assert.deepEqual(unused, [], 'unused devDependencies (or a TOOLS entry whose reason no longer holds)');
});

test('every listed tool is still a devDependency', () => {
  assert.deepEqual(
    Object.keys(TOOLS).filter((name) => !DEV_DEPENDENCIES.includes(name)),
    [],
    'remove the stale TOOLS entries',
  );
});
