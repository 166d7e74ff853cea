/**
 * @module Keeps the benchmark harness from rotting: runs `bench/main.ts --tiny`
 * (every scenario on tiny n, against the test stack when STOWAGE_CREDENTIALS
 * is set, else a stack of its own) and checks the results file's schema.
 * No timing is asserted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ResultsSchema } from "./lib/results-schema.ts";
import { parseArgs } from "./main.ts";
import { contender, ratios } from "./lib/report.ts";
import { quantile } from "./lib/stats.ts";

const projectDir = new URL("..", import.meta.url).pathname;

Deno.test("bench --tiny runs every scenario and writes a results file of the documented shape", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-schema-" });
  try {
    const out = join(dir, "results.json");
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", join(projectDir, "bench/main.ts"), "--tiny", "--out", out],
      cwd: projectDir,
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, text.slice(-3000));
    const results = ResultsSchema.parse(JSON.parse(await Deno.readTextFile(out)));
    assert.equal(results.mode, "tiny");
    assert.ok(results.scenarios.length >= 6, `only ${results.scenarios.length} scenarios ran`);
    for (const s of results.scenarios) {
      assert.ok(s.contenders.some((c) => c.ours), `${s.scenario} has no contender of ours`);
      const broken = s.contenders.filter((c) => c.error);
      assert.deepEqual(broken.map((c) => `${c.name}: ${c.error}`), [], s.scenario);
    }
    assert.match(await Deno.readTextFile(join(dir, "results.md")), /\| contender \| n \|/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench flags: --quick, --tiny, --scenario lists, --out; unknown flags are refused", () => {
  assert.deepEqual(parseArgs([]), { mode: "full", only: [], out: "bench/results/latest.json" });
  assert.deepEqual(parseArgs(["--quick", "--scenario", "a,b", "--scenario=c", "--out", "x.json"]), {
    mode: "quick",
    only: ["a", "b", "c"],
    out: "x.json",
  });
  assert.equal(parseArgs(["--tiny", "--quick"]).mode, "tiny");
  // Only a full run of every scenario replaces latest.json/latest.md (the README's tables).
  assert.equal(parseArgs(["--scenario", "scale"]).out, "bench/results/partial.json");
  assert.equal(parseArgs(["--quick"]).out, "bench/results/partial.json");
  assert.equal(parseArgs(["--tiny"]).out, "bench/results/partial.json");
  assert.equal(parseArgs(["--quick", "--out", "y.json"]).out, "y.json");
  assert.throws(() => parseArgs(["--fast"]), /Unknown flag "--fast"/);
  assert.throws(() => parseArgs(["--out"]), /needs a value/);
});

Deno.test("bench ratios are medians over the compared contender's median; missing numbers give null", () => {
  const row = (name: string, median: number | null, compareTo?: string) => ({
    name,
    ours: !compareTo,
    n: 1,
    reps: 1,
    median_ms: median,
    p99_ms: median,
    min_ms: median,
    max_ms: median,
    compareTo,
  });
  assert.deepEqual(ratios([row("ours", 10), row("naive", 250, "ours"), row("x", null, "ours")]), {
    ours: 1,
    naive: 25,
    x: null,
  });
  assert.equal(quantile([5, 1, 4, 2, 3], 0.5), 3);
  assert.equal(quantile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99), 99);
});

Deno.test("per_second counts the items one sample handles: one per request for latency rows", () => {
  // A run that lists 10,000 objects in 50 ms handles 200,000 objects per second.
  const run = contender("listing", [40, 50, 60], { ours: true, n: 10_000 });
  assert.equal(run.per_second, 200_000);
  // A latency row's n is the scenario's size (requests, mappings in the table): one request
  // per sample, so a 5 ms median is 200 requests per second per client.
  const latency = contender("lookup", [4, 5, 6], { ours: true, n: 10_000, perSample: 1 });
  assert.equal(latency.per_second, 200);
  assert.equal("perSample" in latency, false, "perSample is not a field of the results file");
});
