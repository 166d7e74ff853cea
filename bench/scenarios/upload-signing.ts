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
  const run = (
    name: string,
    opts: { ours: boolean; compareTo?: string; note?: string },
    total: number,
    limit: number,
    kind: "ours" | "bare",
    userCount: number,
  ): Promise<ContenderResult> =>
    measure(name, { ...opts, n: total }, async () => {
      log(name);
      const tag = `${kind}-${++seq}`;
      // Untimed warm-up: a few calls one by one, then (when concurrent) one full round at the
      // measured concurrency, so every user's first call (a token verified afresh, a new
      // keep-alive connection at each hop) is not one of the measured requests.
      const warmRound = limit > 1 ? limit : 0;
      const count = total + size.warmup + warmRound;
      const who = (i: number) => i % userCount;
      const paths = Array.from({ length: count }, (_, i) => `${tag}/f${i}.json`);
      if (kind === "bare") {
        for (let u = 0; u < userCount; u++) {
          const mine = paths.filter((_, i) => who(i) === u);
          await reserveRows(
            bench.sql,
            users[u].id,
            BUCKET,
            mine.map((p) => home(users[u].id) + p),
          );
        }
      }
      const call = (i: number) =>
        kind === "ours"
          ? ours(bench, users[who(i)], paths[i])
          : bare(clients[who(i)], home(users[who(i)].id) + paths[i]);
      for (let i = total; i < total + size.warmup; i++) await call(i);
      if (warmRound) await pool(warmRound, limit, (i) => call(total + size.warmup + i));
      const { latencies, wallMs } = await pool(total, limit, call);
      // On one user every reservation (and every bare signing's permission test) takes that
      // user's usage row lock in turn: the run's wall time over its requests bounds how long
      // each one holds it (the lock's hold time plus its hand-over).
      const note = userCount === 1 && limit > 1
        ? `user's lock: ${(wallMs / total).toFixed(2)} ms per request (wall / requests)`
        : opts.note;
      return contender(name, latencies, { ...opts, note, n: total, calls: total });
    });

  const N = size.concurrent;
  const OURS_1 = "ours: POST /uploads, 1 client";
  const OURS_N = `ours: POST /uploads, ${N} concurrent users`;
  const OURS_ONE = `ours: POST /uploads, ${N} concurrent, one user`;
  const contenders = [
    await run(OURS_1, { ours: true }, size.alone, 1, "ours", 1),
    await run(
      "bare createSignedUploadUrl, 1 client",
      { ours: false, compareTo: OURS_1 },
      size.alone,
      1,
      "bare",
      1,
    ),
    await run(OURS_N, { ours: true }, size.crowd, N, "ours", N),
    await run(
      `bare createSignedUploadUrl, ${N} concurrent users`,
      { ours: false, compareTo: OURS_N },
      size.crowd,
      N,
      "bare",
      N,
    ),
    await run(OURS_ONE, { ours: true }, size.crowd, N, "ours", 1),
    await run(
      `bare createSignedUploadUrl, ${N} concurrent, one user`,
      { ours: false, compareTo: OURS_ONE },
      size.crowd,
      N,
      "bare",
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
      "ours reserves quota (one locked SQL call) then signs through the Storage API; the bare " +
      "call only signs (its reservation was written in SQL beforehand, untimed)",
      `"${N} concurrent users": request i is user i mod ${N}; "one user": all ${N} clients ` +
      "share one user, whose usage row lock serializes the reservations (by design: " +
      "concurrent uploads can never together pass the quota); its note is the run's wall " +
      "time over its requests, an upper bound of the time each one holds that lock",
      "the cap on live reservations is raised for the run (the one-user rows hold more " +
      "than 1,000 at once)",
    ],
  };
}
