import { readdirSync, mkdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { BenchCase, BenchEnvironment, BenchResult } from './bench-harness.ts';

/**
 * `npm run bench`: runs every case of every `bench/*-bench.ts` module, each in a child process,
 * and prints items/s and peak RSS beside the floor measured in the same run.
 *
 *   npm run bench -- [--only <module>[:<case>]] [--values N] [--large] [--json]
 *
 * `--only module:case` runs that case and the floor it names.
 */
const BENCH_DIR = import.meta.dirname;

function environment(values: number, largeValues: number): BenchEnvironment {
  const outDir = join(BENCH_DIR, 'out');
  mkdirSync(outDir, { recursive: true });
  return { outDir, values, largeValues, postgresUrl: process.env.FERRY_BENCH_POSTGRES_URL || undefined };
}

async function loadModule(module: string): Promise<BenchCase[]> {
  const loaded = (await import(join(BENCH_DIR, `${module}-bench.ts`))) as { benchCases?: BenchCase[] };
  return loaded.benchCases ?? [];
}

/**
 * In the child: prepare, time, report one case as JSON on the last stdout line. With `prepareOnly`
 * it stops after preparing: the runner does that first in a process of its own, so generating a
 * cached input file or database never counts toward the measured process's peak RSS.
 */
async function runChild(
  module: string,
  caseName: string,
  env: BenchEnvironment,
  prepareOnly: boolean,
): Promise<void> {
  const benchCase = (await loadModule(module)).find((c) => c.name === caseName);
  if (!benchCase) throw new Error(`No bench case ${module}:${caseName}`);
  const work = await benchCase.prepare(env);
  if (prepareOnly) {
    console.log('{}');
    // Prepared storage (a PostgreSQL pool) may still be open; nothing of it is needed.
    process.exit(0);
  }
  // No forced GC before timing: after an explicit gc() V8 let the old generation swing to ~150 MB
  // during a 5M-value import (peak RSS 322 MB, 247 MB without it); a server never forces one.
  const start = performance.now();
  const measurement = await work();
  const seconds = (performance.now() - start) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ ...measurement, seconds, peakRssMb }));
}

function format(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      values: { type: 'string' },
      'large-values': { type: 'string' },
      large: { type: 'boolean' },
      json: { type: 'boolean' },
      child: { type: 'string' },
      'prepare-only': { type: 'boolean' },
    },
  });
  const env = environment(Number(values.values ?? 1_000_000), Number(values['large-values'] ?? 5_000_000));
  if (values.child) {
    const [module, caseName] = values.child.split(':');
    await runChild(module, caseName, env, values['prepare-only'] === true);
    return;
  }
  const modules = readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('-bench.ts'))
    .map((f) => basename(f, '-bench.ts'))
    .sort();
  const [onlyModule, onlyCase] = (values.only ?? '').split(':');
  console.log(`node ${process.version}, NODE_OPTIONS=${process.env.NODE_OPTIONS ?? '(none)'}`);
  const results: BenchResult[] = [];
  for (const module of modules) {
    if (onlyModule && module !== onlyModule) continue;
    const cases = await loadModule(module);
    // One case selected: its floor runs too (before it, as modules list floors first), for the ratio.
    const floorOfOnly = onlyCase ? cases.find((c) => c.name === onlyCase)?.floor : undefined;
    for (const benchCase of cases) {
      if (onlyCase && benchCase.name !== onlyCase && benchCase.name !== floorOfOnly) continue;
      const base = {
        module,
        name: benchCase.name,
        description: benchCase.description,
        floor: benchCase.floor,
        target: benchCase.target,
        peakRssTargetMb: benchCase.peakRssTargetMb,
      };
      const skipped =
        benchCase.large && !values.large ? 'large case: pass --large' : benchCase.skipReason?.();
      if (skipped) {
        results.push({ ...base, items: 0, seconds: 0, itemsPerSecond: 0, peakRssMb: 0, skipped });
        console.log(`${module}:${benchCase.name}  skipped (${skipped})`);
        continue;
      }
      // The child inherits NODE_OPTIONS: under npm that is the flags of .npmrc, the ones Ferry runs with.
      const args = [
        join(BENCH_DIR, 'run-bench.ts'),
        '--child',
        `${module}:${benchCase.name}`,
        '--values',
        String(env.values),
        '--large-values',
        String(env.largeValues),
      ];
      const spawnOptions = { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 } as const;
      const prepared = spawnSync(process.execPath, [...args, '--prepare-only'], spawnOptions);
      const child = prepared.status === 0 ? spawnSync(process.execPath, args, spawnOptions) : prepared;
      const lastLine = child.stdout.trim().split('\n').pop() ?? '';
      if (child.status !== 0 || !lastLine.startsWith('{')) {
        console.log(`${module}:${benchCase.name}  FAILED\n${child.stdout}\n${child.stderr}`);
        process.exitCode = 1;
        continue;
      }
      const measured = JSON.parse(lastLine) as {
        items: number;
        seconds: number;
        peakRssMb: number;
        note?: string;
      };
      const result: BenchResult = {
        ...base,
        ...measured,
        itemsPerSecond: measured.items / measured.seconds,
      };
      results.push(result);
      const floor = results.find((r) => r.module === module && r.name === benchCase.floor && !r.skipped);
      const ratio = floor
        ? `  ${((result.itemsPerSecond / floor.itemsPerSecond) * 100).toFixed(0)}% of floor`
        : '';
      const target = result.target
        ? `  target ${format(result.target)}/s ${result.itemsPerSecond >= result.target ? 'met' : 'NOT met'}`
        : '';
      const memoryTarget = result.peakRssTargetMb
        ? `  peak RSS target < ${result.peakRssTargetMb} MB ${result.peakRssMb < result.peakRssTargetMb ? 'met' : 'NOT met'}`
        : '';
      console.log(
        `${module}:${result.name}  ${format(result.items)} in ${result.seconds.toFixed(2)} s = ` +
          `${format(result.itemsPerSecond)}/s  peak RSS ${result.peakRssMb.toFixed(0)} MB${ratio}${target}${memoryTarget}` +
          `${result.note ? `  (${result.note})` : ''}`,
      );
    }
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
