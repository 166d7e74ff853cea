/**
 * @module `deno task bench`: runs the benchmark scenarios of issue 9 side by
 * side on one local stack, prints a table per scenario and writes the results
 * (JSON, plus the tables as Markdown beside it).
 *
 * Flags: `--quick` (small n, under 3 minutes), `--tiny` (seconds: for the
 * schema test), `--scenario <name>` (repeatable or comma-separated),
 * `--out <file>` (default `bench/results/latest.json` for a full run of every scenario,
 * `bench/results/partial.json` for any smaller run).
 * Starts a fresh stack of its own and stops it at the end, unless
 * `STOWAGE_CREDENTIALS` names a running one.
 */
import { dirname, resolve } from "node:path";
import { Bench, type OwnStack, startOwnStack } from "./lib/stack.ts";
import { machine, ratios, type ResultsFile, type ScenarioResult, table } from "./lib/report.ts";
import type { Mode, Scenario } from "./lib/scenario.ts";
import { scenarios } from "./scenarios/mod.ts";

/** Parsed command line. */
export interface BenchArgs {
  mode: Mode;
  only: string[];
  out: string;
}

/**
 * Parses the flags.
 * @throws {Error} on an unknown flag or a flag without its value
 */
export function parseArgs(args: readonly string[]): BenchArgs {
  const parsed: BenchArgs = { mode: "full", only: [], out: "" };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`Flag "${arg}" needs a value`);
      return v;
    };
    if (arg === "--quick") parsed.mode = parsed.mode === "tiny" ? "tiny" : "quick";
    else if (arg === "--tiny") parsed.mode = "tiny";
    else if (arg === "--scenario") parsed.only.push(...value().split(",").filter(Boolean));
    else if (arg.startsWith("--scenario=")) parsed.only.push(...arg.slice(11).split(","));
    else if (arg === "--out") parsed.out = value();
    else if (arg.startsWith("--out=")) parsed.out = arg.slice(6);
    else throw new Error(`Unknown flag "${arg}" (flags: --quick, --tiny, --scenario, --out)`);
  }
  // Only a full run of every scenario replaces latest.json and latest.md, the tables the
  // README quotes; a smaller run goes beside them.
  if (!parsed.out) {
    parsed.out = parsed.mode === "full" && parsed.only.length === 0
      ? "bench/results/latest.json"
      : "bench/results/partial.json";
  }
  return parsed;
}

async function runScenario(bench: Bench, scenario: Scenario, mode: Mode): Promise<ScenarioResult> {
  const startedAt = new Date();
  const started = performance.now();
  console.log(`\n== ${scenario.name}: ${scenario.title} (${mode})`);
  const log = (m: string) => console.log(`  ${m}`);
  const base = {
    scenario: scenario.name,
    title: scenario.title,
    mode,
    goal: scenario.goal,
    machine: machine(),
    startedAt: startedAt.toISOString(),
  };
  try {
    const outcome = await scenario.run({ bench, mode, log });
    return {
      ...base,
      ...outcome,
      ratios: ratios(outcome.contenders),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    console.error(`  ${scenario.name} failed: ${(error as Error).stack ?? error}`);
    return {
      ...base,
      n: 0,
      contenders: [],
      ratios: {},
      goalMet: null,
      goalDetail: "the scenario failed before measuring",
      notes: [`error: ${(error as Error).message}`],
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await bench.cleanup().catch((error) =>
      console.error(`  cleanup after ${scenario.name} failed: ${(error as Error).message}`)
    );
    await bench.settle().catch((error) =>
      console.error(`  settling after ${scenario.name} failed: ${(error as Error).message}`)
    );
  }
}

async function main(): Promise<number> {
  const args = parseArgs(Deno.args);
  const all = await scenarios();
  const unknown = args.only.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length) {
    throw new Error(
      `Unknown scenario "${unknown.join(", ")}" (known: ${all.map((s) => s.name).join(", ")})`,
    );
  }
  const chosen = args.only.length ? all.filter((s) => args.only.includes(s.name)) : all;
  let own: OwnStack | undefined;
  const stopOwn = () => own?.stop() ?? Promise.resolve();
  const onSignal = () => stopOwn().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let failures = 0;
  try {
    let credentials = Deno.env.get("STOWAGE_CREDENTIALS");
    if (!credentials) {
      console.log("starting a fresh local stack for the benchmarks...");
      own = await startOwnStack();
      credentials = own.credentialsPath;
    }
    const bench = await Bench.open(credentials);
    const file: ResultsFile = {
      generatedAt: new Date().toISOString(),
      mode: args.mode,
      machine: machine(),
      scenarios: [],
    };
    try {
      for (const scenario of chosen) {
        if (scenario.skipIn?.includes(args.mode)) {
          console.log(`\n== ${scenario.name}: skipped in ${args.mode} mode`);
          continue;
        }
        const result = await runScenario(bench, scenario, args.mode);
        if (result.contenders.length === 0) failures++;
        file.scenarios.push(result);
        console.log("\n" + table(result));
      }
    } finally {
      await bench.close();
    }
    const out = resolve(args.out);
    await Deno.mkdir(dirname(out), { recursive: true });
    await Deno.writeTextFile(out, JSON.stringify(file, null, 2) + "\n");
    const m = file.machine;
    const header = `Run ${file.generatedAt} (${file.mode}) on ${m.cpus} CPUs, ` +
      `${(m.memory / 2 ** 30).toFixed(1)} GiB, ${m.os}, Deno ${m.deno}, load ${m.loadavg}\n\n`;
    await Deno.writeTextFile(
      out.replace(/\.json$/, "") + ".md",
      header + file.scenarios.map(table).join("\n"),
    );
    console.log(`\nresults: ${out}`);
  } finally {
    await stopOwn();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  return failures ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
