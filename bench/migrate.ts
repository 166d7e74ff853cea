/**
 * @module Benchmark of `stowage migrate --execute` against a plain sequential supabase-js
 * loop (bench/migrate-baseline.ts): throughput and peak RSS for 1,000 x 1 MB and
 * 2 x 200 MB files, on a running local stack (`STOWAGE_CREDENTIALS`, else `.stack/`).
 * Prints a table and writes JSON under bench/results/. `--quick`: 100 x 1 MB, 2 x 20 MB.
 */
import { createUser, serviceClient } from "../tests/support/stack.ts";

const MiB = 1024 * 1024;
const quick = Deno.args.includes("--quick");
const datasets = [
  { name: quick ? "100 x 1 MB" : "1,000 x 1 MB", count: quick ? 100 : 1000, size: MiB },
  { name: quick ? "2 x 20 MB" : "2 x 200 MB", count: 2, size: (quick ? 20 : 200) * MiB },
];
const root = new URL("../", import.meta.url).pathname;
const bucket = "anantra-lms-store";

interface Measure {
  dataset: string;
  tool: string;
  objects: number;
  bytes: number;
  seconds: number;
  mibPerSecond: number;
  peakRssMiB: number;
}

/** Runs a deno script, sampling its peak RSS (VmHWM) until it exits. */
async function measure(args: string[]): Promise<{ seconds: number; peakRssMiB: number }> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${root}deno.json`, ...args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const timer = setInterval(async () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${child.pid}/status`));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch { /* the process just exited */ }
  }, 50);
  const out = await child.output();
  clearInterval(timer);
  if (!out.success) {
    throw new Error(
      `${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
    );
  }
  return { seconds: (performance.now() - start) / 1000, peakRssMiB: Math.round(peak) };
}

async function removeAll(prefix: string): Promise<void> {
  const storage = (await serviceClient()).storage.from(bucket);
  for (;;) {
    const { data, error } = await storage.list(prefix.slice(0, -1), { limit: 1000 });
    if (error) throw new Error(`Cannot list "${prefix}": ${error.message}`);
    const files = (data ?? []).filter((f) => f.id !== null).map((f) => prefix + f.name);
    if (files.length === 0) return;
    const { error: e2 } = await storage.remove(files);
    if (e2) throw new Error(`Cannot clean up "${prefix}": ${e2.message}`);
  }
}

const user = await createUser({ plan: "paid" });
const results: Measure[] = [];
const work = await Deno.makeTempDir({ prefix: "stowage-bench-migrate-" });
try {
  for (const ds of datasets) {
    const folder = `user_data/${user.id}/bench-${ds.count}/`;
    const dir = `${work}/${ds.count}`;
    await Deno.mkdir(`${dir}/${folder}`, { recursive: true });
    const chunk = crypto.getRandomValues(new Uint8Array(65536));
    for (let i = 0; i < ds.count; i++) {
      const f = await Deno.open(`${dir}/${folder}f${i}.bin`, { create: true, write: true });
      for (let w = 0; w < ds.size; w += chunk.length) {
        await f.write(chunk.subarray(0, Math.min(chunk.length, ds.size - w)));
      }
      f.close();
    }
    const bytes = ds.count * ds.size;
    const runs: [string, string[]][] = [
      ["stowage migrate", [
        `${root}cli/main.ts`,
        "migrate",
        dir,
        "--to",
        bucket,
        "--execute",
        "--plan-out",
        `${work}/plan-${ds.count}.json`,
      ]],
      ["supabase-js loop", [`${root}bench/migrate-baseline.ts`, dir, bucket]],
    ];
    for (const [tool, args] of runs) {
      await removeAll(folder);
      const m = await measure(args);
      results.push({
        dataset: ds.name,
        tool,
        objects: ds.count,
        bytes,
        seconds: +m.seconds.toFixed(2),
        mibPerSecond: +(bytes / MiB / m.seconds).toFixed(1),
        peakRssMiB: m.peakRssMiB,
      });
    }
    await removeAll(folder);
    await Deno.remove(dir, { recursive: true });
  }
} finally {
  await Deno.remove(work, { recursive: true });
}

const rows = results.map((
  r,
) => [
  r.dataset,
  r.tool,
  String(r.objects),
  r.seconds.toFixed(2),
  r.mibPerSecond.toFixed(1),
  String(r.peakRssMiB),
]);
const ratios = datasets.map((ds) => {
  const [s, b] = ["stowage migrate", "supabase-js loop"].map((t) =>
    results.find((r) => r.dataset === ds.name && r.tool === t)!
  );
  return {
    dataset: ds.name,
    throughputRatio: +(s.mibPerSecond / b.mibPerSecond).toFixed(2),
    peakRssRatio: +(s.peakRssMiB / b.peakRssMiB).toFixed(2),
  };
});
const header = ["dataset", "tool", "objects", "seconds", "MiB/s", "peak RSS MiB"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const line of [header, widths.map((w) => "-".repeat(w)), ...rows]) {
  console.log(line.map((c, i) => c.padEnd(widths[i])).join("  "));
}
console.log("");
for (const r of ratios) {
  console.log(
    `${r.dataset}: stowage/loop throughput x${r.throughputRatio}, peak RSS x${r.peakRssRatio}`,
  );
}
await Deno.mkdir(`${root}bench/results`, { recursive: true });
const out = `${root}bench/results/migrate-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
await Deno.writeTextFile(
  out,
  JSON.stringify(
    { quick, concurrency: 8, cores: navigator.hardwareConcurrency, results, ratios },
    null,
    2,
  ) + "\n",
);
console.log(`\nResults: ${out}`);
