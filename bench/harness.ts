/**
 * Benchmark plumbing: the row format `npm run bench` prints (one JSON object per line) and a
 * timing helper (warm-up, calibrated iteration count, median of several runs).
 */

/** One result line. `name`, `value`, `unit` always; anything else is context. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  [extra: string]: unknown;
}

/** Prints one row. */
export type Report = (row: BenchRow) => void;

/** A group of benchmarks; bench/index.ts runs every registered module in order. */
export interface BenchModule {
  name: string;
  run(report: Report): Promise<void>;
}

/** Timing of one measured operation. */
export interface Timing {
  /** Median over runs of the mean time per iteration, µs. */
  medianUs: number;
  /** Fastest run's mean time per iteration, µs. */
  minUs: number;
  iterations: number;
  runs: number;
}

/** Options for {@link measure}. */
export interface MeasureOptions {
  /** Runs to take the median of (default 5). */
  runs?: number;
  /** Target duration of one run, ms (default 120): the iteration count is calibrated to it. */
  runMs?: number;
  /** Warm-up duration before calibrating, ms (default 150): lets V8 optimise the code under test. */
  warmupMs?: number;
}

function timeIterations(fn: (i: number) => void, iterations: number): number {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  return performance.now() - start;
}

/** Measures `fn` (called with an iteration counter) per call, in µs. */
export function measure(fn: (i: number) => void, options: MeasureOptions = {}): Timing {
  const runs = options.runs ?? 5;
  const runMs = options.runMs ?? 120;
  const warmupMs = options.warmupMs ?? 150;
  let iterations = 16;
  const warmupEnd = performance.now() + warmupMs;
  let elapsed = 0;
  while (performance.now() < warmupEnd) elapsed = timeIterations(fn, iterations) || 0.001;
  iterations = Math.max(16, Math.round((iterations * runMs) / elapsed));
  const perIteration: number[] = [];
  for (let r = 0; r < runs; r++) perIteration.push((timeIterations(fn, iterations) * 1000) / iterations);
  perIteration.sort((a, b) => a - b);
  return { medianUs: perIteration[Math.floor(runs / 2)]!, minUs: perIteration[0]!, iterations, runs };
}

/** Rounds for display (3 significant decimals are plenty for µs figures). */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A row for a timing result, µs per `per`. */
export function timingRow(name: string, timing: Timing, extra: Record<string, unknown> = {}): BenchRow {
  return { name, value: round(timing.medianUs), unit: 'us/frame', min: round(timing.minUs), iterations: timing.iterations, runs: timing.runs, ...extra };
}
