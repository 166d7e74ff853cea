/**
 * @module Scenario 7, migration: runs the CLI's own benchmark (`bench/migrate.ts`:
 * `stowage migrate --execute` against a sequential supabase-js upload loop,
 * throughput and peak RSS) as a child process on the same stack, and reports
 * its numbers in this harness's shape. Skipped when that file is absent.
 */
import { join } from "node:path";
import { contender, type ContenderResult } from "../lib/report.ts";
import { judge, ratio, type Scenario } from "../lib/scenario.ts";

const script = new URL("../migrate.ts", import.meta.url).pathname;

/** One row of `bench/migrate.ts`'s results file. */
interface MigrateRow {
  dataset: string;
  tool: string;
  objects: number;
  bytes: number;
  seconds: number;
  mibPerSecond: number;
  peakRssMiB: number;
}

/** Whether the CLI's migration benchmark exists. */
export async function migrationAvailable(): Promise<boolean> {
  try {
    await Deno.stat(script);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Scenario 7. */
export const migration: Scenario = {
  name: "migration",
  title: "Migration: stowage migrate against a sequential supabase-js loop",
  goal: "memory flat in file size: stowage migrate's peak RSS on the big files <= 1.5x its " +
    "peak RSS on the 1 MB files (throughput reported beside the loop's)",
  skipIn: ["tiny"],
  async run({ bench, mode, log }) {
    log(`running ${script}${mode === "full" ? "" : " --quick"} (the CLI's benchmark)`);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, ...(mode === "full" ? [] : ["--quick"])],
      cwd: join(script, "../.."),
      env: { STOWAGE_CREDENTIALS: bench.credentialsPath },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(stdout);
    if (code !== 0) {
      throw new Error(
        `bench/migrate.ts exited ${code}: ${new TextDecoder().decode(stderr).slice(-1500)}`,
      );
    }
    const out = /^Results: (.+\.json)$/m.exec(text)?.[1];
    if (!out) throw new Error(`bench/migrate.ts printed no "Results:" line:\n${text.slice(-1500)}`);
    const { results } = JSON.parse(await Deno.readTextFile(out)) as { results: MigrateRow[] };
    await Deno.remove(out);
    const contenders: ContenderResult[] = [];
    for (const dataset of [...new Set(results.map((r) => r.dataset))]) {
      const rows = results.filter((r) => r.dataset === dataset);
      const ours = rows.find((r) => r.tool === "stowage migrate");
      for (const r of rows) {
        const name = `${r.tool}, ${dataset}`;
        contenders.push(contender(name, [r.seconds * 1000], {
          ours: r === ours,
          n: r.objects,
          compareTo: r === ours || !ours ? undefined : `${ours.tool}, ${dataset}`,
          note: `${r.mibPerSecond} MiB/s, peak RSS ${r.peakRssMiB} MiB`,
        }));
      }
    }
    const rss = (pick: (rows: MigrateRow[]) => MigrateRow | undefined) =>
      pick(results.filter((r) => r.tool === "stowage migrate"))?.peakRssMiB;
    const bySize = (rows: MigrateRow[]) =>
      [...rows].sort((a, b) => a.bytes / a.objects - b.bytes / b.objects);
    const growth = ratio(rss((rows) => bySize(rows).at(-1)), rss((rows) => bySize(rows)[0]));
    return {
      n: results.reduce((a, r) => Math.max(a, r.objects), 0),
      contenders,
      goalMet: judge([growth === null ? null : growth <= 1.5]),
      goalDetail: `stowage peak RSS big files/small files ${growth ?? "-"}x (<= 1.5)`,
      notes: [
        "one run each (reps 1), measured by bench/migrate.ts (the CLI's); the ratio column is " +
        "wall time over stowage migrate's; MiB/s and peak RSS in the note",
      ],
    };
  },
};
