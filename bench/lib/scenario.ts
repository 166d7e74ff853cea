/**
 * @module What a benchmark scenario is: a name, a goal, sizes per mode, and a
 * run that seeds its data, measures its contenders and cleans up.
 */
import type { Bench } from "./stack.ts";
import type { ContenderResult } from "./report.ts";
import { repeat } from "./stats.ts";

/** How big a run is: `full` (the sizes), `quick` (< 3 min), `tiny` (seconds, for tests). */
export type Mode = "full" | "quick" | "tiny";

/** What a scenario's run gets. */
export interface ScenarioContext {
  bench: Bench;
  mode: Mode;
  /** Prints a progress line. */
  log(message: string): void;
}

/** What a scenario's run returns; the runner adds ratios, machine and timing. */
export interface ScenarioOutcome {
  n: number;
  contenders: ContenderResult[];
  goalMet: boolean | null;
  goalDetail: string;
  notes: string[];
}

/** One benchmark scenario. */
export interface Scenario {
  /** Kebab-case name, used by `--scenario`. */
  name: string;
  title: string;
  goal: string;
  /** Modes the scenario does not run in (it is then listed as skipped). */
  skipIn?: Mode[];
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

/**
 * Repeats a measurement `reps` times, but stops early (after at least one) once `budgetMs`
 * of timed work has passed, so one slow contender cannot blow the run's time budget.
 * With `warmup`, one untimed run comes first (rep -1), so a cold start is not a sample.
 */
export async function repeatWithin<T>(
  reps: number,
  budgetMs: number,
  fn: (rep: number) => Promise<T>,
  setup?: (rep: number) => Promise<void>,
  warmup = false,
): Promise<{ samples: number[]; last: T }> {
  const samples: number[] = [];
  let last: T | undefined;
  if (warmup) {
    if (setup) await setup(-1);
    await fn(-1);
  }
  for (let rep = 0; rep < reps; rep++) {
    const r = await repeat(1, () => fn(rep), setup ? () => setup(rep) : undefined);
    samples.push(r.samples[0]);
    last = r.last;
    if (samples.reduce((a, b) => a + b, 0) > budgetMs) break;
  }
  return { samples, last: last as T };
}

/** Judges a goal from ratios that may be missing: null when any is, else whether all hold. */
export function judge(checks: (boolean | null)[]): boolean | null {
  if (checks.some((c) => c === null)) return null;
  return checks.every((c) => c === true);
}

/** `a / b` rounded to 0.01, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}
