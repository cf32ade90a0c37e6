/**
 * The contract between `bench/run-bench.ts` and the bench modules. A module is any file
 * `bench/<name>-bench.ts` that exports `benchCases: BenchCase[]`; the runner finds it by its name,
 * so adding a bench means adding a file, nothing else.
 *
 * Each case runs in a process of its own, so its peak RSS is its own and one case's garbage does
 * not slow the next. A case says how many items (values, objects, rows) it processed; the runner
 * prints items/s and peak RSS, and, when the case names a `floor` case of the same module, the
 * ratio to that floor measured in the same run (the machine is shared, so absolute times drift but
 * ratios hold).
 */
export interface BenchCase {
  /** Unique within its module, e.g. `csv-import-sqlite`. */
  readonly name: string;
  /** One line shown beside the figures. */
  readonly description: string;
  /** The case whose items/s is this one's reference (a raw floor of the same work). */
  readonly floor?: string;
  /** Target items/s from the issue, printed beside the result (pass/fail is for humans). */
  readonly target?: number;
  /** Target peak RSS in MB from the issue, printed beside the result. */
  readonly peakRssTargetMb?: number;
  /** Cases skipped unless `--large` is given (multi-million-row memory runs). */
  readonly large?: boolean;
  /** Why the case can't run here (e.g. no PostgreSQL URL), or undefined. */
  skipReason?(): string | undefined;
  /**
   * Prepares inputs (generated files in `outDir`, cached across runs) and returns the measured work.
   * Only the returned function is timed.
   */
  prepare(env: BenchEnvironment): Promise<() => Promise<BenchMeasurement>>;
}

export interface BenchEnvironment {
  /** `bench/out/`: generated inputs and scratch databases; gitignored. */
  outDir: string;
  /** Values per run (default 1,000,000; `--values N`). */
  values: number;
  /** Values for `large` cases (default 5,000,000). */
  largeValues: number;
  /** PostgreSQL URL for PostgreSQL cases (FERRY_BENCH_POSTGRES_URL), if any. */
  postgresUrl?: string;
}

export interface BenchMeasurement {
  items: number;
  /** Anything worth printing (e.g. the import summary's counts). */
  note?: string;
}

export interface BenchResult {
  module: string;
  name: string;
  description: string;
  items: number;
  seconds: number;
  itemsPerSecond: number;
  peakRssMb: number;
  note?: string;
  floor?: string;
  target?: number;
  peakRssTargetMb?: number;
  skipped?: string;
}

/**
 * CPU seconds spent since `start()` was called: the whole process (every thread) and this thread
 * alone. On a shared machine wall-clock time drifts with the load; CPU seconds show what a case
 * costs, and their split shows whether a second core did part of the work.
 */
export function cpuClock(): { note(): string } {
  const process0 = process.cpuUsage();
  const thread0 = process.threadCpuUsage();
  return {
    note() {
      const all = process.cpuUsage(process0);
      const thread = process.threadCpuUsage(thread0);
      const seconds = (usage: NodeJS.CpuUsage): string => ((usage.user + usage.system) / 1e6).toFixed(2);
      return `CPU ${seconds(all)} s, main thread ${seconds(thread)} s`;
    },
  };
}
