/**
 * @module Results of the benchmarks: the shapes written to the results file,
 * the machine facts, ratios against our contender, and the printed table.
 */
import { summarize } from "./stats.ts";

/** The machine a run happened on. */
export interface Machine {
  cpus: number;
  /** Total memory in bytes. */
  memory: number;
  os: string;
  deno: string;
  /** Load averages (1, 5, 15 min) when the run started: a busy machine skews the numbers. */
  loadavg: number[];
}

/** One way of doing the scenario's job, measured over repetitions. */
export interface ContenderResult {
  name: string;
  /** Whether this is one of Stowage's own contenders. */
  ours: boolean;
  /** Items (objects, paths, requests) handled per run. */
  n: number;
  /** Timed repetitions (or requests, for latency scenarios). */
  reps: number;
  median_ms: number | null;
  p99_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  /** HTTP (or SQL) calls per run, when counted. */
  calls?: number;
  /** Items per second at the median (of one sample: a run, or one request). */
  per_second?: number;
  /** The contender this one's ratio is taken against (one of ours). */
  compareTo?: string;
  note?: string;
  /** Why the contender could not be measured (its numbers are then null). */
  error?: string;
}

/** One scenario's results, as written to the results file. */
export interface ScenarioResult {
  scenario: string;
  title: string;
  /** The scenario's size (objects, paths, mappings...). */
  n: number;
  mode: "full" | "quick" | "tiny";
  contenders: ContenderResult[];
  /** Per contender: its median over the median of the contender it is compared to. */
  ratios: Record<string, number | null>;
  goal: string;
  /** Null when a contender the goal needs could not be measured. */
  goalMet: boolean | null;
  /** How the goal was judged, with the numbers. */
  goalDetail: string;
  notes: string[];
  machine: Machine;
  startedAt: string;
  durationMs: number;
}

/** The whole results file. */
export interface ResultsFile {
  generatedAt: string;
  mode: "full" | "quick" | "tiny";
  machine: Machine;
  scenarios: ScenarioResult[];
}

/** Facts about this machine. */
export function machine(): Machine {
  return {
    cpus: navigator.hardwareConcurrency,
    memory: Deno.systemMemoryInfo().total,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    loadavg: Deno.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/**
 * Builds a contender's result from its samples (ms). Each sample handles `n` items (a
 * run over the scenario's n objects) unless `perSample` says otherwise: latency rows,
 * whose samples are single requests, pass `perSample: 1` (their n is the scenario's size).
 * @example contender("ours", samples, { n: 1000, ours: true })
 */
export function contender(
  name: string,
  samples: readonly number[],
  options:
    & Omit<ContenderResult, "name" | "reps" | "median_ms" | "p99_ms" | "min_ms" | "max_ms">
    & { perSample?: number },
): ContenderResult {
  const s = summarize(samples);
  const { perSample, ...rest } = options;
  const items = perSample ?? options.n;
  return {
    name,
    reps: s.count,
    median_ms: s.median_ms,
    p99_ms: s.p99_ms,
    min_ms: s.min_ms,
    max_ms: s.max_ms,
    per_second: s.median_ms > 0 ? Math.round(items / (s.median_ms / 1000)) : undefined,
    ...rest,
  };
}

/** A contender that could not be measured, with the reason. */
export function failed(
  name: string,
  error: unknown,
  options: { ours: boolean; n: number; compareTo?: string; note?: string },
): ContenderResult {
  const message = error instanceof Error ? error.message : String(error);
  return {
    name,
    reps: 0,
    median_ms: null,
    p99_ms: null,
    min_ms: null,
    max_ms: null,
    ...options,
    error: message.split("\n")[0].slice(0, 300),
  };
}

/** Measures a contender, turning a thrown error into a {@link failed} row (printed, never hidden). */
export async function measure(
  name: string,
  options: { ours: boolean; n: number; compareTo?: string; note?: string },
  run: () => Promise<ContenderResult>,
): Promise<ContenderResult> {
  const started = performance.now();
  try {
    const result = await run();
    const took = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`    median ${fmtMs(result.median_ms)} over ${result.reps} (took ${took} s)`);
    return result;
  } catch (error) {
    console.error(`  ${name}: failed: ${(error as Error).stack ?? error}`);
    return failed(name, error, options);
  }
}

/** Ratio of each contender's median to the median of the contender it is compared to. */
export function ratios(contenders: readonly ContenderResult[]): Record<string, number | null> {
  const byName = new Map(contenders.map((c) => [c.name, c]));
  const out: Record<string, number | null> = {};
  for (const c of contenders) {
    const base = c.compareTo ? byName.get(c.compareTo) : undefined;
    if (!c.compareTo) out[c.name] = c.median_ms === null ? null : 1;
    else if (!base || base.median_ms === null || c.median_ms === null || base.median_ms === 0) {
      out[c.name] = null;
    } else out[c.name] = Math.round((c.median_ms / base.median_ms) * 100) / 100;
  }
  return out;
}

function fmtMs(ms: number | null): string {
  if (ms === null) return "-";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

/** Renders a scenario as a Markdown table (contender, n, median, p99, ratio, goal). */
export function table(result: ScenarioResult): string {
  const goal = result.goalMet === null ? "n/a" : result.goalMet ? "met" : "MISSED";
  const main = result.contenders.find((c) => c.ours)?.name;
  const rows = result.contenders.map((c) => {
    const ratio = result.ratios[c.name];
    const vs = c.compareTo && c.compareTo !== main ? ` vs ${c.compareTo}` : "";
    const what = c.error ? `error: ${c.error}` : (c.note ?? "");
    return `| ${c.name}${c.ours ? " *" : ""} | ${c.n} | ${c.reps} | ${fmtMs(c.median_ms)} | ${
      fmtMs(c.p99_ms)
    } | ${ratio === null || ratio === undefined ? "-" : `${ratio}x${vs}`} | ${what} |`;
  });
  return [
    `### ${result.scenario}: ${result.title} (n = ${result.n}, ${result.mode})`,
    "",
    "| contender | n | reps | median | p99 | ratio | note |",
    "|---|---:|---:|---:|---:|---:|---|",
    ...rows,
    "",
    `Goal: ${result.goal} -> **${goal}** (${result.goalDetail})`,
    ...result.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}
