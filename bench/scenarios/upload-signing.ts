/**
 * @module Scenario 4, upload signing: `POST /uploads` (reserve + sign) against
 * a bare `createSignedUploadUrl` as the user, alone and at 50 concurrent
 * clients, p50 and p99 per request. The bare call gets its reservation
 * written in SQL beforehand (untimed): our insert policy refuses a signed
 * upload without one, and the bare call is meant to cost only the signing.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { contender, type ContenderResult, measure } from "../lib/report.ts";
import { judge, ratio, type Scenario, type ScenarioOutcome } from "../lib/scenario.ts";
import { BUCKET, home, reserveRows } from "../lib/seed.ts";
import { pool } from "../lib/stats.ts";
import type { Bench, BenchUser } from "../lib/stack.ts";

/** One contender ready to measure: its call, and the untimed setup of a range of its calls. */
interface Prepared {
  call: (i: number) => Promise<unknown>;
  seed: (from: number, to: number) => Promise<void>;
  unseed: (from: number, to: number) => Promise<void>;
}

/** Rounds each ours/bare pair alternates in. */
const ROUNDS = 5;

const SIZES = {
  full: { alone: 300, concurrent: 50, crowd: 1000, warmup: 10 },
  quick: { alone: 100, concurrent: 50, crowd: 300, warmup: 5 },
  tiny: { alone: 5, concurrent: 5, crowd: 10, warmup: 1 },
};

function ours(bench: Bench, user: BenchUser, path: string): Promise<unknown> {
  return bench.call("storage", user.token, "POST", "/uploads", {
    bucket: BUCKET,
    path,
    size: 100,
    contentType: "application/json",
  });
}

async function bare(client: SupabaseClient, key: string): Promise<void> {
  const { error } = await client.storage.from(BUCKET).createSignedUploadUrl(key);
  if (error) throw new Error(`createSignedUploadUrl("${key}") failed: ${error.message}`);
}

/** Scenario 4. */
export const uploadSigning: Scenario = {
  name: "upload-signing",
  title: "Upload signing, alone and concurrent",
  goal: "p99 of POST /uploads <= 2x the bare createSignedUploadUrl's at 50 concurrent clients " +
    "(50 users)",
  async run({ bench, mode, log }) {
    const size = SIZES[mode];
    // The one-user rows give one user more live reservations than the default cap of 1,000
    // (stowage.settings.max_live_reservations): raise it for the run, restore it after.
    const [{ cap }] = await bench.sql<{ cap: number }[]>`
      select max_live_reservations as cap from stowage.settings`;
    await bench.sql`update stowage.settings
      set max_live_reservations = greatest(max_live_reservations, ${
      10 * (size.crowd + size.alone)
    })`;
    try {
      return await measureAll(bench, size, log);
    } finally {
      await bench.sql`update stowage.settings set max_live_reservations = ${cap}`;
    }
  },
};

