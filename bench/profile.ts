/**
 * @module `deno task bench:profile`: where the time of the two hot paths goes,
 * on a fresh stack of its own (its processes are the only ones counted).
 *
 * 1. CPU per request of every process of the stack, read from `/proc/<pid>/stat`
 *    before and after `POST /uploads` and the bare `createSignedUploadUrl`, each
 *    sent `--requests` times at 50 concurrent users: the gateway with the
 *    Storage API double in it, each function, Postgres by connecting role, and
 *    this client.
 * 2. The assistant lookup's floor, sequential latencies: a request the function
 *    answers without work (a 404), through the gateway and straight to the
 *    function's port, and `GET /lookup` both ways.
 *
 * Prints both tables and writes them as JSON (`--out`, default
 * `bench/results/profile.json`). Linux only (`/proc`).
 */
import { dirname, resolve } from "node:path";
import { spawnStack } from "../stack/spawn.ts";
import { cpuTicks, descendants } from "../stack/process-tree.ts";
import { Bench, type BenchUser } from "./lib/stack.ts";
import { BUCKET, home, reserveRows } from "./lib/seed.ts";
import { pool, summarize } from "./lib/stats.ts";

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
const USERS = 50;

/** Parsed command line. */
export interface ProfileArgs {
  requests: number;
  lookups: number;
  out: string;
}

/**
 * Parses the flags `--requests N` (default 2000), `--lookups N` (default 2000), `--out FILE`.
 * @throws {Error} on an unknown flag or a value that is not a positive whole number
 */
export function parseProfileArgs(args: readonly string[]): ProfileArgs {
  const parsed: ProfileArgs = {
    requests: 2000,
    lookups: 2000,
    out: "bench/results/profile.json",
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`Flag "${flag}" needs a value`);
      return v;
    };
    const count = () => {
      const v = value();
      if (!/^[1-9]\d*$/.test(v)) throw new Error(`Flag "${flag}" needs a positive whole number`);
      return Number(v);
    };
    if (flag === "--requests") parsed.requests = count();
    else if (flag === "--lookups") parsed.lookups = count();
    else if (flag === "--out") parsed.out = value();
    else throw new Error(`Unknown flag "${flag}" (flags: --requests, --lookups, --out)`);
  }
  return parsed;
}

/**
 * The part of the stack a process plays, from its command line.
 * @example roleOf("postgres: supabase_storage_admin postgres 127.0.0.1(5) idle", false) // "Postgres: supabase_storage_admin"
 */
export function roleOf(cmdline: string, isStackMain: boolean): string {
  if (isStackMain) return "gateway + Storage API double";
  const fn = cmdline.match(/function-runner\.ts \S+ \d+ (\S+)/);
  if (fn) return `function ${fn[1]}`;
  const backend = cmdline.match(/^postgres: (\S+) \S+ [\d.:[\]a-f]+\(\d+\)/);
  if (backend) return `Postgres: ${backend[1]}`;
  if (/^postgres: /.test(cmdline) || /\/postgres\b.* -D /.test(cmdline)) {
    return "Postgres: background";
  }
  return "other";
}

function readCmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** CPU ticks so far of each process, keyed by pid, with its role. */
function snapshot(stackPid: number): Map<number, { role: string; ticks: number }> {
  const out = new Map<number, { role: string; ticks: number }>();
  for (const p of [{ pid: stackPid }, ...descendants(stackPid)]) {
    out.set(p.pid, {
      role: roleOf(readCmdline(p.pid), p.pid === stackPid),
      ticks: cpuTicks(p.pid),
    });
  }
  out.set(Deno.pid, { role: "the client (this process)", ticks: cpuTicks(Deno.pid) });
  return out;
}

