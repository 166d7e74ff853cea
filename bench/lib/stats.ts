/**
 * @module Timing helpers of the benchmarks: wall-clock samples, medians and
 * high percentiles, repetition and bounded concurrency. Nothing here asserts
 * a timing: the numbers are reported, never judged by a test.
 */

/** Summary of a set of samples, in milliseconds. */
export interface Summary {
  /** Number of samples. */
  count: number;
  median_ms: number;
  p99_ms: number;
  min_ms: number;
  max_ms: number;
  mean_ms: number;
}

/**
 * The q-quantile (0..1) of `samples` by the nearest-rank method.
 * @throws {RangeError} when `samples` is empty or `q` is outside 0..1
 * @example quantile([3, 1, 2], 0.5) // 2
 */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new RangeError("Cannot take a quantile of no samples");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`Quantile "${q}" is outside 0..1`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

/** Median (the 0.5 quantile, nearest rank; the lower middle for an even count). */
export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/**
 * Summarizes samples (milliseconds), rounded to 0.01 ms.
 * @throws {RangeError} when `samples` is empty
 */
export function summarize(samples: readonly number[]): Summary {
  const round = (x: number) => Math.round(x * 100) / 100;
  const sum = samples.reduce((a, b) => a + b, 0);
  return {
    count: samples.length,
    median_ms: round(median(samples)),
    p99_ms: round(quantile(samples, 0.99)),
    min_ms: round(Math.min(...samples)),
    max_ms: round(Math.max(...samples)),
    mean_ms: round(sum / samples.length),
  };
}

/** Runs `fn` once and returns its result and the wall time in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/**
 * Runs `fn` `reps` times in a row (after `setup` each time, untimed) and returns the samples.
 * @param reps number of timed repetitions (>= 1)
 */
export async function repeat<T>(
  reps: number,
  fn: (rep: number) => Promise<T>,
  setup?: (rep: number) => Promise<void>,
): Promise<{ samples: number[]; last: T }> {
  if (!(reps >= 1)) throw new RangeError(`Repetitions must be >= 1, got "${reps}"`);
  const samples: number[] = [];
  let last: T | undefined;
  for (let rep = 0; rep < reps; rep++) {
    if (setup) await setup(rep);
    const { value, ms } = await timed(() => fn(rep));
    samples.push(ms);
    last = value;
  }
  return { samples, last: last as T };
}

/**
 * Runs `total` tasks with at most `limit` in flight; each task's own latency is a sample.
 * The first error stops new tasks and is rethrown once the running ones settle.
 * @returns per-task latencies (ms) in completion order and the wall time of the whole run
 */
export async function pool(
  total: number,
  limit: number,
  task: (i: number) => Promise<unknown>,
): Promise<{ latencies: number[]; wallMs: number }> {
  if (!(limit >= 1)) throw new RangeError(`Concurrency must be >= 1, got "${limit}"`);
  const latencies: number[] = [];
  let next = 0;
  let failure: unknown;
  const start = performance.now();
  const worker = async () => {
    while (failure === undefined && next < total) {
      const i = next++;
      try {
        const { ms } = await timed(() => task(i));
        latencies.push(ms);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, total) }, worker));
  if (failure !== undefined) throw failure;
  return { latencies, wallMs: performance.now() - start };
}