async function measureAll(
  bench: Bench,
  size: (typeof SIZES)[keyof typeof SIZES],
  log: (message: string) => void,
): Promise<ScenarioOutcome> {
  // Concurrent clients are different users (each their own quota lock), as in an app; one
  // more pair of rows puts every request on one user, whose usage row serializes reserve().
  const users: BenchUser[] = [];
  for (let i = 0; i < size.concurrent; i++) users.push(await bench.createUser("sign", "paid"));
  const clients = users.map((u) => bench.userClient(u.token));
  let seq = 0;
  /** Paths, reservations (bare) and untimed warm-up of one contender; returns its call. */
  const prepare = async (
    kind: "ours" | "bare",
    total: number,
    limit: number,
    userCount: number,
  ): Promise<Prepared> => {
    const tag = `${kind}-${++seq}`;
    // Untimed warm-up: a few calls one by one, then (when concurrent) one full round at the
    // measured concurrency, so every user's first call (a token verified afresh, a new
    // keep-alive connection at each hop) is not one of the measured requests.
    const warmRound = limit > 1 ? limit : 0;
    const count = total + size.warmup + warmRound;
    const who = (i: number) => i % userCount;
    const paths = Array.from({ length: count }, (_, i) => `${tag}/f${i}.json`);
    // The bare call's reservations are written just before its round and removed after it
    // (untimed), so that ours never counts them among its user's live reservations.
    const keysOf = (from: number, to: number) => {
      const byUser = new Map<number, string[]>();
      for (let i = from; i < to; i++) {
        const u = who(i);
        byUser.set(u, [...(byUser.get(u) ?? []), home(users[u].id) + paths[i]]);
      }
      return byUser;
    };
    const seed = async (from: number, to: number) => {
      if (kind !== "bare") return;
      for (const [u, keys] of keysOf(from, to)) {
        await reserveRows(bench.sql, users[u].id, BUCKET, keys);
      }
    };
    const unseed = async (from: number, to: number) => {
      if (kind !== "bare") return;
      const keys = [...keysOf(from, to).values()].flat();
      await bench.sql`delete from stowage.reservations
        where bucket_id = ${BUCKET} and name = any(${keys}::text[])`;
    };
    const call = (i: number) =>
      kind === "ours"
        ? ours(bench, users[who(i)], paths[i])
        : bare(clients[who(i)], home(users[who(i)].id) + paths[i]);
    await seed(total, count);
    for (let i = total; i < total + size.warmup; i++) await call(i);
    if (warmRound) await pool(warmRound, limit, (i) => call(total + size.warmup + i));
    await unseed(total, count);
    return { call, seed, unseed };
  };
  /**
   * Ours and the bare call, measured in alternating rounds (ours, bare, ours, ...) of
   * total / ROUNDS requests each: a change in the machine's background load during the pair
   * (a checkpoint, autovacuum after an earlier scenario) falls on both, not on one.
   */
  const pair = async (
    names: { ours: string; bare: string; note?: string },
    total: number,
    limit: number,
    userCount: number,
  ): Promise<[ContenderResult, ContenderResult]> => {
    log(`${names.ours} | ${names.bare} (alternating rounds)`);
    const calls = {
      ours: await prepare("ours", total, limit, userCount),
      bare: await prepare("bare", total, limit, userCount),
    };
    const samples = { ours: [] as number[], bare: [] as number[] };
    const wall = { ours: 0, bare: 0 };
    const rounds = Math.min(ROUNDS, total);
    const result = async (kind: "ours" | "bare"): Promise<ContenderResult> => {
      const name = names[kind];
      const opts = kind === "ours"
        ? { ours: true, note: names.note }
        : { ours: false, compareTo: names.ours, note: names.note };
      return await measure(name, { ...opts, n: total }, () => {
        // On one user every reservation (and every bare signing's permission test) takes
        // that user's usage row lock in turn: the wall time over the requests bounds how long
        // each one holds it (the lock's hold time plus its hand-over).
        const note = userCount === 1 && limit > 1
          ? `user's lock: ${(wall[kind] / total).toFixed(2)} ms per request (wall / requests)`
          : opts.note;
        return Promise.resolve(
          contender(name, samples[kind], { ...opts, note, n: total, calls: total, perSample: 1 }),
        );
      });
    };
    for (let r = 0; r < rounds; r++) {
      const from = Math.floor((r * total) / rounds);
      const to = Math.floor(((r + 1) * total) / rounds);
      for (const kind of ["ours", "bare"] as const) {
        await calls[kind].seed(from, to);
        const { latencies, wallMs } = await pool(
          to - from,
          limit,
          (i) => calls[kind].call(from + i),
        );
        await calls[kind].unseed(from, to);
        samples[kind].push(...latencies);
        wall[kind] += wallMs;
      }
    }
    return [await result("ours"), await result("bare")];
  };

  const N = size.concurrent;
  const OURS_1 = "ours: POST /uploads, 1 client";
  const OURS_N = `ours: POST /uploads, ${N} concurrent users`;
  const OURS_ONE = `ours: POST /uploads, ${N} concurrent, one user`;
  const contenders = [
    ...await pair(
      { ours: OURS_1, bare: "bare createSignedUploadUrl, 1 client" },
      size.alone,
      1,
      1,
    ),
    ...await pair(
      { ours: OURS_N, bare: `bare createSignedUploadUrl, ${N} concurrent users` },
      size.crowd,
      N,
      N,
    ),
    ...await pair(
      { ours: OURS_ONE, bare: `bare createSignedUploadUrl, ${N} concurrent, one user` },
      size.crowd,
      N,
      1,
    ),
  ];
  const [o1, b1, oN, bN] = contenders;
  const p99 = ratio(oN.p99_ms, bN.p99_ms);
  return {
    n: size.crowd,
    contenders,
    goalMet: judge([p99 === null ? null : p99 <= 2]),
    goalDetail: `p99 ours/bare at ${N} concurrent users ${p99 ?? "-"}x (<= 2); ` +
      `alone: p50 ${o1.median_ms ?? "-"} vs ${b1.median_ms ?? "-"} ms, ` +
      `p99 ${o1.p99_ms ?? "-"} vs ${b1.p99_ms ?? "-"} ms`,
    notes: [
      "per-request latencies; reps = requests; ratio column = median over ours, " +
      "the goal is on p99 (see the p99 column)",
      `each ours/bare pair runs in ${ROUNDS} alternating rounds (ours, bare, ours, ...), ` +
      "after an untimed warm-up of every client at the measured concurrency",
      "ours reserves quota (one locked SQL call) then signs through the Storage API; the bare " +
      "call only signs (its reservations are written in SQL before its round and removed " +
      "after it, untimed)",
      `"${N} concurrent users": request i is user i mod ${N}; "one user": all ${N} clients ` +
      "share one user, whose usage row lock serializes the reservations (by design: " +
      "concurrent uploads can never together pass the quota); its note is the run's wall " +
      "time over its requests, an upper bound of the time each one holds that lock",
      "the cap on live reservations is raised for the run (the one-user rows hold more " +
      "than 1,000 at once)",
    ],
  };
}