/** Milliseconds of CPU per request by role between two snapshots (a process gone meanwhile counts 0). */
function cpuPerRequest(
  before: ReturnType<typeof snapshot>,
  after: ReturnType<typeof snapshot>,
  requests: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, { role, ticks }] of after) {
    const delta = ticks - (before.get(pid)?.ticks ?? 0);
    out[role] = (out[role] ?? 0) + (delta * 1000) / TICKS_PER_SECOND / requests;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseProfileArgs(Deno.args);
  const dir = await Deno.makeTempDir({ prefix: "stowage-profile-" });
  const stack = await spawnStack(dir);
  const onSignal = () => stack.stop().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const bench = await Bench.open(stack.credentialsPath);
    try {
      const cpu = await profileUploads(bench, stack.pid, args.requests);
      const floor = await profileLookup(bench, stack.pid, args.lookups);
      const result = {
        generatedAt: new Date().toISOString(),
        loadavg: Deno.loadavg(),
        requests: args.requests,
        cpuMsPerRequest: cpu,
        lookupLatencyMs: floor,
      };
      console.log("\n" + renderCpu(cpu) + "\n\n" + renderFloor(floor));
      const out = resolve(args.out);
      await Deno.mkdir(dirname(out), { recursive: true });
      await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
      console.log(`\nresults: ${out}`);
    } finally {
      await bench.cleanup().catch(() => {});
      await bench.close();
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await stack.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

type CpuTable = { ours: Record<string, number>; bare: Record<string, number> };

/** CPU per request of `POST /uploads` and of the bare signing, at 50 concurrent users. */
async function profileUploads(bench: Bench, stackPid: number, requests: number): Promise<CpuTable> {
  await bench.sql`update stowage.settings set max_live_reservations = ${10 * requests}`;
  const users: BenchUser[] = [];
  for (let i = 0; i < USERS; i++) users.push(await bench.createUser("profile", "paid"));
  const clients = users.map((u) => bench.userClient(u.token));
  const result = {} as CpuTable;
  for (const kind of ["ours", "bare"] as const) {
    // One untimed round per user first (tokens verified, keep-alive connections opened).
    const total = requests + USERS;
    const paths = Array.from({ length: total }, (_, i) => `profile-${kind}/f${i}.json`);
    const user = (i: number) => users[i % USERS];
    if (kind === "bare") {
      for (let u = 0; u < USERS; u++) {
        const keys = paths.filter((_, i) => i % USERS === u).map((p) => home(users[u].id) + p);
        await reserveRows(bench.sql, users[u].id, BUCKET, keys);
      }
    }
    const call = async (i: number) => {
      if (kind === "ours") {
        await bench.call("storage", user(i).token, "POST", "/uploads", {
          bucket: BUCKET,
          path: paths[i],
          size: 100,
          contentType: "application/json",
        });
        return;
      }
      const { error } = await clients[i % USERS].storage.from(BUCKET)
        .createSignedUploadUrl(home(user(i).id) + paths[i]);
      if (error) throw new Error(`createSignedUploadUrl failed: ${error.message}`);
    };
    await pool(USERS, USERS, (i) => call(requests + i));
    console.log(`${kind}: ${requests} requests at ${USERS} concurrent users`);
    const before = snapshot(stackPid);
    await pool(requests, USERS, call);
    result[kind] = cpuPerRequest(before, snapshot(stackPid), requests);
  }
  return result;
}

type FloorRow = { request: string; p50: number; p99: number };

/** Sequential latencies of the lookup and of a request that does no work, both ways in. */
async function profileLookup(bench: Bench, stackPid: number, n: number): Promise<FloorRow[]> {
  const user = await bench.createUser("profile-lookup");
  await bench.sql`insert into stowage.assistants (assistant_id, user_id, course_id)
    values ('asst_profile', ${user.id}::uuid, 'course-1')`;
  const port = descendants(stackPid).map((p) => readCmdline(p.pid))
    .map((c) => c.match(/function-runner\.ts \S+ (\d+) assistants$/)?.[1]).find(Boolean);
  if (!port) throw new Error("the assistants function's process was not found");
  const gateway = `${bench.credentials.url}/functions/v1/assistants`;
  const direct = `http://127.0.0.1:${port}/assistants`;
  const headers = {
    "x-webhook-secret": bench.credentials.assistantWebhookSecret,
    apikey: bench.credentials.publishableKey,
  };
  const rows: FloorRow[] = [];
  const time = async (request: string, url: string, status: number) => {
    const once = async () => {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== status) throw new Error(`${url} answered ${res.status}, not ${status}`);
    };
    for (let i = 0; i < 100; i++) await once();
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      await once();
      samples.push(performance.now() - started);
    }
    const s = summarize(samples);
    rows.push({ request, p50: s.median_ms, p99: s.p99_ms });
  };
  console.log(`lookup: ${n} sequential requests per row`);
  await time(
    "a request the function answers without work (404), through the gateway",
    `${gateway}/nothing`,
    404,
  );
  await time("the same, straight to the function's port", `${direct}/nothing`, 404);
  await time(
    "GET /lookup (webhook secret), through the gateway",
    `${gateway}/lookup/asst_profile`,
    200,
  );
  await time("GET /lookup, straight to the function's port", `${direct}/lookup/asst_profile`, 200);
  return rows;
}

function renderCpu(cpu: CpuTable): string {
  const roles = [...new Set([...Object.keys(cpu.ours), ...Object.keys(cpu.bare)])].sort();
  const ms = (v: number | undefined) => (v ?? 0) < 0.005 ? "-" : `${v!.toFixed(2)} ms`;
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return [
    "CPU per request at 50 concurrent users",
    "",
    "| process | POST /uploads | bare createSignedUploadUrl |",
    "|---|---:|---:|",
    ...roles.map((role) => `| ${role} | ${ms(cpu.ours[role])} | ${ms(cpu.bare[role])} |`),
    `| **all** | **${ms(sum(cpu.ours))}** | **${ms(sum(cpu.bare))}** |`,
  ].join("\n");
}

function renderFloor(rows: FloorRow[]): string {
  return [
    "Sequential latency",
    "",
    "| request | p50 | p99 |",
    "|---|---:|---:|",
    ...rows.map((r) => `| ${r.request} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms |`),
  ].join("\n");
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`bench:profile: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
